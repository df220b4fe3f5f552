"""Every event counted exactly once, in the period it happened.

The rule (and why): delivery is at least once and in any order, and the inbox that drops
repeats is pruned after a while; the snapshot itself is the proof that an event was
counted. In ONE transaction the consumer keeps the event in ``event_snapshots`` (its raw
envelope in ``payload``), and only when that row is new adds what the event contributes
to the aggregates (``metrics``). A repeat finds its snapshot and changes nothing; a crash
before the commit leaves neither the snapshot nor the counts.

Snapshots are partitioned by month of occurrence. ``event_id`` is unique together with
``occurred_at`` (PostgreSQL's rule for unique keys of partitioned tables), which is as
good as unique: every delivery of an event carries the same ``occurredAt``. A month whose
partition was dropped for retention refuses its events: a very late event of such a month
is not counted, since it could not be told apart from a repeat of one already counted.

Grades (``metrics`` module docstring) and active learners are kept as exact sets, so the
counts derived from them do not depend on arrival order either.
"""

from __future__ import annotations

import json
import logging
import threading
import uuid
from collections.abc import Sequence
from contextvars import ContextVar
from datetime import UTC, date, datetime
from decimal import Decimal
from typing import Any

from functions.analytics import metrics, store
from lms_events.envelope import Envelope
from lms_platform import observability
from lms_platform.db import UnitOfWork, sqlstate

logger = logging.getLogger(__name__)

# The event as it arrived (EventBridge ``detail``), set by the consumer for the snapshot:
# the parsed model would drop fields a newer version of the event adds.
raw_detail: ContextVar[dict[str, Any] | None] = ContextVar("raw_detail", default=None)

# Months this execution environment knows to have a partition (one call per month, not one
# per event). A partition dropped since fails the insert; the month is then forgotten.
_months: set[date] = set()
_months_lock = threading.Lock()
NO_PARTITION = "23514"  # check_violation: "no partition of relation ... found for row"


def apply(uow: UnitOfWork, envelope: Envelope[Any]) -> None:
    """The subscription of every event type: keep the snapshot, count it once."""
    detail = raw_detail.get() or envelope.model_dump(mode="json", by_alias=True)
    count(uow, detail, envelope.event_id, envelope.event_type, envelope.occurred_at)


def count(
    uow: UnitOfWork,
    detail: dict[str, Any],
    event_id: uuid.UUID,
    event_type: str,
    occurred_at: datetime,
) -> bool:
    """Keep one event and add what it contributes; False when it was already kept (or its
    month is past retention)."""
    month = occurred_at.astimezone(UTC).date().replace(day=1)
    if not _partition_for(uow, month):
        observability.count("SnapshotsPastRetention")
        logger.warning(
            "event of a month past retention; not counted",
            extra={"event_id": str(event_id), "occurred_at": occurred_at.isoformat()},
        )
        return False
    try:
        kept = uow.fetch_one(
            store.KEEP_SNAPSHOT,
            id=uuid.uuid4(),
            event_id=event_id,
            event_type=event_type,
            aggregate_id=str(detail.get("aggregateId", "")),
            payload=json.dumps(detail),
            occurred_at=occurred_at,
        )
    except Exception as error:
        if sqlstate(error) == NO_PARTITION:
            with _months_lock:
                _months.discard(month)
        raise
    if kept is None:
        return False
    data = detail.get("data") or {}
    found = metrics.contributions(event_type, data, occurred_at)
    if event_type == metrics.GRADE_EVENT:
        found += _grade(uow, data, event_id, occurred_at)
    learner_periods: Sequence[str] = ()
    if event_type in metrics.ACTIVITY_EVENTS:
        learner_periods = metrics.periods_of(occurred_at)
    _add(uow, found, learner_periods, data)
    return True


def _partition_for(uow: UnitOfWork, month: date) -> bool:
    with _months_lock:
        if month in _months:
            return True
    row = uow.fetch_one(store.ENSURE_PARTITION, month=month)
    kept = bool(row and row["kept"])
    if kept:
        with _months_lock:
            _months.add(month)
    return kept


def forget_partitions() -> None:
    """Forget the months known to have a partition (after partitions were dropped)."""
    with _months_lock:
        _months.clear()


def _add(
    uow: UnitOfWork,
    found: list[metrics.Contribution],
    learner_periods: Sequence[str],
    data: dict[str, Any],
) -> None:
    if not found and not learner_periods:
        return
    uow.execute(
        store.ADD,
        dimensions=[c.dimension for c in found],
        periods=[c.period for c in found],
        metrics=[c.metric for c in found],
        amounts=[c.value for c in found],
        learner_periods=list(learner_periods),
        course_id=_uuid(data.get("courseId")) if learner_periods else None,
        user_id=_uuid(data.get("userId")) if learner_periods else None,
    )


def _grade(
    uow: UnitOfWork, data: dict[str, Any], event_id: uuid.UUID, occurred_at: datetime
) -> list[metrics.Contribution]:
    """The newest grading of a submission counts; a newer one takes the older one out of
    its period and puts itself in its own."""
    day, week = metrics.periods_of(occurred_at)
    grading = {
        "submission_id": _uuid(data["submissionId"]),
        "version": int(data["version"]),
        "event_id": event_id,
        "day": day,
        "week": week,
        "score": Decimal(str(data["score"])),
        "max_score": Decimal(str(data["maxScore"])),
    }
    dimension = metrics.course_dimension(data["courseId"])
    before = uow.fetch_one(store.LOCK_GRADE, submission_id=grading["submission_id"])
    if before is None:
        inserted = uow.fetch_one(store.INSERT_GRADE, course_id=_uuid(data["courseId"]), **grading)
        if inserted is not None:
            return _grade_in(dimension, day, week, inserted["pct"])
        # Another grading of the same submission was kept meanwhile: compare with it.
        before = uow.fetch_one(store.LOCK_GRADE, submission_id=grading["submission_id"])
        assert before is not None
    updated = uow.fetch_one(store.UPDATE_GRADE, **grading)
    if updated is None:
        return []  # a newer grading is already counted
    return [
        *_grade_in(dimension, day, week, updated["pct"]),
        *_grade_in(dimension, before["day"], before["week"], before["pct"], sign=-1),
    ]


def _grade_in(
    dimension: str, day: str, week: str, pct: Any, sign: int = 1
) -> list[metrics.Contribution]:
    value = Decimal(str(pct))
    return [
        contribution
        for period in (day, week)
        for contribution in (
            metrics.Contribution(dimension, period, metrics.GRADE_SUM, sign * value),
            metrics.Contribution(dimension, period, metrics.GRADE_COUNT, Decimal(sign)),
        )
    ]


def _uuid(value: Any) -> uuid.UUID | None:
    if value is None:
        return None
    return value if isinstance(value, uuid.UUID) else uuid.UUID(str(value))
