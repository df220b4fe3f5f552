"""Both statement modes give the same answers in one round trip each; the unnamed mode
leaves no statement on the server; the server's own time limits surface as Unavailable on
a connection that stays usable."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from typing import Any

import pg8000.core
import pytest

from lms_platform.db import Database
from lms_platform.errors import Unavailable

INSERT = "INSERT INTO organizations (id, name, slug) VALUES (:id, :name, :slug)"
SELECT = "SELECT id, name, slug, settings, created_at FROM organizations WHERE slug = :slug"
PREPARED = "SELECT count(*) AS n FROM pg_prepared_statements"


@pytest.fixture
def flushes(monkeypatch: pytest.MonkeyPatch) -> Iterator[list[int]]:
    counted = [0]
    real = pg8000.core._flush

    def counting(sock: Any) -> None:
        counted[0] += 1
        real(sock)

    monkeypatch.setattr(pg8000.core, "_flush", counting)
    yield counted


@pytest.fixture(params=["named", "unnamed"])
def mode_db(
    request: pytest.FixtureRequest, db_clean: None, override_env: Any
) -> Iterator[Database]:
    override_env("LMS_DB_STATEMENT_MODE", request.param)
    database = Database("lms_user")
    yield database
    database.discard_connection()


def test_a_write_and_a_read_give_the_same_rows_in_either_mode(mode_db: Database) -> None:
    org_id = uuid.uuid4()
    assert mode_db.execute(INSERT, id=org_id, name="Acme", slug="acme") == 1
    row = mode_db.read_one(SELECT, slug="acme")
    assert row is not None
    assert (row["id"], row["name"], row["settings"]) == (org_id, "Acme", {})
    assert row["created_at"].tzinfo is not None
    assert mode_db.read(SELECT, slug="nobody") == []


def test_a_warm_statement_is_one_round_trip_in_either_mode(
    mode_db: Database, flushes: list[int]
) -> None:
    mode_db.execute(INSERT, id=uuid.uuid4(), name="Acme", slug="acme")
    mode_db.read_one(SELECT, slug="acme")  # warm: connection open (and statement prepared)
    before = flushes[0]
    mode_db.read_one(SELECT, slug="acme")
    assert flushes[0] - before == 1


def test_the_unnamed_mode_leaves_no_statement_on_the_server(
    db_clean: None, override_env: Any
) -> None:
    override_env("LMS_DB_STATEMENT_MODE", "unnamed")
    database = Database("lms_user")
    try:
        for slug in ("a", "b", "c"):
            database.read(SELECT, slug=slug)
        row = database.read_one(PREPARED)
        assert row is not None
        assert row["n"] == 0
    finally:
        database.discard_connection()


def test_the_named_mode_prepares_each_statement_once_per_connection(
    db_clean: None, override_env: Any
) -> None:
    override_env("LMS_DB_STATEMENT_MODE", "named")
    database = Database("lms_user")
    try:
        for slug in ("a", "b", "c"):
            database.read(SELECT, slug=slug)
        row = database.read_one(PREPARED)
        assert row is not None
        assert row["n"] == 2  # SELECT and the count itself
    finally:
        database.discard_connection()


@pytest.mark.parametrize("mode", ["named", "unnamed"])
def test_a_statement_timeout_is_unavailable_and_the_connection_stays_usable(
    db_clean: None, override_env: Any, mode: str
) -> None:
    override_env("LMS_DB_STATEMENT_MODE", mode)
    database = Database("lms_user")
    try:
        with pytest.raises(Unavailable) as raised, database.unit_of_work() as uow:
            uow.execute("SET LOCAL statement_timeout = '100ms'")
            uow.fetch("SELECT pg_sleep(1)")
        assert raised.value.reason == "statement timeout"
        session = database._session
        assert session is not None and not session.broken
        assert database.read_one("SELECT 1 AS one") == {"one": 1}
        assert database._session is session  # the same connection, rolled back and reused
    finally:
        database.discard_connection()


def test_a_parameter_left_out_is_a_defect_on_a_connection_that_stays_usable(
    mode_db: Database,
) -> None:
    mode_db.read(SELECT, slug="warm")  # the connection is open
    # When a statement names a parameter the call does not give
    with pytest.raises(pg8000.exceptions.InterfaceError) as raised:
        mode_db.read(SELECT)
    # Then it is the defect it is (a 500), not an outage (Unavailable, a 503) ...
    assert not isinstance(raised.value, Unavailable)
    # ... and nothing was sent: the same connection answers the next statement.
    connection = mode_db._session.connection if mode_db._session else None
    assert mode_db.read(SELECT, slug="nobody") == []
    assert mode_db._session is not None and mode_db._session.connection is connection
