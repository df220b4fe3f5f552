"""A consumer's read model rebuilt from a replay, in one transaction.

The service declares which of its tables are its read model (``Service.read_model``).
The rebuild, as the service's own role:

1. takes ``SHARE ROW EXCLUSIVE`` locks on those tables and the inbox: reads go on, writes
   (the consumer's deliveries) wait;
2. empties the read model and the inbox;
3. applies every retained event the consumer subscribes to, oldest first, through the
   consumer's own handlers (each claiming its inbox row again: ``EventConsumer.apply_within``);
4. commits.

Meanwhile a request reads the read model as it was (PostgreSQL's snapshot), and sees the
rebuilt one from the commit on; nothing in between. A delivery to the consumer waits for
the locks up to the role's ``lock_timeout`` and otherwise fails, to come back after the
queue's visibility timeout and find the inbox rows of the events the rebuild applied. An
event that fails to apply rolls the whole rebuild back: nothing changed, the error names
the event.

A rebuild needs every event the read model was built from: it refuses when a source's
outbox has been pruned (``lms_platform.retention``), since the events before that are gone.
"""

from __future__ import annotations

import importlib
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import datetime
from typing import TYPE_CHECKING, Any

from lms_platform import replay, retention

if TYPE_CHECKING:
    from lms_platform.db import Database, UnitOfWork
    from lms_platform.inbox import EventConsumer
    from lms_platform.service import Service

LOCK_NOT_AVAILABLE = "55P03"
LOCK_ATTEMPTS = 5


class RebuildRefused(Exception):
    """The rebuild cannot be done (nothing declared, events already pruned ...)."""


class EventFailed(Exception):
    """An event failed to apply: the rebuild was rolled back."""

    def __init__(self, event: replay.RetainedEvent, error: BaseException) -> None:
        super().__init__(
            f"{event.source} {event.detail_type} (outbox id {event.id}) failed: "
            f"{type(error).__name__}: {error}"
        )
        self.event = event


@dataclass(frozen=True)
class Rebuilt:
    service: str
    tables: dict[str, int]  # rows per read-model table after the rebuild (the inbox included)
    removed: dict[str, int]  # rows per table before it (the inbox included)
    events: int  # events replayed to the consumer
    applied: int  # handler applications (an event may have several handlers)
    seconds: float


def consumer_of(service: Service) -> EventConsumer:
    """The service's ``EventConsumer`` (``functions/<service>/consumer.py``, ``consumer``)."""
    from lms_platform.inbox import EventConsumer

    module = importlib.import_module(f"{service.package}.consumer")
    found = getattr(module, "consumer", None)
    if not isinstance(found, EventConsumer):
        raise RebuildRefused(f"{service.package}.consumer has no EventConsumer named 'consumer'")
    return found


def sources_of(service: Service, services: Iterable[Service]) -> list[Service]:
    """The publishing services whose events the consumer's rule lets through."""
    pattern = service.event_pattern() or {}
    return [
        s
        for s in replay.publishers(services)
        if any(replay.matches(pattern, s.source, e.event_type) for e in s.publishes)
    ]


def pruned_sources(sources: Iterable[Service]) -> dict[str, datetime]:
    """The sources whose outbox has lost events to the retention job, and since when."""
    from lms_platform.db import database

    found = {}
    for source in sources:
        before = retention.horizon(database(source.role)).get("outbox")
        if before is not None:
            found[source.name] = before
    return found


def check(service: Service, services: Iterable[Service]) -> list[Service]:
    """The sources to replay from; ``RebuildRefused`` when the rebuild cannot be complete."""
    if not service.has_consumer:
        raise RebuildRefused(f"the {service.name} service has no consumer")
    if not service.read_model:
        raise RebuildRefused(f"the {service.name} service declares no read model (read_model=)")
    sources = sources_of(service, services)
    pruned = pruned_sources(sources)
    if pruned:
        lost = ", ".join(f"{name} before {when:%Y-%m-%d %H:%M}" for name, when in pruned.items())
        raise RebuildRefused(
            f"events the read model was built from are gone (pruned from the outboxes: {lost}); "
            "a replay cannot rebuild it completely"
        )
    return sources


def rebuild(
    service: Service,
    services: Iterable[Service],
    *,
    consumer: EventConsumer | None = None,
    account: str = "000000000000",
    region: str = "us-east-1",
    progress: Callable[[int], None] | None = None,
) -> Rebuilt:
    """Empty ``service``'s read model and inbox and apply every retained event again."""
    from lms_platform.db import database, sqlstate

    services = tuple(services)
    sources = check(service, services)
    consumer = consumer or consumer_of(service)
    pattern = service.event_pattern() or {}
    db = database(service.role)
    started = time.monotonic()
    for attempt in range(1, LOCK_ATTEMPTS + 1):
        try:
            return _rebuild_once(
                db, service, consumer, sources, pattern, started, account, region, progress
            )
        except Exception as error:
            if sqlstate(error) != LOCK_NOT_AVAILABLE or attempt == LOCK_ATTEMPTS:
                raise
            time.sleep(0.2 * attempt)  # a delivery holds the inbox: let it finish
    raise AssertionError("unreachable")


def _rebuild_once(
    db: Database,
    service: Service,
    consumer: EventConsumer,
    sources: list[Service],
    pattern: dict[str, Any],
    started: float,
    account: str,
    region: str,
    progress: Callable[[int], None] | None,
) -> Rebuilt:
    tables = service.read_model
    with db.unit_of_work() as uow:
        listed = ", ".join(_quoted(t) for t in (*tables, "inbox"))
        uow.execute(f"LOCK TABLE {listed} IN SHARE ROW EXCLUSIVE MODE")
        removed = {t: _count(uow, t) for t in (*tables, "inbox")}
        for table in reversed(tables):
            uow.execute(f"DELETE FROM {_quoted(table)}")
        uow.execute("DELETE FROM inbox")
        events = applied = 0
        for event in replay.from_outboxes(sources):
            if not replay.matches(pattern, event.source, event.detail_type):
                continue
            bus_event = event.bus_event(
                account=account, region=region, replay_name=f"rebuild-{service.name}"
            )
            try:
                applied += consumer.apply_within(uow, bus_event)
            except Exception as error:
                raise EventFailed(event, error) from error
            events += 1
            if progress is not None:
                progress(events)
        counts = {t: _count(uow, t) for t in (*tables, "inbox")}
        uow.commit()
    return Rebuilt(
        service=service.name,
        tables=counts,
        removed=removed,
        events=events,
        applied=applied,
        seconds=time.monotonic() - started,
    )


def _quoted(table: str) -> str:
    if not table.replace("_", "").isalnum():
        raise ValueError(f"not a table name: {table!r}")
    return f'"{table}"'


def _count(uow: UnitOfWork, table: str) -> int:
    row = uow.fetch_one(f"SELECT count(*) AS n FROM {_quoted(table)}")
    return int(row["n"]) if row else 0
