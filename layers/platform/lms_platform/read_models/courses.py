"""The read model of courses a service keeps from Course events: status, lessons, teachers.

Each fact is kept with the course version that set it, and an event older than the kept
fact changes nothing, so the read model ends the same whatever order the events arrive
in and however often (the inbox already drops exact repeats):

- the course's status, title, slug and whether enrolling needs a subscription: from
  course-level events, newest version wins;
- its lessons: every outline event carries the whole ordered list, newest version wins,
  and the rows are replaced by it;
- its instructors: one row per user, active or not, newest version wins.

A service adds the tables in a migration (``create_tables``, then
``add_requires_subscription``), subscribes with
``subscriptions(names, ...)`` under inbox handler names of its own, and passes hooks for
what it does on top when a newer fact is kept: Enrollment recomputes progress when the
lessons change, Content retires the items of removed lessons and archived courses. A
hook runs in the same transaction as the fact it follows.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from lms_events import course as events
from lms_events.envelope import Envelope
from lms_platform.db import UnitOfWork
from lms_platform.inbox import Subscription

HEADER_EVENTS: tuple[type[events.CourseHeader], ...] = (
    events.CourseCreated,
    events.CourseUpdated,
    events.CoursePublished,
    events.CourseArchived,
)
INSTRUCTOR_EVENTS: tuple[type[events.CourseEvent], ...] = (
    events.InstructorAssigned,
    events.InstructorRemoved,
)


# --- tables -------------------------------------------------------------------------------


def create_tables() -> None:
    """For a service's migration: ``courses``, ``course_lessons``, ``course_instructors``.

    What a revision calls must never change once released: a change is a new helper."""
    import sqlalchemy as sa
    from alembic import op
    from sqlalchemy.dialects import postgresql as pg

    op.create_table(
        "courses",
        sa.Column("id", pg.UUID(as_uuid=True), primary_key=True),
        # Null until a course-level event (created, updated, published, archived) arrives:
        # an outline event may come first.
        sa.Column("status", sa.Text),
        sa.Column("title", sa.Text),
        sa.Column("slug", sa.Text),
        # The course version of the newest course-level event applied, and of the newest
        # lesson list applied; older events are ignored.
        sa.Column("version", sa.BigInteger, nullable=False, server_default="0"),
        sa.Column("outline_version", sa.BigInteger, nullable=False, server_default="0"),
        sa.Column(
            "updated_at",
            sa.TIMESTAMP(timezone=True),
            nullable=False,
            server_default=sa.text("now()"),
        ),
    )
    op.create_table(
        "course_lessons",
        sa.Column("course_id", pg.UUID(as_uuid=True), nullable=False),
        sa.Column("lesson_id", pg.UUID(as_uuid=True), nullable=False),
        # The lesson's place in the whole course (modules, then lessons), from 1.
        sa.Column("position", sa.Integer, nullable=False),
        sa.PrimaryKeyConstraint("course_id", "lesson_id", name="pk_course_lessons"),
    )
    op.create_table(
        "course_instructors",
        sa.Column("course_id", pg.UUID(as_uuid=True), nullable=False),
        sa.Column("user_id", pg.UUID(as_uuid=True), nullable=False),
        # A removed instructor's row stays, inactive, with the version that removed them,
        # so that a late "assigned" cannot bring them back.
        sa.Column("active", sa.Boolean, nullable=False),
        sa.Column("version", sa.BigInteger, nullable=False),
        sa.PrimaryKeyConstraint("course_id", "user_id", name="pk_course_instructors"),
    )


def add_requires_subscription() -> None:
    """For a service's migration, after ``create_tables``: ``courses.requires_subscription``.

    Every service that keeps the model has the column, whether or not it reads it yet: the
    facts are applied by one statement, the same for all (``APPLY_HEADER``)."""
    import sqlalchemy as sa
    from alembic import op

    # A constant default: added without rewriting the table. A course kept before the
    # column existed did not require a subscription (its events had no such field).
    op.add_column(
        "courses",
        sa.Column("requires_subscription", sa.Boolean, nullable=False, server_default=sa.false()),
    )


# --- SQL ----------------------------------------------------------------------------------

APPLY_HEADER = """
INSERT INTO courses (id, status, title, slug, requires_subscription, version)
VALUES (:id, :status, :title, :slug, :requires_subscription, :version)
ON CONFLICT (id) DO UPDATE SET
  status = excluded.status, title = excluded.title, slug = excluded.slug,
  requires_subscription = excluded.requires_subscription,
  version = excluded.version, updated_at = now()
WHERE courses.version < excluded.version
RETURNING id
"""

# Takes the course row's lock and says whether this lesson list is newer than the one kept.
CLAIM_OUTLINE = """
INSERT INTO courses (id, outline_version) VALUES (:id, :version)
ON CONFLICT (id) DO UPDATE SET outline_version = excluded.outline_version, updated_at = now()
WHERE courses.outline_version < excluded.outline_version
RETURNING id
"""

# The course's lessons become the given list; returns the lessons added and removed (a
# reorder returns nothing). Data-modifying WITH clauses run to completion whether or not
# the final SELECT reads them.
REPLACE_LESSONS = """
WITH listed AS (
  SELECT lesson_id, position::int AS position
  FROM unnest(CAST(:lesson_ids AS uuid[])) WITH ORDINALITY AS l(lesson_id, position)
), gone AS (
  DELETE FROM course_lessons
  WHERE course_id = :course_id AND lesson_id <> ALL (CAST(:lesson_ids AS uuid[]))
  RETURNING lesson_id
), kept AS (
  INSERT INTO course_lessons (course_id, lesson_id, position)
  SELECT :course_id, lesson_id, position FROM listed
  ON CONFLICT ON CONSTRAINT pk_course_lessons DO UPDATE SET position = excluded.position
  WHERE course_lessons.position <> excluded.position
  RETURNING lesson_id, (xmax = 0) AS inserted
)
SELECT lesson_id, true AS added FROM kept WHERE inserted
UNION ALL
SELECT lesson_id, false AS added FROM gone
"""

APPLY_INSTRUCTOR = """
INSERT INTO course_instructors (course_id, user_id, active, version)
VALUES (:course_id, :user_id, :active, :version)
ON CONFLICT ON CONSTRAINT pk_course_instructors DO UPDATE SET
  active = excluded.active, version = excluded.version
WHERE course_instructors.version < excluded.version
RETURNING active
"""

# Reads for the services that keep the model (one round trip each once prepared).
IS_INSTRUCTOR = """
SELECT EXISTS (SELECT 1 FROM course_instructors
               WHERE course_id = :course_id AND user_id = :user_id AND active) AS teaches
"""
LESSON_OF_COURSE = """
SELECT c.id, c.status, EXISTS (SELECT 1 FROM course_lessons cl
                               WHERE cl.course_id = c.id AND cl.lesson_id = :lesson_id)
  AS has_lesson
FROM courses c WHERE c.id = :course_id
"""


# --- applying events ----------------------------------------------------------------------


@dataclass(frozen=True)
class HeaderApplied:
    """A newer course-level fact was kept."""

    course_id: uuid.UUID
    version: int
    status: str
    title: str
    slug: str
    requires_subscription: bool


@dataclass(frozen=True)
class OutlineApplied:
    """A newer lesson list was kept: the list, and the lessons it added and removed."""

    course_id: uuid.UUID
    version: int
    lesson_ids: tuple[uuid.UUID, ...]
    added: tuple[uuid.UUID, ...]
    removed: tuple[uuid.UUID, ...]

    @property
    def lessons_changed(self) -> bool:
        """False when only the order changed."""
        return bool(self.added or self.removed)


OnHeader = Callable[[UnitOfWork, HeaderApplied], None]
OnOutline = Callable[[UnitOfWork, OutlineApplied], None]


def apply_header(uow: UnitOfWork, envelope: Envelope[Any]) -> HeaderApplied | None:
    data: events.CourseHeader = envelope.data
    kept = uow.fetch_one(
        APPLY_HEADER,
        id=data.course_id,
        status=data.status,
        title=data.title,
        slug=data.slug,
        requires_subscription=data.requires_subscription,
        version=data.version,
    )
    if kept is None:
        return None  # a newer course-level fact is already kept
    return HeaderApplied(
        data.course_id,
        data.version,
        data.status,
        data.title,
        data.slug,
        data.requires_subscription,
    )


def apply_outline(uow: UnitOfWork, envelope: Envelope[Any]) -> OutlineApplied | None:
    data = envelope.data
    if uow.fetch_one(CLAIM_OUTLINE, id=data.course_id, version=data.version) is None:
        return None  # a newer lesson list is already kept
    changes = uow.fetch(REPLACE_LESSONS, course_id=data.course_id, lesson_ids=data.lesson_ids)
    return OutlineApplied(
        course_id=data.course_id,
        version=data.version,
        lesson_ids=tuple(data.lesson_ids),
        added=tuple(_uuid(r["lesson_id"]) for r in changes if r["added"]),
        removed=tuple(_uuid(r["lesson_id"]) for r in changes if not r["added"]),
    )


def apply_instructor(uow: UnitOfWork, envelope: Envelope[Any]) -> bool:
    """True when this was newer than what is kept of that instructor."""
    data = envelope.data
    kept = uow.fetch_one(
        APPLY_INSTRUCTOR,
        course_id=data.course_id,
        user_id=data.user_id,
        active=isinstance(data, events.InstructorAssigned),
        version=data.version,
    )
    return kept is not None


@dataclass(frozen=True)
class HandlerNames:
    """The inbox handler names a service applies the course events under. They are the
    inbox's keys: once used they must never change, or redelivered events apply again."""

    header: str
    outline: str
    instructors: str


def subscriptions(
    names: HandlerNames,
    *,
    on_header: OnHeader | None = None,
    on_outline: OnOutline | None = None,
) -> list[Subscription]:
    """The subscriptions that keep the read model of courses in the consumer's schema."""

    def header(uow: UnitOfWork, envelope: Envelope[Any]) -> None:
        applied = apply_header(uow, envelope)
        if applied is not None and on_header is not None:
            on_header(uow, applied)

    def outline(uow: UnitOfWork, envelope: Envelope[Any]) -> None:
        applied = apply_outline(uow, envelope)
        if applied is not None and on_outline is not None:
            on_outline(uow, applied)

    def instructor(uow: UnitOfWork, envelope: Envelope[Any]) -> None:
        apply_instructor(uow, envelope)

    return [
        *(Subscription(event, names.header, header) for event in HEADER_EVENTS),
        *(Subscription(event, names.outline, outline) for event in events.OUTLINE_EVENTS),
        *(Subscription(event, names.instructors, instructor) for event in INSTRUCTOR_EVENTS),
    ]


def _uuid(value: Any) -> uuid.UUID:
    return value if isinstance(value, uuid.UUID) else uuid.UUID(str(value))
