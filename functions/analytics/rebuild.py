"""The aggregates recomputed from the kept snapshots, a day at a time.

The rule (and why): counting is incremental, and a fault in it (a rule fixed, a metric
added) would stay in the counts for ever unless they can be made again from the events.
The snapshots hold every event since the retention horizon, so:

1. A rebuild covers whole ISO weeks, Monday to Sunday (a week's counts need all its days),
   from the first Monday whose snapshots are all still kept: weeks that reach before the
   retention horizon keep the aggregates they have.
2. Each day is one short transaction (REPEATABLE READ): on a Monday, clear the week's
   aggregates and learners; clear the day's; then add the day's snapshots with the SAME
   rules the consumer applies (``metrics.RULES`` turned into SQL here), the day's active
   learners as exact rows, and the gradings of the day that are their submission's newest.
   Days run in order and each moves the rebuild's ``next_day`` in its own transaction, so
   a crash resumes at the day not done.
3. The consumer keeps counting meanwhile. An event committed before the day's transaction
   took its snapshot is recomputed with the rest; one committed after it either waits for
   the day's rows and then adds to the recomputed counts, or touched a row the day then
   changes -- a serialization failure, and the day runs again.
4. One rebuild at a time (one ``rebuilds`` row): the row names the runner entitled to the
   next day (the task, or the ``lms analytics rebuild`` command); a newer rebuild takes
   over, and an older runner stops at its next day.

Locally ``lms analytics rebuild`` runs the days itself with a progress line; with
``--queued`` (and on AWS) the days run as chained tasks on the service's own queue.
"""

from __future__ import annotations

import json
import logging
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from datetime import time as clock
from functools import partial
from typing import Any, Literal

from pydantic import Field

from functions.analytics import metrics, store
from lms_events.envelope import CamelModel
from lms_platform.db import Row, UnitOfWork
from lms_platform.tasks import TaskContext

logger = logging.getLogger(__name__)

TASK = "analytics.rebuild"
Outcome = Literal["continue", "finished", "chained", "stale"]


class RebuildTask(CamelModel):
    rebuild_id: uuid.UUID
    # Nothing else: the rebuild's row says which day is next.
    attempt: int = Field(default=1, ge=1)


# --- the rules as SQL -------------------------------------------------------------------------


def _literal(value: str) -> str:
    return "'" + value.replace("'", "''") + "'"


def _field(name: str) -> str:
    return f"(s.payload->'data'->>{_literal(name)})"


def _branch(rule: metrics.Rule) -> str:
    dimension = (
        f"'course:' || {_field('courseId')}"
        if rule.scope == "course"
        else _literal(metrics.PLATFORM)
    )
    metric = (
        f"{_literal(rule.metric + '.')} || {_field(rule.suffix)}"
        if rule.suffix
        else _literal(rule.metric)
    )
    value = f"CAST({_field(rule.amount)} AS numeric)" if rule.amount else "CAST(1 AS numeric)"
    condition = f"s.event_type = {_literal(rule.event_type)}"
    if rule.when is not None:
        condition += f" AND {_field(rule.when[0])} = {_literal(json.dumps(rule.when[1]))}"
    return f"SELECT {dimension}, {metric}, {value} WHERE {condition}"


_DAY = "s.occurred_at >= :start AND s.occurred_at < :end"
_ADD = """
ON CONFLICT ON CONSTRAINT uq_aggregates_dimension_period_metric DO UPDATE
SET value = a.value + excluded.value, computed_at = now()
"""

# Every rule over the day's snapshots, summed for the day once, then added to the day and
# to its week.
ADD_RULES = f"""
WITH day AS MATERIALIZED (
  SELECT c.dimension, c.metric, sum(c.value) AS value
  FROM event_snapshots s
  CROSS JOIN LATERAL (
    {chr(10).join(("UNION ALL " if n else "") + _branch(r) for n, r in enumerate(metrics.RULES))}
  ) AS c(dimension, metric, value)
  WHERE {_DAY}
  GROUP BY 1, 2
)
INSERT INTO aggregates AS a (dimension, period, metric_name, value)
SELECT d.dimension, p.period, d.metric, d.value
FROM day d CROSS JOIN unnest(CAST(:periods AS text[])) AS p(period)
ORDER BY 1, 2, 3
{_ADD}
"""

_ACTIVITY = ", ".join(_literal(t) for t in sorted(metrics.ACTIVITY_EVENTS))
ADD_LEARNERS = f"""
WITH learners AS (
  INSERT INTO active_learners (period, course_id, user_id)
  SELECT DISTINCT p.period, CAST({_field("courseId")} AS uuid), CAST({_field("userId")} AS uuid)
  FROM event_snapshots s CROSS JOIN unnest(CAST(:periods AS text[])) AS p(period)
  WHERE {_DAY} AND s.event_type IN ({_ACTIVITY})
  ON CONFLICT ON CONSTRAINT pk_active_learners DO NOTHING
  RETURNING period, course_id
)
INSERT INTO aggregates AS a (dimension, period, metric_name, value)
SELECT 'course:' || course_id, period, {_literal(metrics.ACTIVE_LEARNERS)}, count(*)
FROM learners GROUP BY 1, 2 ORDER BY 1, 2
{_ADD}
"""

_GRADE = _literal(metrics.GRADE_EVENT)
_VERSION = "CAST({t}.payload->'data'->>'version' AS integer)"
_PCT = store.GRADE_PCT.format(score=_field("score"), max_score=_field("maxScore"))
# The day's gradings that are their submission's newest among every kept snapshot; kept as
# the submissions' grades, and added to the day's and the week's grade sums.
ADD_GRADES = f"""
WITH newest AS (
  SELECT CAST({_field("submissionId")} AS uuid) AS submission_id,
         CAST({_field("courseId")} AS uuid) AS course_id,
         {_VERSION.format(t="s")} AS version, s.event_id, {_PCT} AS pct
  FROM event_snapshots s
  -- A probe of the grades index per grading of the day (as a lateral join with a limit:
  -- written as NOT EXISTS, the planner hashes every grading ever kept instead).
  LEFT JOIN LATERAL (
    SELECT 1 AS found FROM event_snapshots n
    WHERE n.event_type = {_GRADE}
      AND (n.payload->'data'->>'submissionId') = {_field("submissionId")}
      AND ({_VERSION.format(t="n")}, n.event_id) > ({_VERSION.format(t="s")}, s.event_id)
    LIMIT 1
  ) AS newer ON true
  WHERE {_DAY} AND s.event_type = {_GRADE} AND newer.found IS NULL
), kept AS (
  INSERT INTO submission_grades AS g (submission_id, course_id, version, event_id, day, week, pct)
  SELECT submission_id, course_id, version, event_id, :day, :week, pct FROM newest
  ON CONFLICT (submission_id) DO UPDATE SET
    version = excluded.version, event_id = excluded.event_id, day = excluded.day,
    week = excluded.week, pct = excluded.pct
  WHERE (g.version, g.event_id) < (excluded.version, excluded.event_id)
)
INSERT INTO aggregates AS a (dimension, period, metric_name, value)
SELECT 'course:' || n.course_id, p.period, m.metric, sum(CASE m.metric
         WHEN {_literal(metrics.GRADE_SUM)} THEN n.pct ELSE 1 END)
FROM newest n
CROSS JOIN unnest(CAST(:periods AS text[])) AS p(period)
CROSS JOIN (VALUES ({_literal(metrics.GRADE_SUM)}), ({_literal(metrics.GRADE_COUNT)})) AS m(metric)
GROUP BY 1, 2, 3 ORDER BY 1, 2, 3
{_ADD}
"""


# --- starting -------------------------------------------------------------------------------


class NothingToRebuild(Exception):
    """The asked range holds no whole week whose snapshots are all kept."""


@dataclass(frozen=True)
class Plan:
    rebuild_id: uuid.UUID
    from_day: date
    to_day: date

    @property
    def days(self) -> int:
        return (self.to_day - self.from_day).days + 1


EARLIEST = "SELECT min(occurred_at) AS first FROM event_snapshots"


def plan(from_day: date | None, to_day: date | None, *, today: date | None = None) -> Plan:
    """Whole weeks covering ``from_day``..``to_day`` (by default every kept snapshot to
    today), starting no earlier than the first Monday on or after the retention horizon."""
    database = store.db()
    today = today or datetime.now(UTC).date()
    kept = database.read_one(store.KEPT_FROM)
    horizon = kept["kept_from"] if kept else None
    if from_day is None:
        first = database.read_one(EARLIEST)
        found = first["first"] if first else None
        from_day = found.astimezone(UTC).date() if isinstance(found, datetime) else today
    to_day = to_day or today
    start = metrics.monday(from_day)
    if horizon is not None and start < horizon:
        start = metrics.monday(horizon + timedelta(days=6))  # the first Monday >= horizon
    end = metrics.monday(to_day) + timedelta(days=6)
    if start > end:
        raise NothingToRebuild(
            f"no whole week from {from_day} to {to_day} has all its snapshots (kept from {horizon})"
        )
    return Plan(uuid.uuid4(), start, end)


def start_queued(chosen: Plan) -> uuid.UUID:
    """Start the rebuild as tasks on the service's own queue; the first task's id."""

    def work(uow: UnitOfWork) -> uuid.UUID:
        payload = RebuildTask(rebuild_id=chosen.rebuild_id)
        task_id = uow.outbox.add_task(TASK, payload.model_dump(mode="json", by_alias=True))
        _start(uow, chosen, task_id)
        uow.commit()
        return task_id

    return store.db().transaction(work)


def start_here(chosen: Plan) -> uuid.UUID:
    """Start the rebuild to be run by this process (``run_here``); the runner's id."""
    runner = uuid.uuid4()

    def work(uow: UnitOfWork) -> None:
        _start(uow, chosen, runner)
        uow.commit()

    store.db().transaction(work)
    return runner


def _start(uow: UnitOfWork, chosen: Plan, runner: uuid.UUID) -> None:
    uow.execute(
        store.START_REBUILD,
        rebuild_id=chosen.rebuild_id,
        from_day=chosen.from_day,
        to_day=chosen.to_day,
        runner_id=runner,
    )


def status() -> Row | None:
    return store.db().read_one(store.READ_REBUILD)


# --- running --------------------------------------------------------------------------------


@dataclass
class DayDone:
    day: date
    snapshots: int
    outcome: Outcome


def run_here(runner: uuid.UUID, progress: Callable[[DayDone, Row], None] | None = None) -> int:
    """Every remaining day, in this process; the snapshots counted."""
    total = 0
    while True:
        done = store.db().transaction(
            partial(_day, runner=runner, rebuild_id=None, chain=None),
            isolation="REPEATABLE READ",
            attempts=20,
        )
        if done.outcome == "stale":
            return total
        total += done.snapshots
        if progress is not None:
            row = status()
            assert row is not None
            progress(done, row)
        if done.outcome == "finished":
            return total


def run(context: TaskContext) -> None:
    """The task handler: days until the rebuild is done, taken over, or time is short."""
    task = RebuildTask.model_validate(context.task.payload)
    started, days, snapshots, longest = time.perf_counter(), 0, 0, 0.0
    outcome: Outcome = "continue"
    runner = context.task.id
    while outcome == "continue":
        began = time.perf_counter()
        # Without the time for another day (as long as the longest so far), this day's
        # transaction hands the rest to the next task.
        short = context.seconds_left() < 2 * max(longest, 0.5)
        done = store.db().transaction(
            partial(_day, runner=runner, rebuild_id=task.rebuild_id, chain=short),
            isolation="REPEATABLE READ",
            attempts=20,
        )
        longest = max(longest, time.perf_counter() - began)
        outcome = done.outcome
        if outcome != "stale":
            days += 1
            snapshots += done.snapshots
    logger.info(
        "rebuild slice %s",
        outcome,
        extra={
            "rebuild_id": str(task.rebuild_id),
            "task_id": str(runner),
            "days": days,
            "snapshots": snapshots,
            "longest_day_ms": round(longest * 1000, 1),
            "seconds": round(time.perf_counter() - started, 3),
        },
    )


def _day(
    uow: UnitOfWork, runner: uuid.UUID, rebuild_id: uuid.UUID | None, chain: bool | None
) -> DayDone:
    row = uow.fetch_one(store.LOCK_REBUILD)
    if (
        row is None
        or row["finished_at"] is not None
        or str(row["runner_id"]) != str(runner)
        or (rebuild_id is not None and str(row["rebuild_id"]) != str(rebuild_id))
    ):
        uow.commit()
        return DayDone(date.min, 0, "stale")
    day: date = row["next_day"]
    snapshots = recompute_day(uow, day)
    following = day + timedelta(days=1)
    finished = following > row["to_day"]
    next_runner = runner
    if chain and not finished:
        payload = RebuildTask(rebuild_id=row["rebuild_id"])
        next_runner = uow.outbox.add_task(TASK, payload.model_dump(mode="json", by_alias=True))
    uow.execute(
        store.ADVANCE_REBUILD, next_day=following, snapshots=snapshots, runner_id=next_runner
    )
    uow.commit()
    outcome: Outcome = (
        "finished" if finished else "chained" if next_runner != runner else "continue"
    )
    return DayDone(day, snapshots, outcome)


def recompute_day(uow: UnitOfWork, day: date) -> int:
    """One day's aggregates (and, on a Monday, its week's) made again from its snapshots."""
    day_text, week = metrics.day_of(_midnight(day)), metrics.week_of(day)
    clear = [day_text, week] if day.weekday() == 0 else [day_text]
    uow.execute(store.CLEAR_PERIODS, periods=clear)
    uow.execute(store.CLEAR_LEARNERS, periods=clear)
    window = {
        "start": _midnight(day),
        "end": _midnight(day + timedelta(days=1)),
        "periods": [day_text, week],
    }
    uow.execute(ADD_RULES, **window)
    uow.execute(ADD_LEARNERS, **window)
    uow.execute(ADD_GRADES, day=day_text, week=week, **window)
    found = uow.fetch_one(store.COUNT_DAY, start=window["start"], end=window["end"])
    return int(found["n"]) if found else 0


def _midnight(day: date) -> datetime:
    return datetime.combine(day, clock.min, tzinfo=UTC)


def describe(row: Any) -> dict[str, Any]:
    """The rebuild's progress, for the operator."""
    total = (row["to_day"] - row["from_day"]).days + 1
    done = min(total, (row["next_day"] - row["from_day"]).days)
    return {"from": row["from_day"], "to": row["to_day"], "days": total, "done": done,
            "snapshots": row["snapshots"], "finished": row["finished_at"] is not None}  # fmt: skip
