"""Content retired by Course events: hooks on the shared read model of courses, run in the
same transaction as the fact they follow, and only when that fact is newer than the one
kept, so the items end the same whatever order the events arrive in.

- A newer lesson list without some lessons: the items of those lessons are retired for
  good (``LESSON_REMOVED``; lesson ids never come back). Students no longer see them.
- A newer course-level fact with the status ARCHIVED: the course's items are retired
  (``COURSE_ARCHIVED``); any other status (published again) restores exactly those.

A retired item takes no uploads, publications, questions or attempts. Its files stay:
instructors may still download them, and an archived course's students keep reading
what was published. Uploads in flight are refused at completion and their objects are
deleted; those never completed are left to the bucket's lifecycle.
"""

from __future__ import annotations

from functions.content import store
from lms_platform import observability
from lms_platform.db import UnitOfWork
from lms_platform.read_models.courses import HeaderApplied, OutlineApplied


def _uuid_array(ids: tuple[object, ...]) -> str:
    return "{" + ",".join(str(i) for i in ids) + "}"


def retire_removed_lessons(uow: UnitOfWork, applied: OutlineApplied) -> None:
    if applied.removed:
        retired = uow.execute(
            store.RETIRE_LESSON_ITEMS,
            course_id=applied.course_id,
            lesson_ids=_uuid_array(applied.removed),
        )
        if retired:
            observability.count("ContentItemsRetired", retired)


def follow_course_status(uow: UnitOfWork, applied: HeaderApplied) -> None:
    if applied.status == "ARCHIVED":
        retired = uow.execute(store.RETIRE_COURSE_ITEMS, course_id=applied.course_id)
        if retired:
            observability.count("ContentItemsRetired", retired)
    else:
        uow.execute(store.RESTORE_COURSE_ITEMS, course_id=applied.course_id)
