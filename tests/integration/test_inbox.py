"""Consumers: every event applied once per handler, whatever the deliveries; SQS batches
report their failing records alone."""

from __future__ import annotations

import json
import threading
import uuid
from collections.abc import Callable, Iterator
from typing import Any

import pytest

from lms_events.envelope import Envelope
from lms_events.user import RoleAssigned, UserRegistered
from lms_platform import outbox
from lms_platform.db import Database, UnitOfWork
from lms_platform.inbox import EventConsumer, Subscription
from lms_platform.outbox import relay
from tests.support import EventLog, scalar

EFFECTS = "lms_test_effects.applied"


@pytest.fixture(scope="module")
def effects_table(platform_env: dict[str, str], admin_url: str) -> Iterator[None]:
    """A table of a throwaway schema that test subscriptions write their effect into."""
    from lms_platform.db import open_connection, params_from_url

    connection = open_connection(params_from_url(admin_url))
    connection.run("CREATE SCHEMA IF NOT EXISTS lms_test_effects")
    connection.run(
        f"CREATE TABLE IF NOT EXISTS {EFFECTS} (event_id uuid, handler text, user_id uuid)"
    )
    connection.run("GRANT USAGE ON SCHEMA lms_test_effects TO lms_user")
    connection.run(f"GRANT SELECT, INSERT ON {EFFECTS} TO lms_user")
    yield
    connection.run("DROP SCHEMA lms_test_effects CASCADE")
    connection.close()


@pytest.fixture
def effects(effects_table: None, db_clean: None, admin_sql: Any) -> Callable[[], list[Any]]:
    """The effects applied so far, as ``[event_id, handler]`` rows (emptied per test)."""
    admin_sql.run(f"TRUNCATE {EFFECTS}")
    return lambda: admin_sql.run(f"SELECT event_id::text, handler FROM {EFFECTS} ORDER BY 2, 1")


def _record_effect(handler: str) -> Callable[[UnitOfWork, Envelope[Any]], None]:
    def apply(uow: UnitOfWork, envelope: Envelope[Any]) -> None:
        uow.execute(
            f"INSERT INTO {EFFECTS} (event_id, handler, user_id) VALUES (:e, :h, :u)",
            e=envelope.event_id,
            h=handler,
            u=envelope.data.user_id,
        )

    return apply


def _consumer(db: Database, *handlers: str) -> EventConsumer:
    return EventConsumer(
        lambda: db,
        [Subscription(UserRegistered, h, _record_effect(h)) for h in handlers or ("effect",)],
    )


def _bus_event(envelope: Envelope[Any]) -> dict[str, Any]:
    """The event as EventBridge delivers it to a rule's target."""
    return {
        "version": "0",
        "id": str(uuid.uuid4()),
        "detail-type": envelope.event_type,
        "source": envelope.source,
        "account": "123456789012",
        "time": "2024-05-01T10:00:00Z",
        "region": "us-east-1",
        "resources": [],
        "detail": envelope.model_dump(mode="json", by_alias=True),
    }


def _registered() -> Envelope[Any]:
    user_id = uuid.uuid4()
    data = UserRegistered(
        user_id=user_id, email="a@example.com", display_name="A", roles=["STUDENT"]
    )
    return Envelope.wrap(data, aggregate_id=user_id, correlation_id="corr-1")


def _sqs_record(body: str) -> dict[str, Any]:
    """One SQS message as Lambda's SQS event source hands it over."""
    return {
        "messageId": str(uuid.uuid4()),
        "receiptHandle": "handle",
        "body": body,
        "attributes": {"ApproximateReceiveCount": "1", "SentTimestamp": "1714557600000"},
        "messageAttributes": {},
        "md5OfBody": "",
        "eventSource": "aws:sqs",
        "eventSourceARN": "arn:aws:sqs:us-east-1:123456789012:lms-test-events",
        "awsRegion": "us-east-1",
    }


def _inbox_rows(admin_sql: Any) -> int:
    return int(scalar(admin_sql, "SELECT count(*) FROM lms_user.inbox"))


# --- deliveries ---------------------------------------------------------------------------


def test_the_same_event_delivered_twice_is_applied_once(
    db: Database, effects: Callable[[], list[Any]], admin_sql: Any
) -> None:
    # Given an event, When the bus delivers it twice (at-least-once delivery)
    envelope = _registered()
    consumer = _consumer(db)
    first = consumer.deliver(_bus_event(envelope))
    second = consumer.deliver(_bus_event(envelope))
    # Then the effect happened once, and the inbox remembers the event under the handler
    assert (first, second) == (1, 0)
    assert effects() == [[str(envelope.event_id), "effect"]]
    assert admin_sql.run("SELECT event_id::text, handler, event_type FROM lms_user.inbox") == [
        [str(envelope.event_id), "effect", "UserRegistered"]
    ]


def test_each_handler_of_an_event_applies_it_once(
    db: Database, effects: Callable[[], list[Any]]
) -> None:
    # Given two handlers subscribed to the same event
    envelope = _registered()
    consumer = _consumer(db, "projection", "notifier")
    # When it is delivered three times
    acted = [consumer.deliver(_bus_event(envelope)) for _ in range(3)]
    # Then each handler applied it exactly once
    assert acted == [2, 0, 0]
    assert effects() == [
        [str(envelope.event_id), "notifier"],
        [str(envelope.event_id), "projection"],
    ]


def test_an_event_nobody_subscribed_to_is_ignored(
    db: Database, effects: Callable[[], list[Any]], admin_sql: Any
) -> None:
    user_id = uuid.uuid4()
    other = Envelope.wrap(
        RoleAssigned(user_id=user_id, role="ADMIN", assigned_by=None), aggregate_id=user_id
    )
    assert _consumer(db).deliver(_bus_event(other)) == 0
    assert effects() == []
    assert _inbox_rows(admin_sql) == 0


def test_a_failed_effect_leaves_no_inbox_row_so_redelivery_applies_it(
    db: Database, effects: Callable[[], list[Any]], admin_sql: Any
) -> None:
    # Given a handler that fails the first time
    envelope = _registered()
    failures = iter([RuntimeError("downstream hiccup")])

    def flaky(uow: UnitOfWork, received: Envelope[Any]) -> None:
        _record_effect("effect")(uow, received)
        error = next(failures, None)
        if error:
            raise error

    consumer = EventConsumer(lambda: db, [Subscription(UserRegistered, "effect", flaky)])
    # When the first delivery fails
    with pytest.raises(RuntimeError):
        consumer.deliver(_bus_event(envelope))
    # Then neither the inbox claim nor the half-done effect was kept
    assert _inbox_rows(admin_sql) == 0
    assert effects() == []
    # And the redelivery applies it, once
    assert consumer.deliver(_bus_event(envelope)) == 1
    assert consumer.deliver(_bus_event(envelope)) == 0
    assert effects() == [[str(envelope.event_id), "effect"]]


def test_two_simultaneous_deliveries_of_one_event_apply_it_once(
    db_clean: None, effects: Callable[[], list[Any]]
) -> None:
    # Given two consumers in two execution environments receiving the same event at once
    envelope = _registered()
    start = threading.Barrier(2, timeout=10)
    acted: list[int] = []

    def consume() -> None:
        database = Database("lms_user")
        try:
            start.wait()
            acted.append(_consumer(database).deliver(_bus_event(envelope)))
        finally:
            database.discard_connection()

    threads = [threading.Thread(target=consume) for _ in range(2)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=30)
    # Then exactly one of them applied it
    assert sorted(acted) == [0, 1]
    assert effects() == [[str(envelope.event_id), "effect"]]


# --- the SQS entry point ----------------------------------------------------------------


def test_a_batch_reports_only_its_bad_records_and_commits_the_good_ones(
    db: Database, effects: Callable[[], list[Any]]
) -> None:
    # Given a batch with good events, a body that is not JSON, and an event whose data
    # does not match its model
    good = [_registered(), _registered()]
    broken = _bus_event(_registered())
    del broken["detail"]["data"]["email"]
    records = [
        _sqs_record(json.dumps(_bus_event(good[0]))),
        _sqs_record("{not json"),
        _sqs_record(json.dumps(_bus_event(good[1]))),
        _sqs_record(json.dumps(broken)),
    ]
    # When the consumer's Lambda handler gets the batch
    response = _consumer(db).handler({"Records": records}, None)
    # Then exactly the two bad records are reported for redelivery
    failed = {f["itemIdentifier"] for f in response["batchItemFailures"]}
    assert failed == {records[1]["messageId"], records[3]["messageId"]}
    # And the good ones took effect
    assert sorted(e[0] for e in effects()) == sorted(str(g.event_id) for g in good)


def test_a_redelivered_batch_changes_nothing(
    db: Database, effects: Callable[[], list[Any]]
) -> None:
    # Given a batch already processed, with the same event twice inside it
    envelope = _registered()
    body = json.dumps(_bus_event(envelope))
    batch = {"Records": [_sqs_record(body), _sqs_record(body)]}
    consumer = _consumer(db)
    assert consumer.handler(batch, None) == {"batchItemFailures": []}
    # When SQS delivers the whole batch again
    assert consumer.handler(batch, None) == {"batchItemFailures": []}
    # Then the effect still happened once
    assert effects() == [[str(envelope.event_id), "effect"]]


# --- crash, relay, consume ----------------------------------------------------------------


def test_an_event_lost_at_publish_is_relayed_later_and_applied_once(
    db: Database,
    effects: Callable[[], list[Any]],
    event_log: EventLog,
    monkeypatch: pytest.MonkeyPatch,
    admin_sql: Any,
) -> None:
    # Given a use case whose commit succeeded but whose publish failed (a crash between)
    def bus_unreachable(entries: Any) -> list[uuid.UUID]:
        raise ConnectionError("the process died before PutEvents returned")

    with monkeypatch.context() as patch:
        patch.setattr(outbox, "put_events", bus_unreachable)
        user_id = uuid.uuid4()
        with db.unit_of_work() as uow:
            data = UserRegistered(
                user_id=user_id, email="late@example.com", display_name="Late", roles=["STUDENT"]
            )
            envelope = uow.outbox.add(data, aggregate_id=user_id)
            uow.commit()
    assert event_log.drain(wait_seconds=0.5) == []
    # When the relay runs, the event reaches the bus and a consuming queue
    assert relay(db, grace_seconds=0) == 1
    delivered = event_log.drain(expect=1)
    assert [e["detail"]["eventId"] for e in delivered] == [str(envelope.event_id)]
    # And the consumer receives what the queue holds twice (at-least-once delivery)
    consumer = _consumer(db)
    for _ in range(2):
        batch = {"Records": [_sqs_record(json.dumps(e)) for e in delivered]}
        assert consumer.handler(batch, None) == {"batchItemFailures": []}
    # Then the effect happened exactly once, for that event and that user
    assert admin_sql.run(f"SELECT event_id::text, user_id::text FROM {EFFECTS}") == [
        [str(envelope.event_id), str(user_id)]
    ]
    assert scalar(admin_sql, "SELECT count(*) FROM lms_user.outbox WHERE published_at IS NULL") == 0
