"""The unit of work on real PostgreSQL: commit only when told, bounded retry of conflicts."""

from __future__ import annotations

import json
import threading
import uuid
from typing import Any

import pytest
from pg8000.exceptions import DatabaseError

from lms_platform.db import Database, UnitOfWork, sqlstate
from lms_platform.http import NotFound
from tests.support import scalar

INSERT_ORG = """
INSERT INTO organizations (id, name, slug, settings)
VALUES (:id, :name, :slug, CAST(:settings AS jsonb))
"""


def _add_org(uow: UnitOfWork, slug: str, settings: dict[str, Any] | None = None) -> uuid.UUID:
    org_id = uuid.uuid4()
    uow.execute(INSERT_ORG, id=org_id, name=slug, slug=slug, settings=json.dumps(settings or {}))
    return org_id


def _orgs(admin_sql: Any) -> int:
    return int(scalar(admin_sql, "SELECT count(*) FROM lms_user.organizations"))


def _raise_sqlstate(uow: UnitOfWork, code: str) -> None:
    """Make the server itself fail the statement with this SQLSTATE."""
    uow.execute(f"DO $$ BEGIN RAISE EXCEPTION 'simulated' USING ERRCODE = '{code}'; END $$")


# --- commit and rollback -------------------------------------------------------------------


def test_rows_are_kept_when_the_unit_of_work_commits(db: Database, admin_sql: Any) -> None:
    # Given a unit of work that writes a row and commits
    with db.unit_of_work() as uow:
        org_id = _add_org(uow, "kept")
        uow.commit()
    # Then the row is in the table for everyone
    assert scalar(admin_sql, "SELECT slug FROM lms_user.organizations WHERE id = :i", i=org_id)


def test_rows_are_invisible_to_others_until_the_commit(db: Database, admin_sql: Any) -> None:
    with db.unit_of_work() as uow:
        _add_org(uow, "pending")
        # While the unit of work is open, another connection does not see the row
        assert _orgs(admin_sql) == 0
        uow.commit()
    assert _orgs(admin_sql) == 1


def test_leaving_without_commit_rolls_back(db: Database, admin_sql: Any) -> None:
    # Given a unit of work that writes but never calls commit()
    with db.unit_of_work() as uow:
        _add_org(uow, "forgotten")
    # Then nothing was kept
    assert _orgs(admin_sql) == 0
    assert uow.committed is False


def test_an_exception_rolls_back_and_reaches_the_caller(db: Database, admin_sql: Any) -> None:
    # Given a unit of work that writes and then fails
    with pytest.raises(NotFound), db.unit_of_work() as uow:
        _add_org(uow, "doomed")
        raise NotFound("the use case found something missing")
    # Then the write is gone and the error was not swallowed
    assert _orgs(admin_sql) == 0


def test_the_connection_is_usable_after_a_rollback(db: Database, admin_sql: Any) -> None:
    # Given a unit of work that died on a server-side error
    with pytest.raises(DatabaseError), db.unit_of_work() as uow:
        _add_org(uow, "first")
        _add_org(uow, "first")  # unique slug violated: the transaction is aborted
    # When the next unit of work runs on the same kept connection
    with db.unit_of_work() as uow:
        _add_org(uow, "second")
        uow.commit()
    # Then it works and only its own row exists
    assert [r[0] for r in admin_sql.run("SELECT slug FROM lms_user.organizations")] == ["second"]


def test_committing_twice_is_refused(db: Database) -> None:
    with db.unit_of_work() as uow:
        uow.commit()
        with pytest.raises(RuntimeError, match="already committed"):
            uow.commit()


def test_an_error_after_the_commit_does_not_undo_it(db: Database, admin_sql: Any) -> None:
    with pytest.raises(ValueError), db.unit_of_work() as uow:
        _add_org(uow, "committed-then-failed")
        uow.commit()
        raise ValueError("response mapping failed")
    assert _orgs(admin_sql) == 1


def test_the_service_connects_as_its_role_with_only_its_schema(db: Database) -> None:
    row = db.read_one("SELECT current_user AS who, current_schemas(false) AS path")
    assert row == {"who": "lms_user", "path": ["lms_user"]}


def test_one_connection_is_kept_and_reused(db: Database) -> None:
    # Given two units of work and a read, one after the other
    pids = set()
    for _ in range(2):
        with db.unit_of_work() as uow:
            pids.add(uow.fetch_one("SELECT pg_backend_pid() AS pid")["pid"])  # type: ignore[index]
    pids.add(db.read_one("SELECT pg_backend_pid() AS pid")["pid"])  # type: ignore[index]
    # Then they all ran on the same server connection
    assert len(pids) == 1


def test_a_dropped_connection_is_replaced_before_the_next_transaction(
    db: Database, admin_sql: Any
) -> None:
    # Given a kept connection that the server has since closed (idle timeout, failover)
    pid = db.read_one("SELECT pg_backend_pid() AS pid")["pid"]  # type: ignore[index]
    admin_sql.run("SELECT pg_terminate_backend(:p)", p=pid)
    # When the next unit of work starts, Then it runs on a new connection
    with db.unit_of_work() as uow:
        _add_org(uow, "after-reconnect")
        uow.commit()
    assert _orgs(admin_sql) == 1
    # And a read recovers the same way
    admin_sql.run(
        "SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE usename = 'lms_user'"
    )
    assert db.read_one("SELECT count(*) AS n FROM organizations") == {"n": 1}


# --- retries -------------------------------------------------------------------------------


def test_conflicting_serializable_transactions_both_succeed_by_retrying(
    db_clean: None, admin_sql: Any
) -> None:
    # Given a counter and two SERIALIZABLE read-modify-write transactions in two execution
    # environments that both read it before either writes (so one must fail with 40001)
    with Database("lms_user").unit_of_work() as uow:
        org_id = _add_org(uow, "counter", {"count": 0})
        uow.commit()
    both_read = threading.Barrier(2, timeout=10)
    attempts: list[str] = []
    errors: list[BaseException] = []

    def increment(name: str) -> None:
        database = Database("lms_user")

        def work(uow: UnitOfWork) -> None:
            attempts.append(name)
            row = uow.fetch_one("SELECT settings FROM organizations WHERE id = :i", i=org_id)
            assert row is not None
            count = int(row["settings"]["count"])
            if attempts.count(name) == 1:
                both_read.wait()
            uow.execute(
                "UPDATE organizations SET settings = CAST(:s AS jsonb) WHERE id = :i",
                s=json.dumps({"count": count + 1}),
                i=org_id,
            )
            uow.commit()

        try:
            database.transaction(work, isolation="SERIALIZABLE")
        except BaseException as error:  # reported to the test thread below
            errors.append(error)
        finally:
            database.discard_connection()

    threads = [threading.Thread(target=increment, args=(n,)) for n in ("a", "b")]
    # When both run at once
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=30)
    # Then both succeeded, no increment was lost, and exactly one of them ran twice
    assert errors == []
    settings = scalar(
        admin_sql, "SELECT settings FROM lms_user.organizations WHERE id = :i", i=org_id
    )
    assert settings == {"count": 2}
    assert len(attempts) == 3


def test_a_work_that_always_hits_a_serialization_failure_gives_up_after_n_attempts(
    db: Database,
) -> None:
    calls = 0

    def work(uow: UnitOfWork) -> None:
        nonlocal calls
        calls += 1
        _raise_sqlstate(uow, "40001")

    # When a work fails with 40001 every time
    with pytest.raises(DatabaseError) as raised:
        db.transaction(work, attempts=3)
    # Then it was tried exactly three times and the last failure is reported as is
    assert calls == 3
    assert sqlstate(raised.value) == "40001"


def test_a_deadlock_victim_is_retried_and_then_succeeds(db: Database, admin_sql: Any) -> None:
    calls = 0

    def work(uow: UnitOfWork) -> str:
        nonlocal calls
        calls += 1
        _add_org(uow, f"attempt-{calls}")
        if calls == 1:
            _raise_sqlstate(uow, "40P01")
        uow.commit()
        return "done"

    assert db.transaction(work) == "done"
    # The first attempt's row was rolled back with it; only the second attempt's is kept
    assert calls == 2
    assert [r[0] for r in admin_sql.run("SELECT slug FROM lms_user.organizations")] == ["attempt-2"]


@pytest.mark.parametrize("code", ["23505", "22012", "42P01"])
def test_other_database_errors_are_not_retried(db: Database, code: str) -> None:
    calls = 0

    def work(uow: UnitOfWork) -> None:
        nonlocal calls
        calls += 1
        _raise_sqlstate(uow, code)

    with pytest.raises(DatabaseError) as raised:
        db.transaction(work, attempts=5)
    assert calls == 1
    assert sqlstate(raised.value) == code


def test_a_use_case_error_is_not_retried(db: Database) -> None:
    calls = 0

    def work(uow: UnitOfWork) -> None:
        nonlocal calls
        calls += 1
        raise NotFound("no such thing")

    with pytest.raises(NotFound):
        db.transaction(work)
    assert calls == 1
