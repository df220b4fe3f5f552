"""The Analytics service's SQL. Each read is one statement (one round trip once prepared).

Aggregates are changed by adding to them (``value = value + excluded.value``), rows in a
fixed order (dimension, period, metric) so that two consumers adding to the same rows
never wait on each other in a circle. Decimals stay ``numeric`` end to end.
"""

from __future__ import annotations

from lms_platform.db import Database, database

ROLE = "lms_analytics"


def db() -> Database:
    return database(ROLE)


# --- counting -------------------------------------------------------------------------------

# A partition for the event's month (made on demand when none holds it yet); false when the
# month was dropped for retention.
ENSURE_PARTITION = "SELECT ensure_snapshot_partition(CAST(:month AS date)) AS kept"

# Nothing returned: this event (the same id at the same time) is already kept.
KEEP_SNAPSHOT = """
INSERT INTO event_snapshots (id, event_id, event_type, aggregate_id, payload, occurred_at)
VALUES (:id, :event_id, :event_type, :aggregate_id, CAST(:payload AS jsonb), :occurred_at)
ON CONFLICT (event_id, occurred_at) DO NOTHING
RETURNING id
"""

# Adds the rules' contributions and, for each (period, course, student) not yet seen, one
# active learner: the inserted rows of active_learners are the only ones RETURNING gives.
ADD = """
WITH learners AS (
  INSERT INTO active_learners (period, course_id, user_id)
  SELECT period, :course_id, :user_id
  FROM unnest(CAST(:learner_periods AS text[])) AS p(period)
  ON CONFLICT ON CONSTRAINT pk_active_learners DO NOTHING
  RETURNING period, course_id
), deltas AS (
  SELECT dimension, period, metric, value
  FROM unnest(CAST(:dimensions AS text[]), CAST(:periods AS text[]),
              CAST(:metrics AS text[]), CAST(:amounts AS numeric[]))
    AS c(dimension, period, metric, value)
  UNION ALL
  SELECT 'course:' || course_id, period, 'activeLearners', 1 FROM learners
)
INSERT INTO aggregates AS a (dimension, period, metric_name, value)
SELECT dimension, period, metric, sum(value) FROM deltas
GROUP BY dimension, period, metric
ORDER BY dimension, period, metric
ON CONFLICT ON CONSTRAINT uq_aggregates_dimension_period_metric DO UPDATE
SET value = a.value + excluded.value, computed_at = now()
"""

# A submission's grading: the one kept is the newest by (version, event), whatever the
# arrival order. The kept row is locked first, so that a concurrent grading of the same
# submission waits and then sees this one. The percentage is computed here, the same way as
# the rebuild computes it.
GRADE_PCT = "round(CAST({score} AS numeric) * 100 / CAST({max_score} AS numeric), 4)"
LOCK_GRADE = """
SELECT day, week, pct FROM submission_grades WHERE submission_id = :submission_id FOR UPDATE
"""
INSERT_GRADE = f"""
INSERT INTO submission_grades (submission_id, course_id, version, event_id, day, week, pct)
VALUES (:submission_id, :course_id, :version, :event_id, :day, :week,
        {GRADE_PCT.format(score=":score", max_score=":max_score")})
ON CONFLICT (submission_id) DO NOTHING
RETURNING pct
"""
UPDATE_GRADE = f"""
UPDATE submission_grades SET version = :version, event_id = :event_id, day = :day,
  week = :week, pct = {GRADE_PCT.format(score=":score", max_score=":max_score")}
WHERE submission_id = :submission_id
  AND (version, event_id) < (CAST(:version AS integer), CAST(:event_id AS uuid))
RETURNING pct
"""

# --- reading --------------------------------------------------------------------------------

# Whether the caller teaches the course, from the read model of courses.
COURSE_STANDING = """
SELECT EXISTS (SELECT 1 FROM courses WHERE id = :course_id) AS known,
       EXISTS (SELECT 1 FROM course_instructors
               WHERE course_id = :course_id AND user_id = :user_id AND active) AS teaches
"""

# A dense series: every asked period, 0 where nothing was counted. One index probe per
# period on the unique (dimension, period, metric_name).
SERIES = """
SELECT p.period, COALESCE(a.value, 0) AS value
FROM unnest(CAST(:periods AS text[])) WITH ORDINALITY AS p(period, n)
LEFT JOIN aggregates a
  ON a.dimension = :dimension AND a.period = p.period AND a.metric_name = :metric
ORDER BY p.n
"""

# --- partitions -----------------------------------------------------------------------------

DROP_PARTITIONS = "SELECT drop_snapshot_partitions_before(CAST(:month AS date)) AS dropped"
KEPT_FROM = "SELECT kept_from FROM snapshot_retention WHERE id = 1"
PARTITIONS = """
SELECT c.relname AS name FROM pg_inherits i JOIN pg_class c ON c.oid = i.inhrelid
WHERE i.inhparent = 'event_snapshots'::regclass ORDER BY c.relname
"""

# --- rebuilding -----------------------------------------------------------------------------

START_REBUILD = """
INSERT INTO rebuilds (id, rebuild_id, from_day, to_day, next_day, runner_id)
VALUES (1, :rebuild_id, :from_day, :to_day, :from_day, :runner_id)
ON CONFLICT (id) DO UPDATE SET
  rebuild_id = excluded.rebuild_id, from_day = excluded.from_day, to_day = excluded.to_day,
  next_day = excluded.next_day, runner_id = excluded.runner_id, snapshots = 0,
  started_at = now(), updated_at = now(), finished_at = NULL
"""
LOCK_REBUILD = "SELECT * FROM rebuilds WHERE id = 1 FOR UPDATE"
READ_REBUILD = "SELECT * FROM rebuilds WHERE id = 1"
ADVANCE_REBUILD = """
UPDATE rebuilds SET next_day = :next_day, snapshots = snapshots + :snapshots,
  runner_id = :runner_id, updated_at = now(),
  finished_at = CASE WHEN :next_day > to_day THEN now() END
WHERE id = 1
"""

CLEAR_PERIODS = "DELETE FROM aggregates WHERE period = ANY(CAST(:periods AS text[]))"
CLEAR_LEARNERS = "DELETE FROM active_learners WHERE period = ANY(CAST(:periods AS text[]))"
COUNT_DAY = """
SELECT count(*) AS n FROM event_snapshots
WHERE occurred_at >= :start AND occurred_at < :end
"""
