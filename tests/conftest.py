"""Shared fixtures: a real PostgreSQL (embedded unless LMS_DATABASE_URL is set), every
service migrated, an in-process moto server for AWS, and a local signing key."""

from __future__ import annotations

import os
import secrets
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from functions.registry import SERVICES
from lms_platform import auth, topology
from lms_platform.aws import client, reset_clients
from lms_platform.db import open_connection, params_from_url, reset_databases
from lms_platform.settings import reset_settings
from tests.support import free_port, server_folder


@pytest.fixture(scope="session")
def database_server() -> Iterator[tuple[str, Any]]:
    """An admin URL of a fresh database, and the embedded server's handle (None when
    LMS_DATABASE_URL names a server: one these tests may not stop)."""
    given = os.environ.get("LMS_DATABASE_URL")
    if given:
        from lms_local.postgres import drop_database, fresh_database

        url = fresh_database(given, "lms_test")
        yield url, None
        reset_databases()
        drop_database(url)
        return
    from lms_local.postgres import start_embedded

    with server_folder("test-pg") as folder:
        url, server = start_embedded(folder / "data", cleanup_mode="delete")
        yield url, server
        reset_databases()
        server.cleanup()


@pytest.fixture(scope="session")
def admin_url(database_server: tuple[str, Any]) -> str:
    """An admin URL of a fresh database: embedded PostgreSQL unless LMS_DATABASE_URL is set."""
    return database_server[0]


@pytest.fixture(scope="session")
def moto_endpoint(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """A moto server in a process of its own, as AWS is to a function: its work (a queue's
    messages routed, received, deleted) does not wait for this process's interpreter lock,
    nor this process's threads for it; with thousands of messages queued (the chaos run)
    it is most of the work."""
    import subprocess
    import sys
    import time
    import urllib.request

    port = free_port()
    url = f"http://127.0.0.1:{port}"
    log = (tmp_path_factory.mktemp("moto") / "moto.log").open("wb")
    server = subprocess.Popen(
        [sys.executable, "-m", "tests.moto_server", "-H", "127.0.0.1", "-p", str(port)],
        stdout=log,
        stderr=subprocess.STDOUT,
    )
    deadline = time.monotonic() + 60
    while True:
        try:
            with urllib.request.urlopen(f"{url}/moto-api/reset-auth", timeout=1):  # noqa: S310
                break
        except urllib.error.HTTPError:
            break  # it answers: it is up
        except OSError:
            if server.poll() is not None or time.monotonic() > deadline:
                raise RuntimeError(f"the moto server did not start (log: {log.name})") from None
            time.sleep(0.1)
    yield url
    server.terminate()
    server.wait(10)
    log.close()


@pytest.fixture(scope="session")
def platform_env(
    admin_url: str, moto_endpoint: str, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[dict[str, str]]:
    """The environment a deployed function would have, pointing at the test's PostgreSQL
    and moto; every service migrated."""
    from lms_platform.migrations import migrate

    key_file = auth.ensure_key_file(tmp_path_factory.mktemp("keys") / "signing-key.pem")
    env = {
        "LMS_DATABASE_URL": admin_url,
        "LMS_SIGNING_KEY_FILE": str(key_file),
        "LMS_CURSOR_KEY": secrets.token_hex(32),
        "LMS_JWT_ISSUER": "http://127.0.0.1:3000",
        "LMS_JWT_AUDIENCE": "lms-api",
        "LMS_EVENT_BUS_NAME": topology.EVENT_BUS,
        "AWS_ENDPOINT_URL": moto_endpoint,
        "AWS_ACCESS_KEY_ID": "testing",
        "AWS_SECRET_ACCESS_KEY": "testing",
        "AWS_DEFAULT_REGION": "us-east-1",
    }
    saved = {k: os.environ.get(k) for k in env}
    os.environ.update(env)
    _reset_caches()
    migrate(admin_url, list(SERVICES), {})
    client("events").create_event_bus(Name=topology.EVENT_BUS)
    yield env
    for k, v in saved.items():
        if v is None:
            os.environ.pop(k, None)
        else:
            os.environ[k] = v
    _reset_caches()


@pytest.fixture(scope="session")
def simulator(platform_env: dict[str, str]) -> Iterator[Any]:
    """The payment gateway simulator, with the Payment service's settings pointing at it
    (as a deployment has its keys); its webhooks are not sent by themselves (the payment
    tests' ``Gateway.deliver`` sends them when a test says so)."""
    from functions.payment.gateway import reset_gateway
    from lms_local.gateway_simulator import GatewaySimulator

    sim = GatewaySimulator(secret_key="sk_test_pytest", webhook_secret="whsec_pytest").start()
    env = {
        "LMS_STRIPE_SECRET_KEY": sim.secret_key,
        "LMS_STRIPE_WEBHOOK_SECRET": sim.webhook_secret,
        "LMS_STRIPE_API_BASE": sim.url,
    }
    os.environ.update(env)
    reset_settings()
    reset_gateway()
    yield sim
    for name in env:
        os.environ.pop(name, None)
    reset_settings()
    reset_gateway()
    sim.stop()


def _reset_caches() -> None:
    reset_databases()
    reset_settings()
    reset_clients()
    auth.signing_key.cache_clear()
    from lms_platform import pagination

    pagination._key.cache_clear()


@pytest.fixture
def db_clean(platform_env: dict[str, str], admin_url: str) -> Iterator[None]:
    """Every service's tables emptied (reference rows such as roles kept) before the test."""
    _truncate_all(admin_url)
    yield


_KEEP = {("lms_user", "roles"), ("lms_user", "alembic_version")}


# The tests' own superuser connections wait for bulk loads and truncations (tens of
# thousands of rows) that a slow or shared machine takes more than the default 5 s over.
ADMIN_SOCKET_TIMEOUT = 120.0


def _truncate_all(admin_url: str) -> None:
    connection = open_connection(params_from_url(admin_url), socket_timeout=ADMIN_SOCKET_TIMEOUT)
    try:
        rows = connection.run(
            "SELECT schemaname, tablename FROM pg_tables WHERE schemaname = ANY(:s)",
            s=[s.schema for s in SERVICES],
        )
        tables = [
            f'"{schema}"."{table}"'
            for schema, table in rows
            if (schema, table) not in _KEEP and table != "alembic_version"
        ]
        if tables:
            connection.run(f"TRUNCATE {', '.join(tables)} CASCADE")
    finally:
        connection.close()


@pytest.fixture
def event_log(platform_env: dict[str, str]) -> Iterator[Any]:
    """A queue subscribed to everything on the bus: what the services published."""
    from tests.support import EventLog

    log = EventLog.create(client("events"), client("sqs"))
    yield log
    log.delete()


@pytest.fixture
def admin_sql(admin_url: str) -> Iterator[Any]:
    """A superuser connection, for asserting on rows directly (and loading many)."""
    connection = open_connection(params_from_url(admin_url), socket_timeout=ADMIN_SOCKET_TIMEOUT)
    yield connection
    connection.close()


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    root = Path(__file__).parent
    for item in items:
        path = Path(str(item.fspath))
        if root / "integration" in path.parents or root / "handlers" in path.parents:
            item.add_marker(pytest.mark.integration)


@pytest.fixture
def override_env(platform_env: dict[str, str]) -> Iterator[Any]:
    """``override_env(NAME, value)`` changes one variable of the platform environment for
    this test (settings re-read at once); everything is restored when the test ends."""
    saved: dict[str, str | None] = {}

    def override(name: str, value: str) -> None:
        saved.setdefault(name, os.environ.get(name))
        os.environ[name] = value
        reset_settings()

    yield override
    for name, value in saved.items():
        if value is None:
            os.environ.pop(name, None)
        else:
            os.environ[name] = value
    reset_settings()
