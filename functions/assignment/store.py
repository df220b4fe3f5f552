"""The Assignment service's SQL. Each read is one statement (one round trip once prepared).

Locks, and their order (see ``use_cases`` for why):

- the read model's course row (``courses``), FOR UPDATE, before any change to a course's
  assignments by its teachers: the consumer takes the same row when it keeps a newer
  lesson list or course status, and its hooks then update the course's assignments, so
  an assignment is never written with a lesson or status the hooks have just moved past;
- the read model's enrollment row of the student (``enrollments``), FOR NO KEY UPDATE, by
  every write to that student's submissions or grades in the course: their submissions
  and grades take turns, so none is added after a grade, and each sees the latest;
- the assignment row: FOR KEY SHARE by a submission (it must not be deleted meanwhile),
  FOR SHARE by a grade (its scores must not change meanwhile), FOR UPDATE by a change.

A row locked after a wait is read again by PostgreSQL, but the other rows of the same
statement are not: what must be read after a lock is read by the next statement.
"""

from __future__ import annotations

from lms_platform.db import Database, database

ROLE = "lms_assignment"


def db() -> Database:
    return database(ROLE)


_ASSIGNMENT = (
    "a.id, a.course_id, a.lesson_id, a.title, a.description, a.due_at, a.max_score, "
    "a.passing_score, a.archived_at, a.lesson_removed, a.course_archived, a.created_at, "
    "a.updated_at, a.version"
)

# The caller's standing in a course: whether they teach it (the read model's instructors;
# the role comes from the token), and their enrollment: null when they have none, else
# whether it is cancelled.
_STANDING = """
  EXISTS (SELECT 1 FROM course_instructors ci
          WHERE ci.course_id = {course} AND ci.user_id = :user_id AND ci.active) AS teaches,
  (SELECT e.cancelled FROM enrollments e
   WHERE e.user_id = :user_id AND e.course_id = {course}) AS cancelled"""

# --- courses --------------------------------------------------------------------------------

COURSE_STANDING = f"""
SELECT c.id, c.status, {_STANDING.format(course="c.id")}
FROM courses c WHERE c.id = :course_id AND c.status IS NOT NULL
"""

# The course's row taken before its assignments change (see the module's docstring).
LOCK_COURSE = COURSE_STANDING + "FOR UPDATE OF c\n"

LOCK_COURSE_OF_ASSIGNMENT = """
SELECT c.id, c.status FROM courses c
WHERE c.id = (SELECT course_id FROM assignments WHERE id = :assignment_id)
FOR UPDATE OF c
"""

LESSON_IN_COURSE = """
SELECT EXISTS (SELECT 1 FROM course_lessons
               WHERE course_id = :course_id AND lesson_id = :lesson_id) AS present
"""

# --- assignments ----------------------------------------------------------------------------

INSERT_ASSIGNMENT = f"""
INSERT INTO assignments AS a
  (id, course_id, lesson_id, title, description, due_at, max_score, passing_score)
VALUES (:id, :course_id, CAST(:lesson_id AS uuid), :title, :description,
        CAST(:due_at AS timestamptz), CAST(:max_score AS numeric),
        CAST(:passing_score AS numeric))
RETURNING {_ASSIGNMENT}
"""

ASSIGNMENT_FOR_CALLER = f"""
SELECT {_ASSIGNMENT}, {_STANDING.format(course="a.course_id")}
FROM assignments a WHERE a.id = :assignment_id
"""

LOCK_ASSIGNMENT = ASSIGNMENT_FOR_CALLER + "FOR UPDATE OF a\n"

# The highest score given on the assignment: its maximum may not go below it.
HIGHEST_SCORE = """
SELECT max(g.score) AS highest
FROM submissions s JOIN grades g ON g.submission_id = s.id
WHERE s.assignment_id = :assignment_id
"""

UPDATE_ASSIGNMENT = f"""
UPDATE assignments a SET
  title = :title, description = :description, lesson_id = CAST(:lesson_id AS uuid),
  lesson_removed = :lesson_removed, due_at = CAST(:due_at AS timestamptz),
  max_score = CAST(:max_score AS numeric), passing_score = CAST(:passing_score AS numeric),
  updated_at = now(), version = a.version + 1
WHERE a.id = :assignment_id
RETURNING {_ASSIGNMENT}
"""

ARCHIVE_ASSIGNMENT = f"""
UPDATE assignments a SET archived_at = now(), updated_at = now(), version = a.version + 1
WHERE a.id = :assignment_id AND a.archived_at IS NULL
RETURNING {_ASSIGNMENT}
"""

HAS_SUBMISSIONS = """
SELECT EXISTS (SELECT 1 FROM submissions WHERE assignment_id = :assignment_id) AS any
"""

DELETE_ASSIGNMENT = "DELETE FROM assignments WHERE id = :assignment_id"

# Keyset pages of a course's assignments in the order they were made, on (created_at, id).
_COURSE_ASSIGNMENTS = f"""
SELECT {_ASSIGNMENT} FROM assignments a
WHERE a.course_id = :course_id {{after}}
ORDER BY a.created_at, a.id
LIMIT :limit
"""
COURSE_ASSIGNMENTS = _COURSE_ASSIGNMENTS.format(after="")
COURSE_ASSIGNMENTS_AFTER = _COURSE_ASSIGNMENTS.format(
    after="AND (a.created_at, a.id) > (CAST(:created_at AS timestamptz), CAST(:after_id AS uuid))"
)

# --- what the consumer's hooks do on top of the read model of courses ------------------------

# The course's status as the newest course-level event says: archived closes its
# assignments, published (or draft) again opens them.
FOLLOW_COURSE_STATUS = f"""
UPDATE assignments a SET course_archived = :archived, updated_at = now(),
  version = a.version + 1
WHERE a.course_id = :course_id AND a.course_archived <> :archived
RETURNING {_ASSIGNMENT}
"""

# The course's lessons as the newest lesson list says: an assignment whose lesson is no
# longer in it is closed (and opened again should the lesson come back).
FOLLOW_LESSONS = f"""
UPDATE assignments a SET
  lesson_removed = NOT (a.lesson_id = ANY (CAST(:lesson_ids AS uuid[]))),
  updated_at = now(), version = a.version + 1
WHERE a.course_id = :course_id AND a.lesson_id IS NOT NULL
  AND a.lesson_removed = (a.lesson_id = ANY (CAST(:lesson_ids AS uuid[])))
RETURNING {_ASSIGNMENT}
"""

# --- submitting -----------------------------------------------------------------------------

# The assignment and the caller's enrollment in its course, locked (see the docstring);
# nothing when either is missing.
LOCK_FOR_SUBMITTING = f"""
SELECT {_ASSIGNMENT}, e.cancelled
FROM assignments a
JOIN enrollments e ON e.course_id = a.course_id AND e.user_id = :user_id
WHERE a.id = :assignment_id
FOR KEY SHARE OF a FOR NO KEY UPDATE OF e
"""

# Read after the lock: whether any of the caller's submissions to the assignment is graded,
# and the submission the caller made earlier with this Idempotency-Key (if one).
SUBMIT_CHECKS = """
SELECT EXISTS (SELECT 1 FROM submissions
               WHERE assignment_id = :assignment_id AND user_id = :user_id
                 AND status = 'GRADED') AS graded,
  k.id AS replay_id, k.request_digest
FROM (SELECT 1) AS one
LEFT JOIN submissions k ON k.user_id = :user_id AND k.idempotency_key = CAST(:key AS text)
"""

SUPERSEDE = """
UPDATE submissions SET latest = false
WHERE assignment_id = :assignment_id AND user_id = :user_id AND latest
"""

_SUBMISSION = (
    "s.id, s.assignment_id, s.course_id, s.user_id, s.submitted_at, s.status, s.late, s.latest"
)

# Submitted at the database's clock when the row is written (``statement_timestamp()``: the
# start of this statement, which runs under the student's lock, so a student's submissions
# are stamped in the order they became the latest); LATE when that is after the due date.
INSERT_SUBMISSION = f"""
INSERT INTO submissions AS s
  (id, assignment_id, user_id, course_id, submitted_at, content, status, late, latest,
   idempotency_key, request_digest)
SELECT :id, a.id, :user_id, a.course_id, statement_timestamp(), CAST(:content AS jsonb),
  CASE WHEN statement_timestamp() > a.due_at THEN 'LATE' ELSE 'SUBMITTED' END,
  COALESCE(statement_timestamp() > a.due_at, false),
  true, CAST(:key AS text), CAST(:digest AS text)
FROM assignments a WHERE a.id = :assignment_id
RETURNING {_SUBMISSION}
"""

_GRADE = "g.score, g.feedback, g.passed, g.graded_at, g.graded_by, g.version AS grade_version"

SUBMISSION_FOR_CALLER = f"""
SELECT {_SUBMISSION}, s.content, {_GRADE},
  EXISTS (SELECT 1 FROM course_instructors ci
          WHERE ci.course_id = s.course_id AND ci.user_id = :user_id AND ci.active) AS teaches
FROM submissions s LEFT JOIN grades g ON g.submission_id = s.id
WHERE s.id = :submission_id
"""

# --- grading --------------------------------------------------------------------------------

# The enrollment row of the submission's student: the lock their submissions take too.
LOCK_STUDENT_OF_SUBMISSION = """
SELECT e.id FROM enrollments e
WHERE (e.user_id, e.course_id) =
      (SELECT s.user_id, s.course_id FROM submissions s WHERE s.id = :submission_id)
FOR NO KEY UPDATE OF e
"""

# Read after that lock; the assignment's scores held until the grade commits.
SUBMISSION_FOR_GRADING = f"""
SELECT {_SUBMISSION}, a.lesson_id, a.max_score, a.passing_score,
  {_STANDING.format(course="s.course_id")}
FROM submissions s JOIN assignments a ON a.id = s.assignment_id
WHERE s.id = :submission_id
FOR SHARE OF a
"""

# The grade, or a new version of it; nothing when score, feedback and verdict are those
# already given. The submission becomes GRADED (a separate table: the two writes do not
# depend on each other's order). Stamped like submissions (``statement_timestamp()``, under
# the student's lock): versions and their times go the same way.
GRADE = """
WITH marked AS (
  UPDATE submissions SET status = 'GRADED'
  WHERE id = :submission_id AND status <> 'GRADED'
  RETURNING id
)
INSERT INTO grades AS g
  (id, submission_id, score, feedback, passed, graded_by, graded_at, first_graded_at)
VALUES (:id, :submission_id, CAST(:score AS numeric), :feedback, :passed, :graded_by,
        statement_timestamp(), statement_timestamp())
ON CONFLICT ON CONSTRAINT uq_grades_submission_id DO UPDATE SET
  score = excluded.score, feedback = excluded.feedback, passed = excluded.passed,
  graded_by = excluded.graded_by, graded_at = excluded.graded_at, version = g.version + 1
WHERE (g.score, g.feedback, g.passed)
      IS DISTINCT FROM (excluded.score, excluded.feedback, excluded.passed)
RETURNING g.submission_id, g.score, g.feedback, g.passed, g.graded_at, g.graded_by, g.version
"""

GRADE_OF = """
SELECT submission_id, score, feedback, passed, graded_at, graded_by, version
FROM grades WHERE submission_id = :submission_id
"""

# --- lists of submissions -------------------------------------------------------------------

_LIST_COLUMNS = f"{_SUBMISSION}, g.score, g.passed, g.graded_at"
_AFTER_SUBMISSION = (
    "AND (s.submitted_at, s.id) < (CAST(:submitted_at AS timestamptz), CAST(:after_id AS uuid))"
)


def _assignment_submissions(status: bool, student: bool, latest: bool, after: bool) -> str:
    filters = "".join(
        (
            " AND s.status = :status" if status else "",
            " AND s.user_id = :student_id" if student else "",
            " AND s.latest" if latest else "",
            f" {_AFTER_SUBMISSION}" if after else "",
        )
    )
    return f"""
SELECT {_LIST_COLUMNS}
FROM submissions s LEFT JOIN grades g ON g.submission_id = s.id
WHERE s.assignment_id = :assignment_id{filters}
ORDER BY s.submitted_at DESC, s.id DESC
LIMIT :limit
"""


# An assignment's submissions, newest first on (submitted_at, id): one statement per shape
# (by status, by student, the latest per student only, after a cursor), so that each
# matches its index in a generic plan too. Keyed (status, student, latest, after).
ASSIGNMENT_SUBMISSIONS = {
    (status, student, latest, after): _assignment_submissions(status, student, latest, after)
    for status in (False, True)
    for student in (False, True)
    for latest in (False, True)
    for after in (False, True)
}


def _my_submissions(course: bool, after: bool) -> str:
    filters = (" AND s.course_id = :course_id" if course else "") + (
        f" {_AFTER_SUBMISSION}" if after else ""
    )
    return f"""
SELECT {_LIST_COLUMNS}
FROM submissions s LEFT JOIN grades g ON g.submission_id = s.id
WHERE s.user_id = :user_id{filters}
ORDER BY s.submitted_at DESC, s.id DESC
LIMIT :limit
"""


# The caller's submissions, newest first, in every course or in one. Keyed (course, after).
MY_SUBMISSIONS = {
    (course, after): _my_submissions(course, after)
    for course in (False, True)
    for after in (False, True)
}
