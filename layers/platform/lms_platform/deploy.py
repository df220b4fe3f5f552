"""What the deployment's migration function does (``run``), for the services it is given.

It reads the cluster's admin secret and every service's secret, brings every service's
schema up to date with the role passwords from those secrets (``migrations.migrate``), and
makes sure the signing-key secret holds an RSA private key: CloudFormation can only
generate a random string, so the first run replaces that placeholder with a key.

The function's handler is ``functions.migrate.handler``, which passes the declared
services in: the platform never imports the services' registry.

Invoked by hand with ``{"rebuildReadModel": "<service>"}`` it rebuilds that consumer's
read model from the events the outboxes keep (``rebuild_read_model``): the one function
that holds every service role's secret, so the one that can read each outbox as its own
service and write the consumer's tables as the consumer (``lms rebuild-read-model --aws``).

Environment (set by ``infra/migration.py``):

- ``LMS_ADMIN_SECRET_ARN``: the cluster's admin secret (username, password, host, port,
  dbname);
- ``LMS_SERVICE_SECRETS``: JSON ``{service: secret ARN}``, one per service role;
- ``LMS_SIGNING_KEY_SECRET_ARN``: the secret that holds the token-signing key;
- ``LMS_DB_HOST`` (optional): where to connect instead of the secret's host;
- ``LMS_DB_CA_FILE`` (optional): the CA bundle that verifies the server's certificate
  (the runtime's trust store otherwise).

Secrets are read with the SDK rather than the Parameters and Secrets extension: this
function writes one of them, and must not read a cached value back.
"""

from __future__ import annotations

import json
import logging
import os
import urllib.parse
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from lms_platform.service import Service

logger = logging.getLogger(__name__)

PEM_MARKER = "-----BEGIN PRIVATE KEY-----"


def run(services: Sequence[Service]) -> dict[str, Any]:
    """Migrate ``services`` with their secrets' passwords; create the signing key once."""
    # SQLAlchemy and Alembic only when it runs.
    from lms_platform.migrations import RoleLogin, migrate
    from lms_platform.settings import get_settings

    logging.getLogger().setLevel(logging.INFO)
    settings = get_settings()
    admin = _secret_json(_required("LMS_ADMIN_SECRET_ARN"))
    service_secrets: dict[str, str] = json.loads(_required("LMS_SERVICE_SECRETS"))
    known = {s.name for s in services}
    unknown = sorted(set(service_secrets) - known)
    if unknown:
        raise RuntimeError(f"secrets given for services nobody declares: {unknown}")
    missing = sorted(known - set(service_secrets))
    if missing:
        raise RuntimeError(f"no secret for the roles of: {missing}")

    logins = {
        name: RoleLogin(password=str(_secret_json(arn)["password"]))
        for name, arn in service_secrets.items()
    }
    url = admin_url(admin, host=settings.db_host, ca_file=settings.db_ca_file)
    migrate(url, list(services), logins)

    key_created = ensure_signing_key(_required("LMS_SIGNING_KEY_SECRET_ARN"))
    result = {"migrated": [s.name for s in services], "signingKeyCreated": key_created}
    logger.info("deployment bootstrap done", extra=result)
    return result


def rebuild_read_model(services: Sequence[Service], name: str) -> dict[str, Any]:
    """``lms_platform.rebuild`` of service ``name``, every service's outbox read with its own
    role's secret; what was rebuilt, or why not (nothing changed then)."""
    from dataclasses import asdict

    from lms_platform import rebuild
    from lms_platform.db import ConnectParams, open_connection, provide
    from lms_platform.settings import get_settings

    logging.getLogger().setLevel(logging.INFO)
    settings = get_settings()
    chosen = [s for s in services if s.name == name]
    if not chosen:
        return {"rebuilt": None, "refused": f"no service named {name!r}"}
    service_secrets: dict[str, str] = json.loads(_required("LMS_SERVICE_SECRETS"))
    for service in services:
        secret = _secret_json(service_secrets[service.name])
        params = ConnectParams(
            user=str(secret.get("username", service.role)),
            password=str(secret["password"]),
            host=settings.db_host or str(secret["host"]),
            port=int(secret.get("port", 5432)),
            database=str(secret.get("dbname", "lms")),
            tls=True,
            ca_file=settings.db_ca_file,
        )
        provide(
            service.role,
            lambda p=params: open_connection(  # type: ignore[misc]
                p, settings.db_connect_timeout, socket_timeout=settings.db_socket_timeout
            ),
        )
    try:
        done = rebuild.rebuild(chosen[0], services, region=settings.aws_region)
    except (rebuild.RebuildRefused, rebuild.EventFailed) as error:
        logger.warning("read model not rebuilt", extra={"service": name, "error": str(error)})
        return {"rebuilt": None, "refused": f"{error}; nothing was changed"}
    result = asdict(done)
    logger.info("read model rebuilt", extra=result)
    return {"rebuilt": result, "refused": None}


def admin_url(
    secret: dict[str, Any], *, host: str | None = None, ca_file: str | None = None
) -> str:
    """The SQLAlchemy URL of the admin login, TLS on (and verified: see ``db._ssl_context``)."""
    user = urllib.parse.quote(str(secret["username"]), safe="")
    password = urllib.parse.quote(str(secret["password"]), safe="")
    server = host or str(secret["host"])
    port = int(secret.get("port", 5432))
    database = urllib.parse.quote(str(secret.get("dbname", "lms")), safe="")
    query = {"sslmode": "require"}
    if ca_file:
        query["sslrootcert"] = ca_file
    return (
        f"postgresql+pg8000://{user}:{password}@{server}:{port}/{database}"
        f"?{urllib.parse.urlencode(query)}"
    )


def is_private_key_pem(value: str) -> bool:
    if PEM_MARKER not in value:
        return False
    try:
        from cryptography.hazmat.primitives.serialization import load_pem_private_key

        load_pem_private_key(value.encode(), password=None)
    except (ValueError, TypeError):
        return False
    return True


def ensure_signing_key(secret_arn: str) -> bool:
    """Put a new RSA key in the secret unless it already holds one; True when it did."""
    from lms_platform.auth import generate_private_key_pem
    from lms_platform.aws import client

    secrets = client("secretsmanager")
    current = str(secrets.get_secret_value(SecretId=secret_arn)["SecretString"])
    if is_private_key_pem(current):
        return False
    secrets.put_secret_value(SecretId=secret_arn, SecretString=generate_private_key_pem())
    logger.info("signing key created")
    return True


def _secret_json(secret_arn: str) -> dict[str, Any]:
    from lms_platform.aws import client

    value = json.loads(
        client("secretsmanager").get_secret_value(SecretId=secret_arn)["SecretString"]
    )
    if not isinstance(value, dict):
        raise ValueError(f"secret {secret_arn} does not hold a JSON object")
    return value


def _required(name: str) -> str:
    value = os.environ.get(name)
    if not value:
        raise RuntimeError(f"{name} is not set")
    return value
