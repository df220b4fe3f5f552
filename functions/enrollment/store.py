"""The Enrollment service's SQL. Each read is one statement (one round trip once prepared).

Progress is never incremented: ``progress_pct`` is recomputed from rows, as the completed
lessons that are still in the course over the lessons in the course. An enrollment's
status follows from the same rows (see ``use_cases`` for the rule and why).
"""

from __future__ import annotations

from lms_platform.db import Database, database

ROLE = "lms_enrollment"


def db() -> Database:
    return database(ROLE)


_ENROLLMENT_COLUMNS = (
    "e.id, e.user_id, e.course_id, e.status, e.progress_pct, e.completed_at, e.enrolled_at, "
    "e.updated_at"
)

# --- progress recomputed after a course's lessons change (see ``recompute``) -----------------

# A recompute starts (or starts over, for a newer lesson list) from the first enrollment.
START_RECOMPUTE = """
INSERT INTO outline_recomputes (course_id, outline_version, task_id, after_enrollment_id)
VALUES (:course_id, :outline_version, :task_id, :start)
ON CONFLICT (course_id) DO UPDATE SET
  outline_version = excluded.outline_version, task_id = excluded.task_id,
  after_enrollment_id = excluded.after_enrollment_id, chunks = 0, enrollments = 0,
  changed = 0, started_at = now(), updated_at = now(), finished_at = NULL
"""

# Each chunk first locks the course's recompute row: chunks of one course take turns, and
# a newer lesson list (which starts the recompute over) waits for the chunk under way.
LOCK_RECOMPUTE = """
SELECT outline_version, task_id, after_enrollment_id, finished_at
FROM outline_recomputes WHERE course_id = :course_id
FOR UPDATE
"""

# The next chunk of the course's enrollments in id order, locked before their progress is
# recomputed: a completion committed meanwhile is then seen by the recomputation's fresh
# snapshot, and one not yet committed waits for the chunk.
LOCK_CHUNK = """
WITH locked AS MATERIALIZED (
  SELECT id FROM enrollments
  WHERE course_id = :course_id AND id > :after
  ORDER BY id
  LIMIT :size
  FOR UPDATE
)
SELECT count(*) AS n, (SELECT id FROM locked ORDER BY id DESC LIMIT 1) AS last_id FROM locked
"""

ADVANCE_RECOMPUTE = """
UPDATE outline_recomputes SET
  after_enrollment_id = :after, chunks = chunks + 1, enrollments = enrollments + :rows,
  changed = changed + :changed, task_id = :task_id, chunk_size = :size, updated_at = now(),
  finished_at = CASE WHEN :finished THEN now() END
WHERE course_id = :course_id
"""

# The operator's view: each running recompute and how many enrollments it has still to do.
RECOMPUTES_RUNNING = """
SELECT r.course_id, c.title, r.outline_version, c.outline_version AS kept_version,
  r.chunks, r.chunk_size, r.enrollments, r.changed, r.started_at, r.updated_at, r.finished_at,
  now() AS now,
  (SELECT count(*) FROM enrollments e
   WHERE e.course_id = r.course_id AND e.id > r.after_enrollment_id) AS remaining
FROM outline_recomputes r LEFT JOIN courses c ON c.id = r.course_id
WHERE r.finished_at IS NULL
ORDER BY r.started_at
"""

# Progress and status from rows, for the enrollments in {scope}; only rows that change are
# written, each with its version raised. Returns each changed enrollment with the status it
# had before. MATERIALIZED: inlined, the count of each enrollment's lessons would be run
# once for every place the UPDATE uses it (five), and the course's total once per row.
_RECOMPUTE = """
WITH total AS MATERIALIZED (
  SELECT count(*) AS n FROM course_lessons WHERE course_id = :course_id
), done AS MATERIALIZED (
  SELECT e.id, e.status AS old_status,
    (SELECT count(*) FROM lesson_progress lp
     JOIN course_lessons cl ON cl.course_id = e.course_id AND cl.lesson_id = lp.lesson_id
     WHERE lp.enrollment_id = e.id AND lp.completed_at IS NOT NULL) AS n
  FROM enrollments e WHERE {scope}
), computed AS MATERIALIZED (
  SELECT d.id, d.old_status,
    CASE WHEN t.n = 0 THEN 0 ELSE round(100.0 * d.n / t.n, 2) END AS pct,
    t.n > 0 AND d.n = t.n AS finished
  FROM done d, total t
)
UPDATE enrollments e SET
  progress_pct = c.pct,
  status = CASE WHEN e.status = 'CANCELLED' THEN e.status
                WHEN c.finished THEN 'COMPLETED' ELSE 'ACTIVE' END,
  completed_at = CASE WHEN e.status = 'CANCELLED' THEN e.completed_at
                      WHEN c.finished THEN COALESCE(e.completed_at, now()) END,
  updated_at = now(),
  version = e.version + 1
FROM computed c
WHERE e.id = c.id
  AND (e.progress_pct <> c.pct
       OR (e.status <> 'CANCELLED' AND (e.status = 'COMPLETED') <> c.finished))
RETURNING e.id, e.user_id, e.course_id, e.status, c.old_status, e.progress_pct, e.completed_at,
  e.version
"""
# One chunk: the course's enrollments after the keyset ``after`` up to ``last``, inclusive.
RECOMPUTE_CHUNK = _RECOMPUTE.format(
    scope="e.course_id = :course_id AND e.id > :after AND e.id <= :last"
)
RECOMPUTE_ENROLLMENT = _RECOMPUTE.format(scope="e.id = :enrollment_id")

# --- enrolling ------------------------------------------------------------------------------

# The course, and whether the caller is subscribed at ``now`` (``subscriptions.now``, the
# function's clock, which tests move): a paid period not yet ended covers them.
COURSE_FOR_ENROLLING = """
SELECT c.id, c.status, c.requires_subscription,
  (SELECT lesson_id FROM course_lessons cl WHERE cl.course_id = c.id
   ORDER BY cl.position LIMIT 1) AS first_lesson_id,
  EXISTS (SELECT 1 FROM subscription_periods s
          WHERE s.user_id = :user_id
            AND (s.covers_until IS NULL OR s.covers_until > CAST(:now AS timestamptz)))
    AS subscribed
FROM courses c WHERE c.id = :course_id
"""

# A new enrollment, or a cancelled one taken up again; nothing when already enrolled.
ENROLL = """
INSERT INTO enrollments (id, user_id, course_id) VALUES (:id, :user_id, :course_id)
ON CONFLICT ON CONSTRAINT uq_enrollments_user_course DO UPDATE SET
  status = 'ACTIVE', enrolled_at = now(), completed_at = NULL, updated_at = now(),
  version = enrollments.version + 1
WHERE enrollments.status = 'CANCELLED'
RETURNING id, enrolled_at, version, (xmax = 0) AS created
"""

START_LESSON = """
INSERT INTO lesson_progress (id, enrollment_id, lesson_id) VALUES (:id, :enrollment_id, :lesson_id)
ON CONFLICT ON CONSTRAINT uq_lesson_progress_enrollment_lesson DO NOTHING
"""

# --- completing a lesson --------------------------------------------------------------------

LOCK_ENROLLMENT = f"""
SELECT {_ENROLLMENT_COLUMNS},
  EXISTS (SELECT 1 FROM course_lessons cl
          WHERE cl.course_id = e.course_id AND cl.lesson_id = :lesson_id) AS lesson_in_course
FROM enrollments e WHERE e.id = :enrollment_id
FOR UPDATE OF e
"""

# A student's enrollment in a course, locked as LOCK_ENROLLMENT does: a lesson completed on
# their behalf (a quiz passed) takes the same path as their own completion.
LOCK_STUDENT_ENROLLMENT = f"""
SELECT {_ENROLLMENT_COLUMNS},
  EXISTS (SELECT 1 FROM course_lessons cl
          WHERE cl.course_id = e.course_id AND cl.lesson_id = :lesson_id) AS lesson_in_course
FROM enrollments e WHERE e.user_id = :user_id AND e.course_id = :course_id
FOR UPDATE OF e
"""

# The lesson marked done and the enrollment recomputed against the course's lessons as kept
# now (whatever the chunks of a recompute have reached), in one statement. The status
# follows from the same rows (the caller has refused a cancelled enrollment). The
# statement's snapshot does not see the row it marks, so that row is counted from
# ``marked``; nothing is written, and nothing returned, when the lesson was already done.
COMPLETE_LESSON = """
WITH marked AS (
  INSERT INTO lesson_progress (id, enrollment_id, lesson_id, completed_at, updated_at)
  VALUES (:id, :enrollment_id, :lesson_id, now(), now())
  ON CONFLICT ON CONSTRAINT uq_lesson_progress_enrollment_lesson DO UPDATE SET
    completed_at = now(), updated_at = now()
  WHERE lesson_progress.completed_at IS NULL
  RETURNING completed_at
), total AS (
  SELECT count(*) AS n FROM course_lessons WHERE course_id = :course_id
), done AS (
  SELECT count(*) + (SELECT count(*) FROM marked) AS n
  FROM lesson_progress lp
  JOIN course_lessons cl ON cl.course_id = :course_id AND cl.lesson_id = lp.lesson_id
  WHERE lp.enrollment_id = :enrollment_id AND lp.completed_at IS NOT NULL
)
UPDATE enrollments e SET
  progress_pct = CASE WHEN total.n = 0 THEN 0 ELSE round(100.0 * done.n / total.n, 2) END,
  status = CASE WHEN total.n > 0 AND done.n = total.n THEN 'COMPLETED' ELSE 'ACTIVE' END,
  completed_at = CASE WHEN total.n > 0 AND done.n = total.n
                      THEN COALESCE(e.completed_at, now()) END,
  updated_at = now(),
  version = e.version + 1
FROM total, done
WHERE e.id = :enrollment_id AND EXISTS (SELECT 1 FROM marked)
RETURNING e.status, e.progress_pct, e.completed_at, e.version,
  (SELECT completed_at FROM marked) AS lesson_completed_at
"""

# --- cancelling -----------------------------------------------------------------------------

LOCK_FOR_CANCEL = f"""
SELECT {_ENROLLMENT_COLUMNS},
  EXISTS (SELECT 1 FROM course_instructors ci
          WHERE ci.course_id = e.course_id AND ci.user_id = :user_id AND ci.active) AS is_instructor
FROM enrollments e WHERE e.id = :enrollment_id
FOR UPDATE OF e
"""

CANCEL = """
UPDATE enrollments SET status = 'CANCELLED', updated_at = now(), version = version + 1
WHERE id = :enrollment_id
RETURNING version
"""

# --- reading --------------------------------------------------------------------------------

# One enrollment with every lesson of its course, in order, and the caller's standing.
ENROLLMENT_DETAIL = f"""
SELECT {_ENROLLMENT_COLUMNS}, c.title AS course_title,
  EXISTS (SELECT 1 FROM course_instructors ci
          WHERE ci.course_id = e.course_id AND ci.user_id = :user_id AND ci.active)
    AS is_instructor,
  COALESCE((
    SELECT json_agg(json_build_object(
             'lessonId', cl.lesson_id, 'position', cl.position,
             'completedAt', lp.completed_at, 'updatedAt', lp.updated_at)
           ORDER BY cl.position)
    FROM course_lessons cl
    LEFT JOIN lesson_progress lp ON lp.enrollment_id = e.id AND lp.lesson_id = cl.lesson_id
    WHERE cl.course_id = e.course_id
  ), '[]') AS lessons
FROM enrollments e LEFT JOIN courses c ON c.id = e.course_id
WHERE e.id = :enrollment_id
"""

_LIST_COLUMNS = f"{_ENROLLMENT_COLUMNS}, c.title AS course_title"

# Keyset pages newest first on (enrolled_at, id). One statement per shape (with or without
# a status, first page or after a cursor), so each matches its index in a generic plan too.
_MY_ENROLLMENTS = f"""
SELECT {_LIST_COLUMNS}
FROM enrollments e LEFT JOIN courses c ON c.id = e.course_id
WHERE e.user_id = :user_id {{status}} {{after}}
ORDER BY e.enrolled_at DESC, e.id DESC
LIMIT :limit
"""
_STATUS = "AND e.status = :status"
_AFTER = "AND (e.enrolled_at, e.id) < (CAST(:enrolled_at AS timestamptz), CAST(:after_id AS uuid))"
MY_ENROLLMENTS = _MY_ENROLLMENTS.format(status="", after="")
MY_ENROLLMENTS_AFTER = _MY_ENROLLMENTS.format(status="", after=_AFTER)
MY_ENROLLMENTS_BY_STATUS = _MY_ENROLLMENTS.format(status=_STATUS, after="")
MY_ENROLLMENTS_BY_STATUS_AFTER = _MY_ENROLLMENTS.format(status=_STATUS, after=_AFTER)

COURSE_MEMBERSHIP = """
SELECT c.id,
  EXISTS (SELECT 1 FROM course_instructors ci
          WHERE ci.course_id = c.id AND ci.user_id = :user_id AND ci.active) AS is_instructor
FROM courses c WHERE c.id = :course_id AND c.status IS NOT NULL
"""

_COURSE_ENROLLMENTS = f"""
SELECT {_LIST_COLUMNS}
FROM enrollments e LEFT JOIN courses c ON c.id = e.course_id
WHERE e.course_id = :course_id {{after}}
ORDER BY e.enrolled_at DESC, e.id DESC
LIMIT :limit
"""
COURSE_ENROLLMENTS = _COURSE_ENROLLMENTS.format(after="")
COURSE_ENROLLMENTS_AFTER = _COURSE_ENROLLMENTS.format(after=_AFTER)

# --- lessons completed by grades (``grades``) -----------------------------------------------

# A student's enrollment in a course, locked as LOCK_ENROLLMENT locks it by id.
LOCK_STUDENT_ENROLLMENT = f"""
SELECT {_ENROLLMENT_COLUMNS},
  EXISTS (SELECT 1 FROM course_lessons cl
          WHERE cl.course_id = e.course_id AND cl.lesson_id = :lesson_id) AS lesson_in_course
FROM enrollments e WHERE e.user_id = :user_id AND e.course_id = :course_id
FOR UPDATE OF e
"""

# The lesson marked done and nothing recomputed: for a cancelled enrollment (enrolling again
# recomputes it) or a lesson the read model does not know yet (the recompute that follows
# the lesson list counts it); a lesson outside the course counts for nothing.
MARK_LESSON_DONE = """
INSERT INTO lesson_progress (id, enrollment_id, lesson_id, completed_at, updated_at)
VALUES (:id, :enrollment_id, :lesson_id, now(), now())
ON CONFLICT ON CONSTRAINT uq_lesson_progress_enrollment_lesson DO UPDATE SET
  completed_at = now(), updated_at = now()
WHERE lesson_progress.completed_at IS NULL
"""


# --- subscriptions (see ``subscriptions``) ------------------------------------------------------

# A paid invoice's period, once (a repeat changes nothing). Months and years are calendar
# ones counted in UTC (31 January + 1 month = 28 February); ``once`` covers for ever (null).
ADD_SUBSCRIPTION_PERIOD = """
INSERT INTO subscription_periods (invoice_id, user_id, plan_id, plan_interval, paid_at,
  covers_until)
VALUES (:invoice_id, :user_id, :plan_id, :plan_interval, :paid_at,
  CASE CAST(:plan_interval AS text)
    WHEN 'month' THEN (CAST(:paid_at AS timestamptz) AT TIME ZONE 'UTC' + interval '1 month')
                      AT TIME ZONE 'UTC'
    WHEN 'year' THEN (CAST(:paid_at AS timestamptz) AT TIME ZONE 'UTC' + interval '1 year')
                     AT TIME ZONE 'UTC'
  END)
ON CONFLICT (invoice_id) DO NOTHING
"""
