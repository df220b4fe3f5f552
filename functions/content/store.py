"""The Content service's SQL. Each read is one statement (one round trip once prepared).

Who the caller is to a course comes from the read models the consumer keeps in this schema
(``course_instructors`` from Course events, ``enrollments`` from Enrollment events); each
statement that loads an item also answers, in the same round trip, whether the caller
teaches its course (``teaches``) and holds an enrollment in it that is not cancelled
(``enrolled``).
"""

from __future__ import annotations

from lms_platform.db import Database, database

ROLE = "lms_content"


def db() -> Database:
    return database(ROLE)


_STANDING = """
  EXISTS (SELECT 1 FROM course_instructors ci
          WHERE ci.course_id = {course} AND ci.user_id = :user_id AND ci.active) AS teaches,
  EXISTS (SELECT 1 FROM enrollments en
          WHERE en.course_id = {course} AND en.user_id = :user_id AND NOT en.cancelled)
    AS enrolled"""

_ITEM_COLUMNS = (
    "i.id, i.course_id, i.lesson_id, i.type, i.title, i.pass_mark_pct, i.retired_at, "
    "i.retired_reason, i.created_at, i.updated_at, i.current_version_id, i.revision"
)

# A version as the API shows it, under the name ``{name}`` (null when there is none).
_VERSION_JSON = """
  CASE WHEN {v}.id IS NULL THEN NULL ELSE json_build_object(
    'id', {v}.id, 'version', {v}.version, 'status', {v}.status,
    'current', {v}.id IS NOT DISTINCT FROM i.current_version_id,
    'published_at', {v}.published_at, 'file_name', {v}.file_name,
    'mime_type', {v}.mime_type, 'size_bytes', {v}.size_bytes,
    'duration_secs', {v}.duration_secs, 'checksum_sha256', {v}.checksum,
    'pass_mark_pct', {v}.pass_mark_pct, 'upload_expires_at', {v}.upload_expires_at,
    'rejected_reason', {v}.rejected_reason, 'created_at', {v}.created_at,
    'completed_at', {v}.completed_at) END AS {name}"""

_VERSION_COLUMNS = (
    "v.id AS version_id, v.version, v.status, v.storage_path, v.checksum, v.published_at, "
    "v.file_name, v.mime_type, v.size_bytes, v.duration_secs, v.pass_mark_pct AS "
    "version_pass_mark_pct, v.upload_expires_at, v.rejected_reason"
)

# --- creating -------------------------------------------------------------------------------

# The course row of the read model, share-locked: the consumer's changes to the course (an
# archive, a lesson list that removes this lesson) wait until the new item is committed and
# then retire it with the others; or, if they came first, this sees them.
LOCK_COURSE = f"""
SELECT c.id, c.status, {_STANDING.format(course="c.id")}
FROM courses c WHERE c.id = :course_id
FOR SHARE OF c
"""

# Read after LOCK_COURSE, in a statement of its own: its snapshot then includes whatever
# lesson list committed before the lock was granted.
LESSON_OF_COURSE = """
SELECT EXISTS (SELECT 1 FROM course_lessons
               WHERE course_id = :course_id AND lesson_id = :lesson_id) AS has_lesson,
  (SELECT count(*) FROM content_items
   WHERE lesson_id = :lesson_id AND retired_at IS NULL) AS items
"""

CREATE_ITEM = f"""
INSERT INTO content_items AS i (id, course_id, lesson_id, type, title, pass_mark_pct, created_by)
VALUES (:id, :course_id, :lesson_id, :type, :title, :pass_mark_pct, :user_id)
RETURNING {_ITEM_COLUMNS}, NULL::json AS current_version
"""

# --- one item -------------------------------------------------------------------------------

# An item with its current version and the caller's standing.
ITEM = f"""
SELECT {_ITEM_COLUMNS}, {_VERSION_JSON.format(v="v", name="current_version")},
  {_STANDING.format(course="i.course_id")}
FROM content_items i LEFT JOIN content_versions v ON v.id = i.current_version_id
WHERE i.id = :item_id
"""

# An item with one of its versions (the current one when :version_id is null), and the
# caller's standing.
ITEM_WITH_VERSION = f"""
SELECT {_ITEM_COLUMNS}, {_VERSION_COLUMNS},
  {_STANDING.format(course="i.course_id")}
FROM content_items i
LEFT JOIN content_versions v
  ON v.content_item_id = i.id AND v.id = COALESCE(CAST(:version_id AS uuid), i.current_version_id)
WHERE i.id = :item_id
"""

# The item locked for a change: versions are numbered and published under this lock.
LOCK_ITEM = f"""
SELECT {_ITEM_COLUMNS}, {_STANDING.format(course="i.course_id")}
FROM content_items i WHERE i.id = :item_id
FOR UPDATE OF i
"""

# The next number, read by the statement that takes it, after LOCK_ITEM: a statement's
# snapshot is taken when it starts, so only one that starts once the lock is held sees the
# version a transaction that held it before has just committed.
_NEXT_VERSION = (
    "(SELECT COALESCE(max(version), 0) + 1 FROM content_versions WHERE content_item_id = :item_id)"
)

ITEM_DETAIL = f"""
SELECT {_ITEM_COLUMNS}, {_VERSION_JSON.format(v="v", name="current_version")}
FROM content_items i LEFT JOIN content_versions v ON v.id = i.current_version_id
WHERE i.id = :item_id
"""

# --- versions -------------------------------------------------------------------------------

START_VERSION = f"""
INSERT INTO content_versions (id, content_item_id, version, storage_path, checksum, status,
  file_name, mime_type, size_bytes, duration_secs, upload_expires_at, created_by)
VALUES (:id, :item_id, {_NEXT_VERSION}, :storage_path, :checksum, 'PENDING', :file_name,
  :mime_type, :size_bytes, :duration_secs, :upload_expires_at, :user_id)
RETURNING version
"""

LOCK_VERSION = """
SELECT status, rejected_reason FROM content_versions
WHERE id = :version_id AND content_item_id = :item_id
FOR UPDATE
"""

MARK_READY = """
UPDATE content_versions SET status = 'READY', completed_at = now()
WHERE id = :version_id AND status = 'PENDING'
"""

MARK_REJECTED = """
UPDATE content_versions SET status = 'REJECTED', rejected_reason = :reason, completed_at = now()
WHERE id = :version_id AND status = 'PENDING'
"""

VERSION_DETAIL = f"""
SELECT {_VERSION_JSON.format(v="v", name="version")}
FROM content_versions v JOIN content_items i ON i.id = v.content_item_id
WHERE v.id = :version_id
"""

VERSION_OF_ITEM = """
SELECT id, status, published_at, storage_path, mime_type, size_bytes, duration_secs,
  (SELECT count(*) FROM quiz_questions q WHERE q.content_version_id = v.id) AS question_count
FROM content_versions v WHERE v.id = :version_id AND v.content_item_id = :item_id
"""

# The version becomes the item's current one: its first publication time is kept, the
# item's revision raised, and the metadata of what students now see replaced, in one
# statement.
PUBLISH = """
WITH published AS (
  UPDATE content_versions SET published_at = COALESCE(published_at, now())
  WHERE id = :version_id
  RETURNING id, version, published_at, mime_type, size_bytes, duration_secs
), item AS (
  UPDATE content_items SET current_version_id = :version_id, revision = revision + 1,
    updated_at = now()
  WHERE id = :item_id
  RETURNING revision
), metadata AS (
  INSERT INTO content_metadata AS m (content_item_id, content_version_id, duration_secs,
    size_bytes, mime_type, question_count)
  SELECT :item_id, p.id, p.duration_secs, p.size_bytes, p.mime_type,
    CAST(:question_count AS int)
  FROM published p
  ON CONFLICT (content_item_id) DO UPDATE SET
    content_version_id = excluded.content_version_id, duration_secs = excluded.duration_secs,
    size_bytes = excluded.size_bytes, mime_type = excluded.mime_type,
    question_count = excluded.question_count, updated_at = now()
)
SELECT p.version, p.published_at, item.revision FROM published p, item
"""

# Newest first, keyset on the version number (the unique constraint's index, backwards).
_VERSIONS = f"""
SELECT {_VERSION_JSON.format(v="v", name="version")}, v.version AS number
FROM content_versions v JOIN content_items i ON i.id = v.content_item_id
WHERE v.content_item_id = :item_id {{after}}
ORDER BY v.version DESC
LIMIT :limit
"""
VERSIONS = _VERSIONS.format(after="")
VERSIONS_AFTER = _VERSIONS.format(after="AND v.version < :after")

# --- a lesson's items -------------------------------------------------------------------------

COURSE_STANDING = f"""
SELECT c.id, {_STANDING.format(course="c.id")},
  EXISTS (SELECT 1 FROM course_lessons cl
          WHERE cl.course_id = c.id AND cl.lesson_id = :lesson_id) AS has_lesson
FROM courses c WHERE c.id = :course_id
"""

# In the order they were added (the lesson's index). A student sees only items with a
# published version whose lesson is still in the course.
LESSON_ITEMS = f"""
SELECT {_ITEM_COLUMNS}, {_VERSION_JSON.format(v="v", name="current_version")}
FROM content_items i LEFT JOIN content_versions v ON v.id = i.current_version_id
WHERE i.lesson_id = :lesson_id AND i.course_id = :course_id
  AND (:everything OR (i.current_version_id IS NOT NULL
                       AND i.retired_reason IS DISTINCT FROM 'LESSON_REMOVED'))
ORDER BY i.created_at, i.id
"""

# --- quizzes --------------------------------------------------------------------------------

# The quiz's newest version, to replace its questions while it was never published.
NEWEST_VERSION = """
SELECT id, version, published_at, pass_mark_pct FROM content_versions
WHERE content_item_id = :item_id ORDER BY version DESC LIMIT 1
"""

START_QUIZ_VERSION = f"""
INSERT INTO content_versions (id, content_item_id, version, status, pass_mark_pct, created_by,
  completed_at)
VALUES (:id, :item_id, {_NEXT_VERSION}, 'READY', :pass_mark_pct, :user_id, now())
"""

SET_PASS_MARK = """
UPDATE content_versions SET pass_mark_pct = :pass_mark_pct WHERE id = :version_id
"""

DELETE_QUESTIONS = "DELETE FROM quiz_questions WHERE content_version_id = :version_id"

# The questions in order, from one JSON array: one round trip whatever their number.
INSERT_QUESTIONS = """
INSERT INTO quiz_questions (id, content_item_id, content_version_id, question_text, options,
  correct_option_id, sort_order)
SELECT CAST(q ->> 'id' AS uuid), :item_id, :version_id, q ->> 'questionText', q -> 'options',
  q ->> 'correctOptionId', CAST(t.ord AS int) - 1
FROM jsonb_array_elements(CAST(:questions AS jsonb)) WITH ORDINALITY AS t(q, ord)
"""

# A quiz version with its questions in order (the newest when :version_id is null).
QUIZ = """
SELECT v.id AS version_id, v.version, v.status, v.published_at, v.pass_mark_pct,
  COALESCE((SELECT json_agg(json_build_object(
              'id', q.id, 'question_text', q.question_text, 'options', q.options,
              'correct_option_id', q.correct_option_id) ORDER BY q.sort_order)
            FROM quiz_questions q WHERE q.content_version_id = v.id), '[]') AS questions
FROM content_versions v
WHERE v.content_item_id = :item_id
  AND v.id = COALESCE(CAST(:version_id AS uuid),
                      (SELECT id FROM content_versions WHERE content_item_id = :item_id
                       ORDER BY version DESC LIMIT 1))
"""

# The published quiz as a student sees it: the correct options are not even read.
LEARNER_QUIZ = """
SELECT v.id AS version_id, v.version, v.pass_mark_pct,
  COALESCE((SELECT json_agg(json_build_object(
              'id', q.id, 'question_text', q.question_text, 'options', q.options)
              ORDER BY q.sort_order)
            FROM quiz_questions q WHERE q.content_version_id = v.id), '[]') AS questions
FROM content_versions v
WHERE v.content_item_id = :item_id AND v.id = :version_id
"""

# --- attempts -------------------------------------------------------------------------------

_ATTEMPT_COLUMNS = (
    "id, content_item_id, content_version_id AS version_id, user_id, score_pct, pass_mark_pct, "
    "passed, correct_count, question_count, results, created_at"
)

# Nothing when the id is taken: the caller then reads what is there (a replay, or a 409).
INSERT_ATTEMPT = f"""
INSERT INTO quiz_attempts (id, content_item_id, content_version_id, user_id, answers, results,
  correct_count, question_count, score_pct, pass_mark_pct, passed)
VALUES (:id, :item_id, :version_id, :user_id, CAST(:answers AS jsonb), CAST(:results AS jsonb),
  :correct_count, :question_count, :score_pct, :pass_mark_pct, :passed)
ON CONFLICT (id) DO NOTHING
RETURNING {_ATTEMPT_COLUMNS}
"""

ATTEMPT = f"""
SELECT {_ATTEMPT_COLUMNS}, answers FROM quiz_attempts WHERE id = :id
"""

# Newest first, keyset on (created_at, id): a student's own (or one student's, for an
# instructor), and everyone's. One statement per shape, so each matches its index.
_ATTEMPTS = f"""
SELECT {_ATTEMPT_COLUMNS} FROM quiz_attempts
WHERE content_item_id = :item_id {{user}} {{after}}
ORDER BY created_at DESC, id DESC
LIMIT :limit
"""
_OF_USER = "AND user_id = :user_id"
_AFTER = "AND (created_at, id) < (CAST(:created_at AS timestamptz), CAST(:after_id AS uuid))"
ATTEMPTS_OF_USER = _ATTEMPTS.format(user=_OF_USER, after="")
ATTEMPTS_OF_USER_AFTER = _ATTEMPTS.format(user=_OF_USER, after=_AFTER)
ATTEMPTS = _ATTEMPTS.format(user="", after="")
ATTEMPTS_AFTER = _ATTEMPTS.format(user="", after=_AFTER)

# --- retiring (the consumer, on Course events) ------------------------------------------------

# The items of lessons no longer in the course's (newest) lesson list: retired for good,
# that reason winning over an archive's. Judged against the whole list rather than the
# lessons a list removed, so that a newest list arriving before older ones retires the same.
RETIRE_ITEMS_OUTSIDE = """
UPDATE content_items SET retired_at = now(), retired_reason = 'LESSON_REMOVED', updated_at = now()
WHERE course_id = :course_id AND lesson_id <> ALL (CAST(:lesson_ids AS uuid[]))
  AND retired_reason IS DISTINCT FROM 'LESSON_REMOVED'
"""

RETIRE_COURSE_ITEMS = """
UPDATE content_items SET retired_at = now(), retired_reason = 'COURSE_ARCHIVED', updated_at = now()
WHERE course_id = :course_id AND retired_at IS NULL
"""

# The items of lessons in the newest list that were retired as removed: what a newer list
# says wins, so the items end as the last list and status say whatever order the events
# came in (Course never gives a lesson back; this makes the rule hold without relying on it).
RESTORE_ITEMS_INSIDE = """
UPDATE content_items i SET
  retired_at = CASE WHEN c.status = 'ARCHIVED' THEN now() END,
  retired_reason = CASE WHEN c.status = 'ARCHIVED' THEN 'COURSE_ARCHIVED' END,
  updated_at = now()
FROM courses c
WHERE c.id = i.course_id AND i.course_id = :course_id AND i.retired_reason = 'LESSON_REMOVED'
  AND i.lesson_id = ANY (CAST(:lesson_ids AS uuid[]))
"""

# The course is no longer archived (published again): what its archive retired comes back.
RESTORE_COURSE_ITEMS = """
UPDATE content_items SET retired_at = NULL, retired_reason = NULL, updated_at = now()
WHERE course_id = :course_id AND retired_reason = 'COURSE_ARCHIVED'
"""
