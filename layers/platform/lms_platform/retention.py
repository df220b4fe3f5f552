"""Outbox and inbox rows do not grow without end: what is older than the retention period
is deleted, a bounded batch per short transaction, by a job the platform gives every
service that keeps them (``topology.jobs``; hourly on AWS and under ``lms run``).

- A published outbox row is kept for the retention period so that ``lms replay`` can send
  it again locally (on AWS the bus's archive serves replays); an unpublished one is never
  deleted: the relay still owes it to the bus.
- An inbox row is what makes a repeated delivery harmless, so it is kept longer than any
  event can still arrive again: ``settings.event_retention_days`` must exceed
  ``topology.redelivery_window_days()`` (the archive's 90 days); the job refuses to run
  with a shorter setting.
- Each table records the time before which rows may have been deleted
  (``event_retention``): a rebuild from a replay needs every event and refuses after that.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from datetime import datetime
from typing import TYPE_CHECKING, Any

from lms_platform.settings import get_settings

if TYPE_CHECKING:
    from lms_platform.db import Database, UnitOfWork

# Rows per transaction: each delete is a few milliseconds and holds its locks no longer.
BATCH = 1000
# Time a run may spend before it leaves the rest for the next one (the job's timeout is 120 s).
BUDGET_SECONDS = 90.0

_CUTOFF = "SELECT now() - make_interval(secs => :seconds) AS cutoff"
# The oldest first, along ix_outbox_published. A row published late (the relay was down)
# is kept until its publication too is older than the cutoff: the archive holds it from then.
# SKIP LOCKED: two runs at once take different rows instead of waiting on each other.
_DELETE_OUTBOX = """
WITH doomed AS (
    SELECT id FROM outbox
    WHERE published_at IS NOT NULL AND occurred_at < :cutoff AND published_at < :cutoff
    ORDER BY occurred_at
    LIMIT :batch
    FOR UPDATE SKIP LOCKED
)
DELETE FROM outbox USING doomed WHERE outbox.id = doomed.id
"""
_DELETE_INBOX = """
WITH doomed AS (
    SELECT event_id, handler FROM inbox
    WHERE received_at < :cutoff
    ORDER BY received_at
    LIMIT :batch
    FOR UPDATE SKIP LOCKED
)
DELETE FROM inbox USING doomed
WHERE inbox.event_id = doomed.event_id AND inbox.handler = doomed.handler
"""
_RECORD = """
INSERT INTO event_retention (kind, pruned_before) VALUES (:kind, :cutoff)
ON CONFLICT (kind) DO UPDATE
SET pruned_before = GREATEST(event_retention.pruned_before, excluded.pruned_before)
"""
_HORIZON = "SELECT kind, pruned_before FROM event_retention"

_DELETES = {"outbox": _DELETE_OUTBOX, "inbox": _DELETE_INBOX}


@dataclass(frozen=True)
class Pruned:
    outbox: int
    inbox: int
    finished: bool  # False: the budget ran out, the next run goes on


class RetentionTooShort(ValueError):
    """The setting would delete inbox rows of events that can still be delivered again."""


def retention_days() -> int:
    """``settings.event_retention_days``, refused when no longer than the redelivery window
    (the job fails, and its errors alarm, rather than delete what still protects a consumer)."""
    from lms_platform.topology import redelivery_window_days

    days = get_settings().event_retention_days
    window = redelivery_window_days()
    if days <= window:
        raise RetentionTooShort(
            f"LMS_EVENT_RETENTION_DAYS={days} must be longer than the {window} days an event "
            "can still be delivered again (the bus archive's retention)"
        )
    return days


def cutoff(db: Database, days: float) -> datetime:
    """The database's now less ``days`` (the database's clock, not this machine's)."""
    row = db.read_one(_CUTOFF, seconds=float(days) * 86400)
    assert row is not None
    found: datetime = row["cutoff"]
    return found


def prune(
    db: Database,
    *,
    before: datetime | None = None,
    batch: int = BATCH,
    budget_seconds: float = BUDGET_SECONDS,
) -> Pruned:
    """Delete published outbox rows and inbox rows written before ``before`` (default: the
    retention period ago); how many of each."""
    if before is None:
        before = cutoff(db, retention_days())
    deadline = time.monotonic() + budget_seconds
    counts = {"outbox": 0, "inbox": 0}
    for kind, statement in _DELETES.items():
        while True:
            if time.monotonic() > deadline:
                return Pruned(counts["outbox"], counts["inbox"], finished=False)

            def delete(uow: UnitOfWork, statement: str = statement, kind: str = kind) -> int:
                deleted = uow.execute(statement, cutoff=before, batch=batch)
                if deleted:
                    uow.execute(_RECORD, kind=kind, cutoff=before)
                uow.commit()
                return deleted

            deleted = db.transaction(delete)
            counts[kind] += deleted
            if deleted < batch:
                break
    return Pruned(counts["outbox"], counts["inbox"], finished=True)


def horizon(db: Database) -> dict[str, datetime]:
    """``{"outbox": t, "inbox": t}``: rows written before ``t`` may have been deleted
    (nothing for a table never pruned)."""
    return {str(r["kind"]): r["pruned_before"] for r in db.read(_HORIZON)}


def handler(event: dict[str, Any], lambda_context: Any) -> dict[str, Any]:
    """The scheduled job of one service (``LMS_SERVICE``)."""
    from lms_platform import observability
    from lms_platform.db import database

    service = get_settings().service
    if not service:
        raise RuntimeError("LMS_SERVICE names the service whose outbox and inbox this job prunes")
    with observability.Invocation("job", service, "retention") as invocation:
        pruned = prune(database(f"lms_{service}"))
        observability.count("OutboxRowsPruned", pruned.outbox)
        observability.count("InboxRowsPruned", pruned.inbox)
        invocation.finish(outbox=pruned.outbox, inbox=pruned.inbox, finished=pruned.finished)
    return {"outbox": pruned.outbox, "inbox": pruned.inbox, "finished": pruned.finished}
