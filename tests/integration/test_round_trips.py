"""What a warm read costs: GET /me is one database round trip, and request handlers do
not import SQLAlchemy or boto3 (cold start)."""

from __future__ import annotations

import subprocess
import sys
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pg8000.core
import pytest

from functions.registry import SERVICES
from lms_platform.db import Session
from tests.support import as_caller, call

ROOT = Path(__file__).resolve().parents[2]


class RoundTrips:
    """Counts what goes to the server: protocol flushes (each one waits for an answer)
    and the statements the platform runs."""

    def __init__(self) -> None:
        self.flushes = 0
        self.statements: list[str] = []


@pytest.fixture
def round_trips(monkeypatch: pytest.MonkeyPatch) -> Iterator[RoundTrips]:
    counter = RoundTrips()
    real_flush = pg8000.core._flush

    def counting_flush(sock: Any) -> None:
        counter.flushes += 1
        real_flush(sock)

    def counting(method: Any) -> Any:
        def wrapper(self: Session, sql: str, *args: Any, **kwargs: Any) -> Any:
            counter.statements.append(sql)
            return method(self, sql, *args, **kwargs)

        return wrapper

    monkeypatch.setattr(pg8000.core, "_flush", counting_flush)
    for name in ("fetch", "execute", "simple"):
        monkeypatch.setattr(Session, name, counting(getattr(Session, name)))
    yield counter


def _register(email: str) -> uuid.UUID:
    reply = call(
        "POST",
        "/auth/register",
        body={"email": email, "password": "correct horse battery", "displayName": "Ada"},
    )
    assert reply.status == 201, reply.body
    return uuid.UUID(reply.body["id"])


def test_a_warm_get_me_is_one_round_trip(db_clean: None, round_trips: RoundTrips) -> None:
    # Given a user, and GET /me already served once in this execution environment
    user_id = _register("ada@example.com")
    caller = as_caller(user_id, "STUDENT")
    assert call("GET", "/me", caller=caller).status == 200
    round_trips.flushes = 0
    # When GET /me is served again
    reply = call("GET", "/me", caller=caller)
    # Then the answer is right and it took exactly one round trip to the database
    assert reply.status == 200
    assert reply.body["id"] == str(user_id)
    assert reply.body["roles"] == ["STUDENT"]
    assert reply.body["profile"]["displayName"] == "Ada"
    assert round_trips.flushes == 1


def test_a_warm_get_me_runs_one_statement_and_no_transaction(
    db_clean: None, round_trips: RoundTrips
) -> None:
    user_id = _register("bob@example.com")
    caller = as_caller(user_id, "STUDENT")
    call("GET", "/me", caller=caller)
    round_trips.statements.clear()
    round_trips.flushes = 0
    # When a warm GET /me is served
    assert call("GET", "/me", caller=caller).status == 200
    # Then it ran one prepared statement: no BEGIN, no COMMIT, no re-prepare
    assert len(round_trips.statements) == 1
    assert "FROM users u JOIN profiles p" in round_trips.statements[0]
    assert round_trips.flushes == 1


def _handler_modules() -> list[str]:
    return [
        service.handler_path(route).rsplit(".", 1)[0]
        for service in SERVICES
        if service.name == "user"
        for route in service.routes
    ]


# powertools itself imports the bare ``botocore`` package (a cheap __init__, to tag its
# user agent); what costs a cold start is boto3 and botocore's client machinery.
HEAVY = ("sqlalchemy", "alembic", "boto3", "botocore.client", "botocore.session")


@pytest.mark.parametrize("module", _handler_modules())
def test_a_request_handler_imports_neither_sqlalchemy_nor_boto3(module: str) -> None:
    # Given a fresh interpreter, as a Lambda cold start has
    # When the handler's module is imported
    script = f"import {module}, sys; print(','.join(m for m in {HEAVY!r} if m in sys.modules))"
    result = subprocess.run(
        [sys.executable, "-c", script], cwd=ROOT, capture_output=True, text=True, timeout=60
    )
    # Then it imported, and none of the heavy libraries came with it
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == ""


def test_the_import_check_sees_a_heavy_import() -> None:
    # The check above would notice: importing the migrations module does bring SQLAlchemy
    script = (
        "import lms_platform.migrations, sys; "
        f"print(','.join(m for m in {HEAVY!r} if m in sys.modules))"
    )
    result = subprocess.run(
        [sys.executable, "-c", script], cwd=ROOT, capture_output=True, text=True, timeout=60
    )
    assert "sqlalchemy" in result.stdout
