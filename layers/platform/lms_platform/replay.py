"""Events delivered again: read back from the outboxes (locally), or replayed from the bus's
archive (on AWS, EventBridge StartReplay).

An outbox keeps its published rows for the retention period (``lms_platform.retention``),
so the events a service sent can be read back in the order they occurred and handed to
consumers once more. The inboxes make that harmless: an event a consumer already applied
finds its ``(event_id, handler)`` row and changes nothing.
"""

from __future__ import annotations

import heapq
import json
import uuid
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from lms_platform.db import Database
    from lms_platform.service import Service

# Rows read per statement: a page of a keyset walk along ix_outbox_published.
PAGE = 500
_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
_NIL = uuid.UUID(int=0)
_FAR = datetime(9999, 1, 1, tzinfo=UTC)

_RETAINED = """
SELECT id, source, event_type, detail::text AS detail, occurred_at FROM outbox
WHERE published_at IS NOT NULL AND destination = 'bus'
  AND occurred_at >= :since AND occurred_at < :until
  AND (occurred_at, id) > (:after_at, :after_id)
ORDER BY occurred_at, id
LIMIT :page
"""


@dataclass(frozen=True)
class RetainedEvent:
    """A published event as its outbox keeps it."""

    id: uuid.UUID
    source: str
    detail_type: str
    detail: str  # the envelope, JSON
    occurred_at: datetime

    @property
    def order(self) -> tuple[datetime, uuid.UUID]:
        return self.occurred_at, self.id

    def bus_event(self, *, account: str, region: str, replay_name: str) -> dict[str, Any]:
        """The event as a rule delivers it to a queue, marked as a replay (as EventBridge
        marks the events of an archive replay with ``replay-name``)."""
        return {
            "version": "0",
            "id": str(uuid.uuid4()),  # EventBridge gives a replayed event a new id too
            "detail-type": self.detail_type,
            "source": self.source,
            "account": account,
            "time": self.occurred_at.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ"),
            "region": region,
            "resources": [],
            "detail": json.loads(self.detail),
            "replay-name": replay_name,
        }


def retained(
    db: Database,
    *,
    since: datetime | None = None,
    until: datetime | None = None,
    page: int = PAGE,
) -> Iterator[RetainedEvent]:
    """One outbox's published events that occurred in ``[since, until)``, oldest first."""
    after: tuple[datetime, uuid.UUID] = (_EPOCH, _NIL)
    while True:
        rows = db.read(
            _RETAINED,
            since=since or _EPOCH,
            until=until or _FAR,
            after_at=after[0],
            after_id=after[1],
            page=page,
        )
        for row in rows:
            yield RetainedEvent(
                id=row["id"],
                source=str(row["source"]),
                detail_type=str(row["event_type"]),
                detail=str(row["detail"]),
                occurred_at=row["occurred_at"],
            )
        if len(rows) < page:
            return
        after = (rows[-1]["occurred_at"], rows[-1]["id"])


def merged(streams: Iterable[Iterator[RetainedEvent]]) -> Iterator[RetainedEvent]:
    """Several outboxes' events as one stream in the order they occurred."""
    return heapq.merge(*streams, key=lambda e: e.order)


def publishers(services: Iterable[Service], source: str | None = None) -> list[Service]:
    """The services whose outbox holds events (of ``source``, when given)."""
    return [s for s in services if s.publishes and (source is None or s.source == source)]


def from_outboxes(
    services: Iterable[Service],
    *,
    since: datetime | None = None,
    until: datetime | None = None,
    source: str | None = None,
) -> Iterator[RetainedEvent]:
    """Every retained event of the given services (of ``source``), in occurred order."""
    from lms_platform.db import database

    return merged(
        retained(database(s.role), since=since, until=until) for s in publishers(services, source)
    )


def matches(pattern: dict[str, Any], source: str, detail_type: str) -> bool:
    """Whether an event fits a rule pattern of the forms the declarations make
    (``Service.event_pattern``): listed values, or a ``prefix``."""

    def fits(values: Sequence[Any] | None, value: str) -> bool:
        if values is None:
            return True
        for wanted in values:
            if isinstance(wanted, str) and wanted == value:
                return True
            if isinstance(wanted, dict) and value.startswith(str(wanted.get("prefix", "\0"))):
                return True
        return False

    return fits(pattern.get("source"), source) and fits(pattern.get("detail-type"), detail_type)


# --- on AWS: the bus's archive ---------------------------------------------------------------


@dataclass(frozen=True)
class ArchiveReplay:
    name: str
    arn: str
    state: str
    rules: tuple[str, ...]


def start_archive_replay(
    events: Any,
    *,
    bus: str,
    archive: str,
    rules: Sequence[str],
    since: datetime,
    until: datetime,
    name: str | None = None,
) -> ArchiveReplay:
    """EventBridge StartReplay of ``archive`` onto ``bus``, to the named ``rules`` only
    (``Destination.FilterArns``): the consumers' rules, not whatever else listens."""
    bus_arn = events.describe_event_bus(Name=bus)["Arn"]
    archive_arn = events.describe_archive(ArchiveName=archive)["ArchiveArn"]
    rule_arns = [events.describe_rule(Name=r, EventBusName=bus)["Arn"] for r in rules]
    name = name or f"lms-replay-{datetime.now(UTC):%Y%m%dT%H%M%S}-{uuid.uuid4().hex[:6]}"
    answer = events.start_replay(
        ReplayName=name,
        Description=f"lms replay to {', '.join(rules)}",
        EventSourceArn=archive_arn,
        EventStartTime=since,
        EventEndTime=until,
        Destination={"Arn": bus_arn, "FilterArns": rule_arns},
    )
    return ArchiveReplay(name, str(answer["ReplayArn"]), str(answer["State"]), tuple(rules))
