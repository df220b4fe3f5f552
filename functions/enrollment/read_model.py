"""The Enrollment service's read model of courses, kept from Course events only.

Each fact is kept with the course version that set it, and an event older than the kept
fact changes nothing, so the read model ends the same whatever order the events arrive
in and however often (the inbox already drops exact repeats):

- the course's status, title and slug: from course-level events, newest version wins;
- its lessons: every outline event carries the whole ordered list, newest version wins,
  and the rows are replaced by it (then the course's enrollments are recomputed);
- its instructors: one row per user, active or not, newest version wins.
"""

from __future__ import annotations

from typing import Any

from functions.enrollment import store
from functions.enrollment.use_cases import announce_recomputed
from lms_events import course as events
from lms_events.envelope import Envelope
from lms_platform.db import UnitOfWork


def apply_course_header(uow: UnitOfWork, envelope: Envelope[Any]) -> None:
    data: events.CourseHeader = envelope.data
    uow.execute(
        store.APPLY_COURSE_HEADER,
        id=data.course_id,
        status=data.status,
        title=data.title,
        slug=data.slug,
        version=data.version,
    )


def apply_outline(uow: UnitOfWork, envelope: Envelope[Any]) -> None:
    data = envelope.data
    if uow.fetch_one(store.CLAIM_OUTLINE, id=data.course_id, version=data.version) is None:
        return  # a newer lesson list is already kept
    uow.execute(store.REPLACE_LESSONS, course_id=data.course_id, lesson_ids=data.lesson_ids)
    uow.fetch(store.LOCK_COURSE_ENROLLMENTS, course_id=data.course_id)
    changed = uow.fetch(store.RECOMPUTE_COURSE, course_id=data.course_id)
    announce_recomputed(uow, changed)


def apply_instructor(uow: UnitOfWork, envelope: Envelope[Any]) -> None:
    data = envelope.data
    uow.execute(
        store.APPLY_INSTRUCTOR,
        course_id=data.course_id,
        user_id=data.user_id,
        active=isinstance(data, events.InstructorAssigned),
        version=data.version,
    )
