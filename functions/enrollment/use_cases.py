"""The Enrollment service's use cases: each one unit of work, its events in the same transaction.

Who may see what: roles come from the verified claims only; whether the caller is one of
a course's instructors comes from this service's own read model (``course_instructors``,
fed by Course events). A course's rights need both, or ADMIN -- the rule the Course
service applies (``lms_platform.rights.teaches``). An enrollment is seen by its owner and
by those with its course's rights; anyone else gets the same 404 as for a missing one.

Progress and status (the rule, and why): ``progress_pct`` is always recomputed from rows
-- the completed lessons still in the course over the lessons in the course -- and an
enrollment that is not cancelled is COMPLETED exactly when that reaches 100%. So when
lessons are added to a course, an enrollment already COMPLETED goes back to ACTIVE (its
``completed_at`` cleared) until the new lessons are done, and when the last unfinished
lessons are removed an ACTIVE one becomes COMPLETED (``EnrollmentCompleted``). The status
is thereby a function of the rows alone, like the progress: the Course events may arrive
late, twice or out of order, and a status that remembered its past ("once completed,
always completed") would end differently depending on the order the consumer saw them
in. The price: a learner may see COMPLETED turn back to ACTIVE when a course grows, and
``EnrollmentCompleted`` may be announced again for the same enrollment after that.
"""

from __future__ import annotations

import uuid
from typing import Any

from functions.enrollment import store, subscriptions
from functions.enrollment.models import Enrollment, EnrollmentPage, EnrollmentSummary
from lms_events import enrollment as events
from lms_platform import observability
from lms_platform.db import Row, UnitOfWork
from lms_platform.http import Conflict, Forbidden, NotFound, PaymentRequired, Principal
from lms_platform.pagination import keyset_after, keyset_page
from lms_platform.rights import teaches

STAFF_ROLES = ("INSTRUCTOR", "ADMIN")


class CourseNotFound(NotFound):
    title = "Course not found"


class EnrollmentNotFound(NotFound):
    title = "Enrollment not found"


class LessonNotFound(NotFound):
    title = "Lesson not found"


class AlreadyEnrolled(Conflict):
    title = "Already enrolled"


class EnrollmentCancelled(Conflict):
    title = "Enrollment cancelled"


class NotTheOwner(Forbidden):
    title = "Not the owner of this enrollment"


class SubscriptionRequired(PaymentRequired):
    title = "Subscription required"


def _summary(row: Row) -> EnrollmentSummary:
    return EnrollmentSummary.model_validate({k: row[k] for k in EnrollmentSummary.model_fields})


def _detail(row: Row) -> Enrollment:
    return Enrollment.model_validate({k: row[k] for k in Enrollment.model_fields})


def _completed(row: Row) -> events.EnrollmentCompleted:
    return events.EnrollmentCompleted(
        enrollment_id=row["id"],
        user_id=row["user_id"],
        course_id=row["course_id"],
        completed_at=row["completed_at"],
        version=row["version"],
    )


def announce_recomputed(uow: UnitOfWork, changed: list[Row]) -> None:
    """``EnrollmentCompleted`` for each recomputed enrollment that has just completed."""
    for row in changed:
        if row["status"] == "COMPLETED" and row["old_status"] != "COMPLETED":
            uow.outbox.add(_completed(row), aggregate_id=row["id"])


# --- enrolling ------------------------------------------------------------------------------


def enroll(caller: Principal, course_id: uuid.UUID) -> Enrollment:
    """The caller enrolls in a published course: the enrollment and its first lesson's
    progress row in one transaction. Enrolling again after cancelling takes the old
    enrollment up again, with the progress it had. A course that requires a subscription
    takes only callers with a current one (``subscriptions``); anyone else gets 402, and
    one already enrolled 409 as before."""

    def work(uow: UnitOfWork) -> Enrollment:
        course = uow.fetch_one(
            store.COURSE_FOR_ENROLLING,
            course_id=course_id,
            user_id=caller.user_id,
            now=subscriptions.now(),
        )
        if course is None or course["status"] != "PUBLISHED":
            raise CourseNotFound(f"no published course {course_id}")
        row = uow.fetch_one(
            store.ENROLL, id=uuid.uuid4(), user_id=caller.user_id, course_id=course_id
        )
        if row is None:
            raise AlreadyEnrolled("the caller is already enrolled in this course")
        if course["requires_subscription"] and not course["subscribed"]:
            # Raised after the insert, which is rolled back with it: one already enrolled
            # hears 409 (above) rather than to pay for what they have.
            raise SubscriptionRequired(
                "this course requires a current subscription: pay an invoice of a plan "
                "(POST /invoices, then POST /invoices/{invoiceId}/payments)",
                courseId=str(course_id),
            )
        enrollment_id = row["id"]
        if course["first_lesson_id"] is not None:
            uow.execute(
                store.START_LESSON,
                id=uuid.uuid4(),
                enrollment_id=enrollment_id,
                lesson_id=course["first_lesson_id"],
            )
        if not row["created"]:
            # The course may have changed while the enrollment was cancelled.
            changed = uow.fetch(
                store.RECOMPUTE_ENROLLMENT, course_id=course_id, enrollment_id=enrollment_id
            )
            announce_recomputed(uow, changed)
        uow.outbox.add(
            events.EnrollmentCreated(
                enrollment_id=enrollment_id,
                user_id=caller.user_id,
                course_id=course_id,
                enrolled_at=row["enrolled_at"],
                reactivated=not row["created"],
                version=row["version"],
            ),
            aggregate_id=enrollment_id,
        )
        detail = uow.fetch_one(
            store.ENROLLMENT_DETAIL, enrollment_id=enrollment_id, user_id=caller.user_id
        )
        uow.commit()
        assert detail is not None
        return _detail(detail)

    enrollment = store.db().transaction(work)
    observability.count("EnrollmentsCreated")
    return enrollment


# --- progress -------------------------------------------------------------------------------


def complete_lesson(
    caller: Principal, enrollment_id: uuid.UUID, lesson_id: uuid.UUID
) -> Enrollment:
    """Mark a lesson of the caller's enrollment done. A repeat changes nothing.

    The enrollment row is locked first, so that completions of one enrollment take turns
    and each recomputation counts every completion committed before it.
    """

    def work(uow: UnitOfWork) -> Enrollment:
        enrollment = uow.fetch_one(
            store.LOCK_ENROLLMENT, enrollment_id=enrollment_id, lesson_id=lesson_id
        )
        if enrollment is None or enrollment["user_id"] != caller.user_id:
            raise EnrollmentNotFound(f"no enrollment {enrollment_id}")
        if enrollment["status"] == "CANCELLED":
            raise EnrollmentCancelled("enroll again to continue this course")
        if not enrollment["lesson_in_course"]:
            raise LessonNotFound(f"no lesson {lesson_id} in this course")
        mark_lesson_done(uow, enrollment, lesson_id)
        detail = uow.fetch_one(
            store.ENROLLMENT_DETAIL, enrollment_id=enrollment_id, user_id=caller.user_id
        )
        uow.commit()
        assert detail is not None
        return _detail(detail)

    return store.db().transaction(work)


def mark_lesson_done(uow: UnitOfWork, enrollment: Row, lesson_id: uuid.UUID) -> None:
    """The lesson done for an enrollment locked by the caller (not cancelled, the lesson in
    its course), progress recomputed from rows, and the events; a repeat changes nothing.
    The one path of every completion: the student's own, and a quiz passed (``quizzes``)."""
    enrollment_id = enrollment["id"]
    result = uow.fetch_one(
        store.COMPLETE_LESSON,
        id=uuid.uuid4(),
        enrollment_id=enrollment_id,
        lesson_id=lesson_id,
        course_id=enrollment["course_id"],
    )
    if result is None:
        return
    facts = {
        "enrollment_id": enrollment_id,
        "user_id": enrollment["user_id"],
        "course_id": enrollment["course_id"],
        "version": result["version"],
    }
    observability.count("LessonsCompleted")
    uow.outbox.add(
        events.LessonCompleted(
            **facts,
            lesson_id=lesson_id,
            completed_at=result["lesson_completed_at"],
            progress_pct=result["progress_pct"],
        ),
        aggregate_id=enrollment_id,
    )
    if result["status"] == "COMPLETED" and enrollment["status"] != "COMPLETED":
        uow.outbox.add(
            events.EnrollmentCompleted(**facts, completed_at=result["completed_at"]),
            aggregate_id=enrollment_id,
        )


def cancel(caller: Principal, enrollment_id: uuid.UUID) -> Enrollment:
    """Its owner or an admin cancels an enrollment; a repeat changes nothing."""

    def work(uow: UnitOfWork) -> Enrollment:
        row = uow.fetch_one(
            store.LOCK_FOR_CANCEL, enrollment_id=enrollment_id, user_id=caller.user_id
        )
        owner = row is not None and row["user_id"] == caller.user_id
        if row is None or not (owner or teaches(caller, member=row["is_instructor"])):
            raise EnrollmentNotFound(f"no enrollment {enrollment_id}")
        if not (owner or caller.is_admin):
            raise NotTheOwner("only the student or an admin may cancel an enrollment")
        if row["status"] != "CANCELLED":
            cancelled = uow.fetch_one(store.CANCEL, enrollment_id=enrollment_id)
            assert cancelled is not None
            uow.outbox.add(
                events.EnrollmentCancelled(
                    enrollment_id=enrollment_id,
                    user_id=row["user_id"],
                    course_id=row["course_id"],
                    cancelled_by=caller.user_id,
                    version=cancelled["version"],
                ),
                aggregate_id=enrollment_id,
            )
        detail = uow.fetch_one(
            store.ENROLLMENT_DETAIL, enrollment_id=enrollment_id, user_id=caller.user_id
        )
        uow.commit()
        assert detail is not None
        return _detail(detail)

    return store.db().transaction(work)


# --- reading --------------------------------------------------------------------------------


def get_enrollment(caller: Principal, enrollment_id: uuid.UUID) -> Enrollment:
    """One statement; the owner, the course's instructors and admins see it."""
    row = store.db().read_one(
        store.ENROLLMENT_DETAIL, enrollment_id=enrollment_id, user_id=caller.user_id
    )
    if row is None or not (
        row["user_id"] == caller.user_id or teaches(caller, member=row["is_instructor"])
    ):
        raise EnrollmentNotFound(f"no enrollment {enrollment_id}")
    return _detail(row)


def _page(rows: list[Row], limit: int, scope: str) -> EnrollmentPage:
    page, next_cursor = keyset_page(rows, limit, scope, "enrolled_at")
    return EnrollmentPage(items=[_summary(r) for r in page], next_cursor=next_cursor)


def my_enrollments(
    caller: Principal, *, status: str | None, limit: int, cursor: str | None
) -> EnrollmentPage:
    """The caller's enrollments, newest first: one statement at any depth."""
    scope = f"me/enrollments?status={status or ''}"
    params: dict[str, Any] = {"user_id": caller.user_id, "limit": limit + 1}
    if status:
        params["status"] = status
    if after := keyset_after(scope, cursor, "enrolled_at"):
        params.update(after)
        sql = store.MY_ENROLLMENTS_BY_STATUS_AFTER if status else store.MY_ENROLLMENTS_AFTER
    else:
        sql = store.MY_ENROLLMENTS_BY_STATUS if status else store.MY_ENROLLMENTS
    return _page(store.db().read(sql, **params), limit, scope)


def course_enrollments(
    caller: Principal, course_id: uuid.UUID, *, limit: int, cursor: str | None
) -> EnrollmentPage:
    """A course's enrollments for its instructors and admins, newest first."""
    if not caller.roles.intersection(STAFF_ROLES):
        raise Forbidden(f"this operation needs one of the roles: {', '.join(STAFF_ROLES)}")
    course = store.db().read_one(
        store.COURSE_MEMBERSHIP, course_id=course_id, user_id=caller.user_id
    )
    if course is None or not teaches(caller, member=course["is_instructor"]):
        raise CourseNotFound(f"no course {course_id} among the caller's courses")
    scope = f"courses/{course_id}/enrollments"
    after = keyset_after(scope, cursor, "enrolled_at")
    sql = store.COURSE_ENROLLMENTS_AFTER if after else store.COURSE_ENROLLMENTS
    return _page(store.db().read(sql, course_id=course_id, limit=limit + 1, **after), limit, scope)
