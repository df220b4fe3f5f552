"""The migration function a deployment runs (``functions.migrate.handler``, which hands
every declared service to ``lms_platform.deploy.run``), end to end: secrets in moto, the
database behind TLS, roles that log in with SCRAM."""

from __future__ import annotations

import ssl
from typing import Any

import pytest
from alembic.config import Config
from alembic.script import ScriptDirectory
from pg8000.exceptions import DatabaseError

from functions.registry import SERVICES
from lms_platform import auth
from lms_platform.db import open_connection, sqlstate
from lms_platform.deploy import PEM_MARKER
from lms_platform.migrations import migrations_dir
from tests.aws.conftest import LambdaEnv, Stack, run_deploy

pytestmark = pytest.mark.integration


def _head(service: Any) -> str:
    config = Config()
    config.set_main_option("script_location", str(migrations_dir(service)))
    head = ScriptDirectory.from_config(config).get_current_head()
    assert head is not None
    return head


def _schema_versions(stack: Stack) -> dict[str, str | None]:
    """``{schema: alembic revision}`` of every service schema present in the database."""
    with stack.aurora.postgres.admin(stack.database) as admin:
        found = {
            schema
            for (schema,) in admin.run(
                "SELECT table_schema FROM information_schema.tables"
                " WHERE table_name = 'alembic_version'"
            )
        }
        return {
            s.schema: admin.run(f'SELECT version_num FROM "{s.schema}".alembic_version')[0][0]
            for s in SERVICES
            if s.schema in found
        }


def _service_schemas(stack: Stack) -> list[str]:
    with stack.aurora.postgres.admin(stack.database) as admin:
        rows = admin.run("SELECT nspname FROM pg_namespace WHERE nspname LIKE 'lms\\_%'")
    return sorted(name for (name,) in rows)


def _version_count(stack: Stack, arn: str) -> int:
    versions = stack.secretsmanager.list_secret_version_ids(SecretId=arn)["Versions"]
    return len(versions)


def test_deploy_migrates_every_schema_sets_role_passwords_and_creates_the_signing_key(
    stack: Stack, lambda_env: LambdaEnv
) -> None:
    # Given a fresh database, a secret per service and the signing-key placeholder
    lambda_env.set(**stack.deploy_env())
    # When the migration function runs
    result = run_deploy()
    # Then it reports every service migrated and a key created
    assert result == {"migrated": [s.name for s in SERVICES], "signingKeyCreated": True}
    # And every schema is at its newest revision
    assert _schema_versions(stack) == {s.schema: _head(s) for s in SERVICES}
    # And each role logs in over TLS with its secret's password, as itself, in its schema
    for service in SERVICES:
        connection = open_connection(stack.role_params(service.name))
        try:
            assert connection.run("SELECT current_user, current_schema()") == [
                [service.role, service.schema]
            ]
            assert stack.aurora.proxy.session_of(connection) is not None
        finally:
            connection.close()
    # And the passwords are stored as SCRAM verifiers
    with stack.aurora.postgres.admin() as admin:
        stored = dict(
            admin.run(
                "SELECT rolname, rolpassword FROM pg_authid WHERE rolname = ANY(:r)",
                r=[s.role for s in SERVICES],
            )
        )
    assert set(stored) == {s.role for s in SERVICES}
    assert all(verifier.startswith("SCRAM-SHA-256$") for verifier in stored.values())
    # And the signing-key secret now holds a private key the functions can sign with
    pem = stack.secret_value(stack.signing_key_arn)
    assert pem != stack.placeholder
    assert PEM_MARKER in pem
    key = auth.SigningKey.from_pem(pem)
    assert key.public_jwk()["kty"] == "RSA"


def test_a_role_cannot_log_in_with_a_password_other_than_its_secrets(
    deployed: Stack,
) -> None:
    # Given a deployed stack
    for service in SERVICES:
        # When a role logs in with a wrong password
        with pytest.raises(DatabaseError) as raised:
            open_connection(deployed.role_params(service.name, password="wrong-" + service.name))
        # Then SCRAM refuses it
        assert sqlstate(raised.value) == "28P01"


def test_a_second_deploy_changes_nothing(stack: Stack, lambda_env: LambdaEnv) -> None:
    # Given a stack deployed once
    lambda_env.set(**stack.deploy_env())
    run_deploy()
    key_before = stack.secret_value(stack.signing_key_arn)
    versions_before = _version_count(stack, stack.signing_key_arn)
    schemas_before = _schema_versions(stack)
    # When the migration function runs again, in a new execution environment
    lambda_env.cold_start()
    result = run_deploy()
    # Then it creates no key, leaves the same key in place and every schema where it was
    assert result["signingKeyCreated"] is False
    assert stack.secret_value(stack.signing_key_arn) == key_before
    assert _version_count(stack, stack.signing_key_arn) == versions_before
    assert _schema_versions(stack) == schemas_before
    # And every role still logs in with its secret's password
    for service in SERVICES:
        open_connection(stack.role_params(service.name)).close()


def test_deploy_sets_a_changed_secret_password_on_the_role(
    deployed: Stack, lambda_env: LambdaEnv
) -> None:
    # Given the user service's secret now holds another password
    old = deployed.passwords["user"]
    new = deployed.change_password("user")
    # When the migration function runs
    lambda_env.set(**deployed.deploy_env())
    run_deploy()
    # Then the role logs in with the new password and no longer with the old one
    open_connection(deployed.role_params("user", new)).close()
    with pytest.raises(DatabaseError) as raised:
        open_connection(deployed.role_params("user", old))
    assert sqlstate(raised.value) == "28P01"


@pytest.mark.parametrize("mistake", ["a service without a secret", "a secret nobody declares"])
def test_deploy_with_secrets_not_matching_the_services_migrates_nothing(
    stack: Stack, lambda_env: LambdaEnv, mistake: str
) -> None:
    # Given secrets that do not match the declared services one to one
    given = dict(stack.service_arns)
    if mistake == "a service without a secret":
        del given["enrollment"]
    else:
        given["billing"] = stack.create_secret({"username": "lms_billing", "password": "x"})
    lambda_env.set(**stack.deploy_env(service_arns=given))
    # When the migration function runs
    with pytest.raises(RuntimeError) as raised:
        run_deploy()
    # Then it names the mismatch, and the fresh database has no service schema
    assert ("enrollment" if mistake == "a service without a secret" else "billing") in str(
        raised.value
    )
    assert _service_schemas(stack) == []
    # And the signing key was not touched
    assert stack.secret_value(stack.signing_key_arn) == stack.placeholder


def test_deploy_without_the_ca_bundle_does_not_trust_the_server(
    stack: Stack, lambda_env: LambdaEnv
) -> None:
    # Given the migration function's environment without LMS_DB_CA_FILE (the runtime's
    # trust store, which does not know the test's CA)
    env = stack.deploy_env()
    del env["LMS_DB_CA_FILE"]
    lambda_env.set(**env)
    # When it runs
    with pytest.raises(ssl.SSLCertVerificationError) as raised:
        run_deploy()
    # Then the TLS handshake fails on the certificate, and nothing was migrated
    assert raised.value.verify_message == "unable to get local issuer certificate"
    assert _service_schemas(stack) == []
