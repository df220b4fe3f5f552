"""Content retired by Course events: hooks on the shared read model of courses, run in the
same transaction as the fact they follow, and only when that fact is newer than the one
kept, so the items end the same whatever order the events arrive in.

- A newer lesson list: the items of every lesson not in it are retired
  (``LESSON_REMOVED``); students no longer see them. The whole list is the measure, not
  the lessons it removed from the list kept before: when the newest list is the first to
  arrive, nothing is "removed" relative to the empty model, yet the same items must end
  retired. Items of lessons in the list are not retired as removed (Course never gives a
  lesson back, so in practice this undoes nothing; it keeps the rule a function of the
  newest list alone).
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
    lessons = _uuid_array(applied.lesson_ids)
    retired = uow.execute(
        store.RETIRE_ITEMS_OUTSIDE, course_id=applied.course_id, lesson_ids=lessons
    )
    uow.execute(store.RESTORE_ITEMS_INSIDE, course_id=applied.course_id, lesson_ids=lessons)
    if retired:
        observability.count("ContentItemsRetired", retired)


def follow_course_status(uow: UnitOfWork, applied: HeaderApplied) -> None:
    if applied.status == "ARCHIVED":
        retired = uow.execute(store.RETIRE_COURSE_ITEMS, course_id=applied.course_id)
        if retired:
            observability.count("ContentItemsRetired", retired)
    else:
        uow.execute(store.RESTORE_COURSE_ITEMS, course_id=applied.course_id)
