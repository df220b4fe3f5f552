"""A statement that outlives its time leaves nothing open: the database bounds the work per
role, a connection whose state is unknown is closed at once, the caller gets a clean 503
(or the record goes back for redelivery), and the next request works on a new connection.

All on a real PostgreSQL: the locks, the timeouts and pg_stat_activity are the server's.
"""

from __future__ import annotations

import json
import time
import uuid
from collections.abc import Callable, Iterator
from typing import Any

import pytest

from lms_platform.db import database, open_connection, params_from_url
from lms_platform.errors import Unavailable
from lms_platform.migrations import ROLE_LIMITS
from tests.handlers.conftest import Account
from tests.support import call, scalar


@pytest.fixture
def holder(admin_url: str) -> Iterator[Any]:
    """A second, superuser session that can hold row locks in an open transaction."""
    connection = open_connection(params_from_url(admin_url))
    yield connection
    connection.run("ROLLBACK")
    connection.close()


@pytest.fixture
def short_lock_timeout(admin_sql: Any) -> Iterator[None]:
    """The User role's lock_timeout made short, so the test does not wait the real 2 s.
    A role setting applies to sessions opened after it: the kept connection is dropped."""
    admin_sql.run("ALTER ROLE lms_user SET lock_timeout = '300ms'")
    database("lms_user").discard_connection()
    yield
    admin_sql.run(f"ALTER ROLE lms_user SET lock_timeout = '{ROLE_LIMITS['lock_timeout']}'")
    database("lms_user").discard_connection()


def _sessions_of(admin_sql: Any, role: str) -> list[dict[str, Any]]:
    rows = admin_sql.run(
        "SELECT pid, state, xact_start IS NOT NULL AS in_transaction, wait_event"
        " FROM pg_stat_activity WHERE usename = :r AND pid <> pg_backend_pid()",
        r=role,
    )
    return [{"pid": r[0], "state": r[1], "in_transaction": r[2], "wait_event": r[3]} for r in rows]


def _eventually(check: Callable[[], bool], within: float) -> float:
    """Seconds until ``check`` held (fails the test past ``within``)."""
    started = time.monotonic()
    while not check():
        assert time.monotonic() - started < within, f"not within {within} s"
        time.sleep(0.02)
    return time.monotonic() - started


def test_each_service_role_has_its_limits_set_on_the_role(
    platform_env: dict[str, str], admin_sql: Any
) -> None:
    # Given the migrated database, When the role settings are read
    rows = admin_sql.run(
        "SELECT r.rolname, s.setconfig FROM pg_db_role_setting s"
        " JOIN pg_roles r ON r.oid = s.setrole WHERE r.rolname LIKE 'lms\\_%'"
    )
    settings = {name: dict(c.split("=", 1) for c in config) for name, config in rows}
    # Then every service role carries the statement, lock and idle-transaction limits
    assert settings, "no role settings found"
    for role, config in settings.items():
        for name, value in ROLE_LIMITS.items():
            assert config.get(name) == value, (role, name, config)


def test_a_write_that_waits_on_a_lock_past_lock_timeout_is_503_and_the_holder_keeps_it(
    register: Callable[..., Account], holder: Any, short_lock_timeout: None, admin_sql: Any
) -> None:
    # Given a user whose row another transaction holds locked
    ada = register("ada@example.com")
    holder.run("BEGIN")
    holder.run("SELECT id FROM lms_user.users WHERE id = :i FOR UPDATE", i=ada.id)
    # When the user changes their profile (which locks that row first)
    started = time.monotonic()
    reply = call("PATCH", "/me/profile", caller=ada.caller, body={"bio": "waits"})
    waited = time.monotonic() - started
    # Then the answer is a 503 problem with Retry-After, after about the lock timeout
    assert reply.status == 503, reply.body
    assert reply.content_type == "application/problem+json"
    assert int(reply.headers["Retry-After"]) >= 1
    assert "lock" not in json.dumps(reply.body).lower()  # no internals for the caller
    assert waited < 2.0
    # And the lock's holder is unaffected: its transaction still commits a change
    holder.run("UPDATE lms_user.profiles SET bio = 'holder' WHERE user_id = :i", i=ada.id)
    holder.run("COMMIT")
    assert scalar(admin_sql, "SELECT bio FROM lms_user.profiles WHERE user_id = :i", i=ada.id) == (
        "holder"
    )
    # And nothing of the refused request was written (no ProfileUpdated waiting to go out)
    assert (
        scalar(
            admin_sql, "SELECT count(*) FROM lms_user.outbox WHERE event_type = 'ProfileUpdated'"
        )
        == 0
    )


def test_a_statement_past_the_socket_timeout_closes_the_connection_and_frees_its_locks(
    register: Callable[..., Account], override_env: Callable[[str, str], None], admin_sql: Any
) -> None:
    # Given a unit of work that has locked a user's row, and a client whose socket waits
    # less than the statement takes (the role's statement_timeout is longer)
    ada = register("ada@example.com")
    override_env("LMS_DB_SOCKET_TIMEOUT", "0.5")
    db = database("lms_user")
    db.discard_connection()
    with pytest.raises(Unavailable), db.unit_of_work() as uow:
        uow.execute("UPDATE users SET updated_at = now() WHERE id = :i", i=ada.id)
        # When a statement outlives the socket's patience
        uow.fetch("SELECT pg_sleep(3)")
    # Then within a second the server shows no transaction of the role open...
    took = _eventually(
        lambda: not any(s["in_transaction"] for s in _sessions_of(admin_sql, "lms_user")),
        within=1.5,
    )
    assert took < 1.0 + 0.5  # the server checks for a gone client every 500 ms
    # ... and the row is unlocked: another session takes it at once
    admin_sql.run("BEGIN")
    admin_sql.run("SELECT id FROM lms_user.users WHERE id = :i FOR UPDATE NOWAIT", i=ada.id)
    admin_sql.run("ROLLBACK")
    # And the function's next request succeeds on a new connection
    reply = call("GET", "/me", caller=ada.caller)
    assert reply.status == 200
    assert reply.body["email"] == "ada@example.com"


def test_a_large_answer_past_the_socket_timeout_is_cut_and_rolled_back(
    register: Callable[..., Account], override_env: Callable[[str, str], None], admin_sql: Any
) -> None:
    # Given a unit of work that has locked a row and then asks for an answer larger than
    # the socket buffers, read too slowly: the server blocks writing it (ClientWrite)
    ada = register("ada@example.com")
    override_env("LMS_DB_SOCKET_TIMEOUT", "0.3")
    db = database("lms_user")
    db.discard_connection()
    with pytest.raises(Unavailable), db.unit_of_work() as uow:
        uow.execute("UPDATE users SET updated_at = now() WHERE id = :i", i=ada.id)
        uow.fetch(
            "SELECT n, repeat('x', 1000) AS pad, pg_sleep(CASE WHEN n = 50000 THEN 2 ELSE 0 END)"
            " FROM generate_series(1, 50001) AS n"
        )
    # Then the server lets go of the transaction within a second
    _eventually(
        lambda: not any(s["in_transaction"] for s in _sessions_of(admin_sql, "lms_user")),
        within=1.0,
    )
    reply = call("GET", "/me", caller=ada.caller)
    assert reply.status == 200


def test_a_consumer_record_that_meets_a_lock_timeout_is_failed_for_redelivery(
    holder: Any, admin_sql: Any, db_clean: None
) -> None:
    # Given the Enrollment service's read-model row of a course held locked elsewhere
    from functions.enrollment import consumer
    from lms_events import course as course_events

    admin_sql.run("ALTER ROLE lms_enrollment SET lock_timeout = '300ms'")
    database("lms_enrollment").discard_connection()
    try:
        course_id = uuid.uuid4()
        header = course_events.CourseCreated(
            course_id=course_id,
            version=1,
            title="T",
            slug="t",
            description=None,
            status="DRAFT",
            created_by=uuid.uuid4(),
        )
        admin_sql.run(
            "INSERT INTO lms_enrollment.courses (id, status, title, slug, version)"
            " VALUES (:i, 'DRAFT', 'T', 't', 0)",
            i=course_id,
        )
        holder.run("BEGIN")
        holder.run("SELECT id FROM lms_enrollment.courses WHERE id = :i FOR UPDATE", i=course_id)
        other = header.model_copy(update={"course_id": uuid.uuid4(), "slug": "u"})
        locked, free = _record("m-1", header), _record("m-2", other)
        # When the consumer gets a batch with that course's event and another one
        result = consumer.handler({"Records": [locked, free]}, None)
        # Then the record of the locked course is reported failed (SQS brings it back),
        # nothing was claimed for it, and the other record was applied
        assert result == {"batchItemFailures": [{"itemIdentifier": "m-1"}]}
        assert scalar(admin_sql, "SELECT count(*) FROM lms_enrollment.inbox") == 1
        # And once the lock is gone, the redelivery applies it
        holder.run("ROLLBACK")
        assert consumer.handler({"Records": [locked]}, None) == {"batchItemFailures": []}
        assert (
            scalar(admin_sql, "SELECT title FROM lms_enrollment.courses WHERE id = :i", i=course_id)
            == "T"
        )
        assert scalar(admin_sql, "SELECT count(*) FROM lms_enrollment.inbox") == 2
    finally:
        admin_sql.run(
            f"ALTER ROLE lms_enrollment SET lock_timeout = '{ROLE_LIMITS['lock_timeout']}'"
        )
        database("lms_enrollment").discard_connection()


def _record(message_id: str, data: Any) -> dict[str, Any]:
    """An SQS record holding the EventBridge event of ``data``, as the queue delivers it."""
    from lms_events.envelope import Envelope

    envelope = Envelope.wrap(data, aggregate_id=data.course_id)
    event = {
        "source": data.source,
        "detail-type": data.event_type,
        "detail": json.loads(envelope.detail_json()),
    }
    return {
        "messageId": message_id,
        "receiptHandle": f"receipt-{message_id}",
        "body": json.dumps(event),
        "attributes": {},
        "messageAttributes": {},
        "md5OfBody": "",
        "eventSource": "aws:sqs",
        "eventSourceARN": "arn:aws:sqs:us-east-1:123456789012:lms-enrollment-events",
        "awsRegion": "us-east-1",
    }
