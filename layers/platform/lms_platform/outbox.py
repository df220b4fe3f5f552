"""The transactional outbox: events commit with the rows they describe.

After the commit the transaction's events go to EventBridge at once; whatever is not
accepted stays unpublished and the relay sends it later. Delivery is at least once.

A row's ``destination`` says where it goes: ``bus`` for an event, ``queue`` for a task the
service's consumer hands to itself (``lms_platform.tasks``), sent to the service's own
queue the same way: after the commit, else by the relay.
"""

from __future__ import annotations

import json
import logging
import uuid
from collections.abc import Iterable, Sequence
from typing import TYPE_CHECKING, Any

from lms_events.envelope import Envelope, EventData
from lms_platform import context, observability
from lms_platform.settings import get_settings

if TYPE_CHECKING:
    from lms_platform.db import Database, UnitOfWork
    from lms_platform.tasks import Task

logger = logging.getLogger(__name__)

PUT_EVENTS_MAX_ENTRIES = 10  # an EventBridge limit per PutEvents call
# How long a request may spend publishing after its commit (tries and pauses included):
# well inside a route's 10 s timeout; what is not sent by then waits for the relay.
PUBLISH_BUDGET_SECONDS = 2.0
# How long one relay sweep may publish while its transaction holds the rows it sends:
# well under the roles' idle_in_transaction_session_timeout (10 s), past which the server
# ends the session, the marks of events already on the bus roll back and the next sweep
# sends them all again (a slow or throttled bus would then never be caught up with).
RELAY_PUBLISH_BUDGET_SECONDS = 5.0

_INSERT = """
INSERT INTO outbox (id, source, event_type, detail, occurred_at)
VALUES (:id, :source, :event_type, CAST(:detail AS jsonb), :occurred_at)
"""
_MARK_PUBLISHED = """
UPDATE outbox SET published_at = now() WHERE id = ANY(CAST(:ids AS uuid[])) AND published_at IS NULL
"""
_SWEEP = """
SELECT id, source, event_type, detail::text AS detail FROM outbox
WHERE published_at IS NULL AND occurred_at < now() - make_interval(secs => :grace)
  AND destination = 'bus'
ORDER BY occurred_at
LIMIT :batch
FOR UPDATE SKIP LOCKED
"""
_INSERT_TASK = """
INSERT INTO outbox (id, source, event_type, detail, occurred_at, destination)
VALUES (:id, :source, :event_type, CAST(:detail AS jsonb), :occurred_at, 'queue')
"""
# Tasks are swept on their own, so that a queue that cannot be reached never holds back
# the events behind it (nor the other way round).
_SWEEP_TASKS = """
SELECT id, detail::text AS detail FROM outbox
WHERE published_at IS NULL AND occurred_at < now() - make_interval(secs => :grace)
  AND destination = 'queue'
ORDER BY occurred_at
LIMIT :batch
FOR UPDATE SKIP LOCKED
"""
# What waits to be sent, for the operator (``lms outbox status``).
_PENDING = """
SELECT destination, count(*) AS waiting, min(occurred_at) AS oldest, now() AS now
FROM outbox WHERE published_at IS NULL GROUP BY destination
"""


class Outbox:
    def __init__(self, uow: UnitOfWork) -> None:
        self._uow = uow
        self._pending: list[tuple[uuid.UUID, str, str, str]] = []
        self._pending_tasks: list[Task] = []

    def add(
        self, data: EventData, *, aggregate_id: object, correlation_id: str | None = None
    ) -> Envelope[Any]:
        envelope = Envelope.wrap(
            data,
            aggregate_id=aggregate_id,
            correlation_id=correlation_id or context.correlation_id.get(),
        )
        detail = envelope.detail_json()
        self._uow.execute(
            _INSERT,
            id=envelope.event_id,
            source=envelope.source,
            event_type=envelope.event_type,
            detail=detail,
            occurred_at=envelope.occurred_at,
        )
        self._pending.append((envelope.event_id, envelope.source, envelope.event_type, detail))
        return envelope

    def add_task(
        self, name: str, payload: dict[str, Any], *, correlation_id: str | None = None
    ) -> uuid.UUID:
        """A task for this service's own consumer, sent once this transaction commits; its id."""
        from lms_platform.tasks import Task

        service = _service_of(self._uow.database)
        task = Task.new(service, name, payload, correlation_id or context.correlation_id.get())
        self._uow.execute(
            _INSERT_TASK,
            id=task.id,
            source=f"lms.{service}",
            event_type=name,
            detail=task.body(),
            occurred_at=task.created_at,
        )
        self._pending_tasks.append(task)
        return task.id

    def publish_committed(self) -> None:
        if self._pending_tasks:
            self._send_committed_tasks()
        if not self._pending:
            return
        try:
            published = put_events(self._pending, budget=PUBLISH_BUDGET_SECONDS)
            if published:
                self._uow.database.execute(_MARK_PUBLISHED, ids=_uuid_array(published))
        except Exception:
            # The rows are committed; the relay will send them. The caller's work is done.
            logger.exception("publishing after commit failed; the relay will retry")

    def _send_committed_tasks(self) -> None:
        from lms_platform import tasks

        try:
            service = _service_of(self._uow.database)
            sent = tasks.send(service, [(t.id, t.body()) for t in self._pending_tasks])
            if sent:
                self._uow.database.execute(_MARK_PUBLISHED, ids=_uuid_array(sent))
        except Exception:
            logger.exception("sending tasks after commit failed; the relay will retry")


def put_events(
    entries: Sequence[tuple[uuid.UUID, str, str, str]], *, budget: float | None = None
) -> list[uuid.UUID]:
    """Send ``(event_id, source, detail_type, detail_json)`` entries; the ids accepted.

    PutEvents answers entry by entry: a call can succeed while some entries fail, so each
    entry's result is read and only the accepted ones count as published. A call that
    fails as a whole ends the sending: the ids accepted before it are returned (so that
    they are marked and never sent again), or, if none was, the error is raised.
    ``budget`` bounds the time spent (seconds, all calls together).
    """
    import time

    from lms_platform import eventbridge

    bus = get_settings().event_bus_name
    accepted: list[uuid.UUID] = []
    deadline = None if budget is None else time.monotonic() + budget
    for start in range(0, len(entries), PUT_EVENTS_MAX_ENTRIES):
        batch = entries[start : start + PUT_EVENTS_MAX_ENTRIES]
        left = None if deadline is None else deadline - time.monotonic()
        try:
            response = eventbridge.client().put_events(
                [
                    {"EventBusName": bus, "Source": source, "DetailType": kind, "Detail": detail}
                    for _, source, kind, detail in batch
                ],
                budget=left,
            )
        except eventbridge.PutEventsError:
            # The calls before this one were answered: their events are on the bus and are
            # marked as sent by the caller; this call's and the rest wait for the relay.
            # Raising here would leave them unmarked, and the relay would send them again.
            if not accepted:
                raise
            logger.warning("PutEvents failed; the events accepted so far are kept")
            observability.count("PutEventsCallsFailed")
            break
        for (event_id, _, kind, _), result in zip(batch, response["Entries"], strict=True):
            if result.get("EventId") and not result.get("ErrorCode"):
                accepted.append(event_id)
            else:
                observability.count("PutEventsEntriesFailed")
                logger.warning(
                    "event not accepted by the bus",
                    extra={"event_id": str(event_id), "event_type": kind, "error": result},
                )
    return accepted


def relay(db: Database, *, grace_seconds: int | None = None, batch: int = 100) -> int:
    """Publish outbox rows left unpublished past the grace period; how many went out.

    ``FOR UPDATE SKIP LOCKED`` lets several relays (or a relay and a slow request) run at
    once without sending the same row twice in the same sweep.
    """
    grace = get_settings().relay_grace_seconds if grace_seconds is None else grace_seconds
    total = 0
    while True:

        def sweep(uow: UnitOfWork) -> tuple[int, int]:
            rows = uow.fetch(_SWEEP, grace=float(grace), batch=batch)
            if not rows:
                uow.commit()
                return 0, 0
            sent = put_events(
                [(r["id"], r["source"], r["event_type"], _as_text(r["detail"])) for r in rows],
                budget=RELAY_PUBLISH_BUDGET_SECONDS,
            )
            if sent:
                uow.execute(_MARK_PUBLISHED, ids=_uuid_array(sent))
            uow.commit()
            return len(rows), len(sent)

        found, sent = db.transaction(sweep)
        total += sent
        if found < batch or sent < found:
            break
    return total + relay_tasks(db, grace_seconds=grace, batch=batch)


def relay_tasks(db: Database, *, grace_seconds: int, batch: int = 100) -> int:
    """Send the tasks left unsent past the grace period to the service's own queue."""
    total = 0
    while True:

        def sweep(uow: UnitOfWork) -> tuple[int, int]:
            rows = uow.fetch(_SWEEP_TASKS, grace=float(grace_seconds), batch=batch)
            sent: list[uuid.UUID] = []
            if rows:
                from lms_platform import tasks

                try:
                    sent = tasks.send(
                        _service_of(db), [(r["id"], _as_text(r["detail"])) for r in rows]
                    )
                except Exception:
                    logger.exception("the relay could not send tasks; the next sweep retries")
            if sent:
                uow.execute(_MARK_PUBLISHED, ids=_uuid_array(sent))
            uow.commit()
            return len(rows), len(sent)

        found, sent = db.transaction(sweep)
        total += sent
        if found < batch or sent < found:
            return total


def pending(db: Database) -> dict[str, tuple[int, float]]:
    """``{destination: (rows waiting, age of the oldest in seconds)}``; nothing when all is sent."""
    return {
        str(r["destination"]): (int(r["waiting"]), (r["now"] - r["oldest"]).total_seconds())
        for r in db.read(_PENDING)
    }


def _service_of(db: Database) -> str:
    # A service's role is named like its schema, ``lms_<service>``.
    return db.role.removeprefix("lms_")


def backlog(db: Database) -> tuple[int, float]:
    """Rows still to send (events and tasks) and the oldest one's age in seconds (0 when
    none): what the relay reports for the alarm on a stalled outbox."""
    waiting = pending(db)
    count = sum(n for n, _ in waiting.values())
    oldest = max((age for _, age in waiting.values()), default=0.0)
    return count, round(oldest, 1)


def _uuid_array(ids: Iterable[uuid.UUID]) -> str:
    return "{" + ",".join(str(i) for i in ids) + "}"


def _as_text(detail: Any) -> str:
    return detail if isinstance(detail, str) else json.dumps(detail)
