"""The Course service's SQL. Each read is one statement (one round trip once prepared).

Every change to a course's structure starts with ``CLAIM``: it locks the course row for
the rest of the transaction (so concurrent edits of one course take turns and sort
orders stay a gapless 0..n-1 sequence), raises the course's version for the events, and
says whether the caller teaches the course, in one round trip.
"""

from __future__ import annotations

from lms_platform.db import Database, database

ROLE = "lms_course"


def db() -> Database:
    return database(ROLE)


_COURSE_COLUMNS = (
    "id, title, slug, description, status, requires_subscription, version, created_at, updated_at"
)

CREATE_COURSE = f"""
WITH course AS (
  INSERT INTO courses (id, title, slug, description, requires_subscription, version)
  VALUES (:id, :title, :slug, :description, :requires_subscription, 1)
  ON CONFLICT ON CONSTRAINT uq_courses_slug DO NOTHING
  RETURNING {_COURSE_COLUMNS}
), owner AS (
  INSERT INTO course_instructors (course_id, user_id, role)
  SELECT id, :user_id, 'OWNER' FROM course
)
SELECT {_COURSE_COLUMNS} FROM course
"""

CLAIM = f"""
UPDATE courses SET version = version + 1, updated_at = now()
WHERE id = :course_id
RETURNING {_COURSE_COLUMNS},
  EXISTS (SELECT 1 FROM course_instructors ci
          WHERE ci.course_id = courses.id AND ci.user_id = :user_id) AS is_instructor
"""

UPDATE_COURSE = f"""
UPDATE courses SET
  title = COALESCE(:title, title),
  slug = COALESCE(:slug, slug),
  description = CASE WHEN :set_description THEN :description ELSE description END,
  requires_subscription = COALESCE(:requires_subscription, requires_subscription)
WHERE id = :course_id
RETURNING {_COURSE_COLUMNS}
"""

SET_STATUS = f"""
UPDATE courses SET status = :status WHERE id = :course_id RETURNING {_COURSE_COLUMNS}
"""

# The course as a reader sees it: instructors, modules and lessons in order, one statement.
_DETAIL = f"""
SELECT {", ".join("c." + c.strip() for c in _COURSE_COLUMNS.split(","))},
  EXISTS (SELECT 1 FROM course_instructors ci
          WHERE ci.course_id = c.id AND ci.user_id = :user_id) AS is_instructor,
  COALESCE((
    SELECT json_agg(json_build_object(
             'userId', ci.user_id, 'role', ci.role, 'assignedAt', ci.assigned_at)
           ORDER BY ci.assigned_at, ci.user_id)
    FROM course_instructors ci WHERE ci.course_id = c.id
  ), '[]') AS instructors,
  COALESCE((
    SELECT json_agg(json_build_object(
             'id', m.id, 'title', m.title, 'sortOrder', m.sort_order,
             'lessons', COALESCE((
               SELECT json_agg(json_build_object(
                        'id', l.id, 'moduleId', l.module_id, 'title', l.title, 'type', l.type,
                        'durationMinutes', l.duration_minutes, 'sortOrder', l.sort_order)
                      ORDER BY l.sort_order)
               FROM lessons l WHERE l.module_id = m.id
             ), '[]'))
           ORDER BY m.sort_order)
    FROM modules m WHERE m.course_id = c.id
  ), '[]') AS modules
FROM courses c
"""

DETAIL_BY_ID = _DETAIL + "WHERE c.id = :course_id"
DETAIL_BY_SLUG = _DETAIL + "WHERE c.slug = :slug"

# The catalog: published courses, newest first, keyset on (created_at, id). Two
# statements rather than one with "cursor IS NULL OR ...", so that the row comparison is
# an index condition on ix_courses_published_created_at_id even in a generic plan.
_CATALOG = f"""
SELECT {_COURSE_COLUMNS} FROM courses
WHERE status = 'PUBLISHED'
  AND (CAST(:pattern AS text) IS NULL OR title ILIKE CAST(:pattern AS text))
  {{after}}
ORDER BY created_at DESC, id DESC
LIMIT :limit
"""
CATALOG_FIRST = _CATALOG.format(after="")
CATALOG_AFTER = _CATALOG.format(
    after="AND (created_at, id) < (CAST(:created_at AS timestamptz), CAST(:id AS uuid))"
)

# The outline under the claim: modules and lessons in order (lesson columns null for an
# empty module).
OUTLINE = """
SELECT m.id AS module_id, m.sort_order AS module_order, l.id AS lesson_id, l.sort_order
FROM modules m LEFT JOIN lessons l ON l.module_id = m.id
WHERE m.course_id = :course_id
ORDER BY m.sort_order, l.sort_order
"""

ADD_MODULE = """
INSERT INTO modules (id, course_id, title, sort_order) VALUES (:id, :course_id, :title, :sort_order)
RETURNING id, title, sort_order
"""

RENAME_MODULE = """
UPDATE modules SET title = :title WHERE id = :module_id AND course_id = :course_id
RETURNING id, title, sort_order
"""

DELETE_MODULE = "DELETE FROM modules WHERE id = :module_id AND course_id = :course_id"

# Sort orders are rewritten from the whole order the use case computed; the unique
# constraints on (parent, sort_order) are checked at commit, so rows may swap places.
SET_MODULE_ORDER = """
UPDATE modules m SET sort_order = o.ord - 1
FROM unnest(CAST(:ids AS uuid[])) WITH ORDINALITY AS o(id, ord)
WHERE m.id = o.id AND m.course_id = :course_id AND m.sort_order <> o.ord - 1
"""

SET_LESSON_ORDER = """
UPDATE lessons l SET module_id = o.module_id, sort_order = o.ord
FROM unnest(CAST(:ids AS uuid[]), CAST(:module_ids AS uuid[]), CAST(:orders AS int[]))
  AS o(id, module_id, ord)
WHERE l.id = o.id AND (l.module_id, l.sort_order) IS DISTINCT FROM (o.module_id, o.ord)
"""

_LESSON_COLUMNS = "id, module_id, title, type, duration_minutes, sort_order"

ADD_LESSON = f"""
INSERT INTO lessons (id, module_id, title, type, duration_minutes, sort_order)
VALUES (:id, :module_id, :title, :type, :duration_minutes, :sort_order)
RETURNING {_LESSON_COLUMNS}
"""

UPDATE_LESSON = f"""
UPDATE lessons l SET
  title = COALESCE(:title, l.title),
  type = COALESCE(:type, l.type),
  duration_minutes = CASE WHEN :set_duration THEN :duration_minutes ELSE l.duration_minutes END
FROM modules m
WHERE l.id = :lesson_id AND m.id = l.module_id AND m.course_id = :course_id
RETURNING {", ".join("l." + c.strip() for c in _LESSON_COLUMNS.split(","))}
"""

LESSON_BY_ID = f"SELECT {_LESSON_COLUMNS} FROM lessons WHERE id = :lesson_id"

DELETE_LESSON = "DELETE FROM lessons WHERE id = :lesson_id"

INSTRUCTORS = """
SELECT user_id, role, assigned_at FROM course_instructors
WHERE course_id = :course_id ORDER BY assigned_at, user_id
"""

ASSIGN_INSTRUCTOR = """
INSERT INTO course_instructors (course_id, user_id, role)
VALUES (:course_id, :user_id, :role)
ON CONFLICT ON CONSTRAINT pk_course_instructors DO NOTHING
"""

# One owner per course (a partial unique index): demote the old one before promoting.
SET_INSTRUCTOR_ROLE = """
UPDATE course_instructors SET role = :role WHERE course_id = :course_id AND user_id = :user_id
"""

REMOVE_INSTRUCTOR = """
DELETE FROM course_instructors WHERE course_id = :course_id AND user_id = :user_id
"""

# --- the read model of users (the consumer's) ------------------------------------------------

# The user's state of the highest version seen; an older event changes nothing.
APPLY_USER = """
INSERT INTO users (id, status, roles, version)
VALUES (:id, :status, CAST(:roles AS text[]), :version)
ON CONFLICT (id) DO UPDATE SET
  status = excluded.status, roles = excluded.roles, version = excluded.version, updated_at = now()
WHERE users.version < excluded.version
"""

USER_FACTS = "SELECT id, status, roles, version FROM users WHERE id = :user_id"
