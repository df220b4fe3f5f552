"""The outbox on real PostgreSQL and moto: events commit with the rows, go out after the
commit, and whatever fails to go out is published later by the relay, once."""

from __future__ import annotations

import threading
import time
import uuid
from collections import Counter
from collections.abc import Callable, Iterator, Sequence
from typing import Any

import pytest

from lms_events.envelope import Envelope
from lms_events.user import UserRegistered
from lms_platform import outbox
from lms_platform.db import Database, UnitOfWork
from lms_platform.outbox import relay
from tests.support import EventLog, scalar

Entries = Sequence[tuple[uuid.UUID, str, str, str]]


def _registered(n: int = 0) -> UserRegistered:
    return UserRegistered(
        user_id=uuid.uuid4(),
        email=f"user{n}@example.com",
        display_name=f"User {n}",
        roles=["STUDENT"],
    )


def _add(uow: UnitOfWork, n: int = 0) -> Envelope[Any]:
    data = _registered(n)
    return uow.outbox.add(data, aggregate_id=data.user_id)


def _published_at(admin_sql: Any, event_id: uuid.UUID) -> Any:
    return scalar(admin_sql, "SELECT published_at FROM lms_user.outbox WHERE id = :i", i=event_id)


def _unpublished(admin_sql: Any) -> int:
    return int(scalar(admin_sql, "SELECT count(*) FROM lms_user.outbox WHERE published_at IS NULL"))


def _event_ids(received: list[dict[str, Any]]) -> list[str]:
    return [e["detail"]["eventId"] for e in received]


def _bus_unreachable(entries: Entries, **_: object) -> list[uuid.UUID]:
    raise ConnectionError("the bus is unreachable")


@pytest.fixture
def bus_down(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    """PutEvents fails after the commit, as when the process dies or the bus is unreachable
    between commit and publish; ``monkeypatch.undo()`` brings the bus back."""
    monkeypatch.setattr(outbox, "put_events", _bus_unreachable)
    yield


def _commit_unpublished(db: Database, monkeypatch: pytest.MonkeyPatch, count: int) -> list[str]:
    """``count`` events committed while the bus is down: they wait in the outbox."""
    with monkeypatch.context() as patch:
        patch.setattr(outbox, "put_events", _bus_unreachable)
        with db.unit_of_work() as uow:
            ids = [str(_add(uow, n).event_id) for n in range(count)]
            uow.commit()
    return ids


# --- the request path ---------------------------------------------------------------------


def test_events_of_a_committed_transaction_are_published_and_marked(
    db: Database, admin_sql: Any, event_log: EventLog
) -> None:
    # Given a unit of work that adds an event and commits
    with db.unit_of_work() as uow:
        envelope = _add(uow)
        uow.commit()
    # Then the event is on the bus with its envelope, and its outbox row is marked
    received = event_log.drain(expect=1)
    assert _event_ids(received) == [str(envelope.event_id)]
    assert received[0]["source"] == "lms.user"
    assert received[0]["detail-type"] == "UserRegistered"
    assert received[0]["detail"] == envelope.model_dump(mode="json", by_alias=True)
    assert _published_at(admin_sql, envelope.event_id) is not None


def test_events_of_a_rolled_back_transaction_are_neither_stored_nor_published(
    db: Database, admin_sql: Any, event_log: EventLog
) -> None:
    # Given units of work that add events and then fail, or end without commit
    with pytest.raises(RuntimeError), db.unit_of_work() as uow:
        _add(uow, 1)
        raise RuntimeError("the use case failed after adding its event")
    with db.unit_of_work() as uow:
        _add(uow, 2)
    # Then the outbox is empty and nothing reached the bus
    assert scalar(admin_sql, "SELECT count(*) FROM lms_user.outbox") == 0
    assert event_log.drain(wait_seconds=1.0) == []
    # And the relay finds nothing to send either
    assert relay(db, grace_seconds=0) == 0


def test_a_crash_between_commit_and_publish_leaves_the_row_for_the_relay(
    db: Database,
    admin_sql: Any,
    event_log: EventLog,
    monkeypatch: pytest.MonkeyPatch,
    bus_down: None,
) -> None:
    # Given the bus fails right after the commit
    with db.unit_of_work() as uow:
        envelope = _add(uow)
        uow.commit()  # the use case still succeeds: its rows are safe
    # Then the row is committed but unpublished, and nothing is on the bus
    assert _published_at(admin_sql, envelope.event_id) is None
    assert event_log.drain(wait_seconds=0.5) == []
    # When the bus is back and the relay sweeps
    monkeypatch.undo()
    sent = relay(db, grace_seconds=0)
    # Then the event is published once, unchanged, and its row is marked
    assert sent == 1
    received = event_log.drain(expect=1)
    assert _event_ids(received) == [str(envelope.event_id)]
    assert received[0]["detail"] == envelope.model_dump(mode="json", by_alias=True)
    assert _published_at(admin_sql, envelope.event_id) is not None
    # And a second sweep sends nothing more
    assert relay(db, grace_seconds=0) == 0
    assert len(event_log.drain(wait_seconds=0.5)) == 1


def test_a_missing_bus_after_commit_leaves_the_row_for_the_relay(
    db: Database, admin_sql: Any, event_log: EventLog, override_env: Callable[[str, str], None]
) -> None:
    # Given the settings point the publisher at a bus that does not exist
    override_env("LMS_EVENT_BUS_NAME", "no-such-bus")
    with db.unit_of_work() as uow:
        envelope = _add(uow)
        uow.commit()
    assert _published_at(admin_sql, envelope.event_id) is None
    # When the configuration is right again and the relay runs
    override_env("LMS_EVENT_BUS_NAME", "lms")
    assert relay(db, grace_seconds=0) == 1
    # Then the event arrives and the row is marked
    assert _event_ids(event_log.drain(expect=1)) == [str(envelope.event_id)]
    assert _published_at(admin_sql, envelope.event_id) is not None


def test_only_entries_the_bus_accepted_are_marked_published(
    db: Database, admin_sql: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Given a bus that accepts every entry but the second of the call
    real_put_events = outbox.put_events

    def second_refused(entries: Entries, **_: object) -> list[uuid.UUID]:
        accepted = real_put_events(entries)
        return [i for i in accepted if i != entries[1][0]]

    monkeypatch.setattr(outbox, "put_events", second_refused)
    # When a transaction with three events commits
    with db.unit_of_work() as uow:
        envelopes = [_add(uow, n) for n in range(3)]
        uow.commit()
    # Then the first and third are marked, the second waits for the relay
    published = [_published_at(admin_sql, e.event_id) is not None for e in envelopes]
    assert published == [True, False, True]


# --- the relay ----------------------------------------------------------------------------


def test_the_relay_leaves_rows_younger_than_the_grace_period(
    db: Database, admin_sql: Any, monkeypatch: pytest.MonkeyPatch, event_log: EventLog
) -> None:
    # Given an unpublished row committed just now (its request may still be publishing it)
    _commit_unpublished(db, monkeypatch, 1)
    # When the relay runs with a grace period of a minute
    # Then it leaves the row alone
    assert relay(db, grace_seconds=60) == 0
    assert _unpublished(admin_sql) == 1
    assert event_log.drain(wait_seconds=0.5) == []


def test_the_relay_sends_every_waiting_row_batch_after_batch(
    db: Database, admin_sql: Any, monkeypatch: pytest.MonkeyPatch, event_log: EventLog
) -> None:
    # Given 25 events committed while the bus was down
    ids = _commit_unpublished(db, monkeypatch, 25)
    # When the relay sweeps in batches of 10
    assert relay(db, grace_seconds=0, batch=10) == 25
    # Then all were published once each and all rows are marked
    assert sorted(_event_ids(event_log.drain(expect=25, wait_seconds=5))) == sorted(ids)
    assert _unpublished(admin_sql) == 0


def test_the_relay_stops_at_rows_the_bus_refuses_and_keeps_them(
    db: Database, admin_sql: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Given waiting rows and a bus that refuses one entry of every call
    _commit_unpublished(db, monkeypatch, 5)
    real_put_events = outbox.put_events
    monkeypatch.setattr(outbox, "put_events", lambda entries, **_: real_put_events(entries)[1:])
    # When the relay sweeps
    sent = relay(db, grace_seconds=0)
    # Then it reports and marks only what the bus accepted; the rest waits for next time
    assert sent == 4
    assert _unpublished(admin_sql) == 1


def test_two_concurrent_relays_publish_each_row_once(
    db: Database, admin_sql: Any, monkeypatch: pytest.MonkeyPatch, event_log: EventLog
) -> None:
    # Given 30 waiting rows and a slow bus, so that two sweeps overlap
    ids = _commit_unpublished(db, monkeypatch, 30)
    real_put_events = outbox.put_events
    handed_to_bus: list[uuid.UUID] = []
    lock = threading.Lock()

    def slow_put_events(entries: Entries, **_: object) -> list[uuid.UUID]:
        with lock:
            handed_to_bus.extend(e[0] for e in entries)
        time.sleep(0.2)  # the sweep keeps its rows locked meanwhile
        return real_put_events(entries)

    monkeypatch.setattr(outbox, "put_events", slow_put_events)
    results: dict[str, int] = {}
    start = threading.Barrier(2, timeout=10)

    def sweeper(name: str) -> None:
        database = Database("lms_user")
        try:
            start.wait()
            results[name] = relay(database, grace_seconds=0, batch=5)
        finally:
            database.discard_connection()

    threads = [threading.Thread(target=sweeper, args=(n,)) for n in ("a", "b")]
    # When two relays sweep at the same time
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=60)
    # Then no row was handed to the bus twice, together they sent all 30, and both worked
    assert Counter(handed_to_bus).most_common(1)[0][1] == 1
    assert sorted(str(i) for i in handed_to_bus) == sorted(ids)
    assert results["a"] + results["b"] == 30
    assert results["a"] > 0 and results["b"] > 0
    assert _unpublished(admin_sql) == 0
    assert sorted(_event_ids(event_log.drain(expect=30, wait_seconds=5))) == sorted(ids)


def test_a_relay_skips_rows_another_relay_holds_instead_of_waiting(
    db: Database, admin_sql: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Given 10 waiting rows, and relay A stuck in PutEvents with the 4 oldest rows locked
    ids = _commit_unpublished(db, monkeypatch, 10)
    real_put_events = outbox.put_events
    a_holds_rows = threading.Event()
    b_finished = threading.Event()
    sent_by: dict[str, list[str]] = {"a": [], "b": []}

    def put_events(entries: Entries, **options: Any) -> list[uuid.UUID]:
        name = threading.current_thread().name
        sent_by[name].extend(str(e[0]) for e in entries)
        if name == "a" and not a_holds_rows.is_set():
            a_holds_rows.set()
            b_finished.wait(timeout=10)
        return real_put_events(entries, **options)

    monkeypatch.setattr(outbox, "put_events", put_events)
    results: dict[str, int] = {}

    def sweeper(name: str, batch: int) -> None:
        database = Database("lms_user")
        try:
            results[name] = relay(database, grace_seconds=0, batch=batch)
        finally:
            database.discard_connection()

    a = threading.Thread(target=sweeper, args=("a", 4), name="a")
    a.start()
    assert a_holds_rows.wait(timeout=10)
    # When relay B sweeps meanwhile
    b = threading.Thread(target=sweeper, args=("b", 100), name="b")
    b.start()
    b.join(timeout=5)
    b_done_while_a_held = not b.is_alive()
    b_finished.set()
    a.join(timeout=30)
    b.join(timeout=30)
    # Then B did not wait for A's locks: it sent the 6 other rows while A still held its 4
    assert b_done_while_a_held, "relay B waited on the rows relay A had locked"
    assert sent_by["a"] == ids[:4]
    assert sorted(sent_by["b"]) == sorted(ids[4:])
    assert results == {"a": 4, "b": 6}
    assert _unpublished(admin_sql) == 0
