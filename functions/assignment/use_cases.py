"""The Assignment service's use cases: each one unit of work, its events in the same transaction.

Who may do what, from the caller's token and this service's read models only (courses and
their instructors from Course events, enrollments from Enrollment events):

- a course's *teachers* -- callers with the INSTRUCTOR role in their token who are active
  instructors of the course in the read model -- and admins manage its assignments, see
  every submission and grade;
- a student with an enrollment in the course (cancelled or not) sees its assignments and
  their own submissions and grades; only an enrollment that is not cancelled may submit;
- anyone else gets the same 404 as for something missing. A caller who may see the object
  but not do this to it gets 403 (a student grading, an instructor submitting).

Submissions (the rules, and why):

- A student may submit again and again until one of their submissions to the assignment
  is graded; every submission is kept and the newest one is ``latest``: the one that
  counts. After a grade, another submission is refused (409): the grade would otherwise
  be on work that no longer counts. To make that hold under concurrency, every write to a
  student's submissions and grades in a course first locks that student's enrollment row
  in the read model: a submission and a grade of the same student take turns, so a
  submission is never added after a grade it did not see, and exactly one submission is
  ever ``latest`` (a unique index says so too).
- LATE when submitted after the due date, by the database's clock: ``submitted_at`` is
  the time the row is written, under the student's lock (so a student's submissions are
  stamped in the order they became the latest), and one second late is late. A graded
  submission's status is GRADED; ``late`` stays.
- ``Idempotency-Key`` (Stripe's semantics, scoped to the caller): a retry with the same key
  and the same request (assignment and content) answers with the submission it made, and
  makes nothing; the same key with another request is refused (409). Keys are kept with
  their submissions for good.
- An assignment takes no submissions (409) when its teachers archived it, when its course
  is archived, or when its lesson was removed from the course. The last two follow the
  read model of courses: the consumer's hooks set them in the same transaction as the
  newer course fact they follow (``follow_course_status``, ``follow_lessons``), and undo
  them should the course be published again. Teachers change a course's assignments only
  under the read model's course row lock, which the consumer takes too, so a change never
  slips between a hook and the fact it follows. Everything submitted and graded stays.

Grades: one per submission. Grading again changes it and records who and when, as a new
``version``; repeating the same grade changes nothing. ``passed`` is judged when grading
(at least the passing score, or there is none) and carried by ``SubmissionGraded``, which
the Enrollment service reads to complete the assignment's lesson. Scores are exact
decimals, ``0 <= score <= maxScore`` (422 otherwise); ``maxScore`` cannot be lowered below
a score already given (409).
"""

from __future__ import annotations

import hashlib
import json
import uuid
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from pg8000.exceptions import DatabaseError

from functions.assignment import store
from functions.assignment.models import (
    Assignment,
    AssignmentPage,
    CreateAssignment,
    Grade,
    GradeSubmission,
    Submission,
    SubmissionPage,
    SubmissionSummary,
    SubmitWork,
    UpdateAssignment,
)
from lms_events import assignment as events
from lms_platform import observability
from lms_platform.db import Row, UnitOfWork, is_unique_violation
from lms_platform.http import Conflict, Forbidden, NotFound, Principal, Problem
from lms_platform.pagination import keyset_after, keyset_page


class CourseNotFound(NotFound):
    title = "Course not found"


class AssignmentNotFound(NotFound):
    title = "Assignment not found"


class SubmissionNotFound(NotFound):
    title = "Submission not found"


class NotATeacher(Forbidden):
    title = "Not an instructor of this course"


class NotEnrolled(Forbidden):
    title = "Not enrolled in this course"


class NotYourSubmissions(Forbidden):
    title = "Only the course's instructors see every submission"


class CourseArchived(Conflict):
    title = "Course archived"


class AssignmentClosed(Conflict):
    title = "Assignment closed"


class AssignmentArchived(Conflict):
    title = "Assignment archived"


class HasSubmissions(Conflict):
    title = "Assignment has submissions"


class AlreadyGraded(Conflict):
    title = "Already graded"


class EnrollmentCancelled(Conflict):
    title = "Enrollment cancelled"


class IdempotencyKeyReused(Conflict):
    title = "Idempotency-Key already used"


class ScoreAlreadyGiven(Conflict):
    title = "A higher score was already given"


class Unprocessable(Problem):
    """422 with field errors in the shape the request binder gives them."""

    status, title = 422, "Invalid request"

    def __init__(self, field: str, message: str, kind: str = "value_error") -> None:
        super().__init__(
            "the request does not match the expected shape",
            errors=[{"location": ["body", field], "message": message, "type": kind}],
        )


# --- who the caller is to a course ------------------------------------------------------------


@dataclass(frozen=True)
class Standing:
    manages: bool  # an admin, or an instructor of the course with the INSTRUCTOR role
    enrolled: bool  # has an enrollment in the course, cancelled or not
    active: bool  # has an enrollment that is not cancelled

    @property
    def sees(self) -> bool:
        return self.manages or self.enrolled


def _standing(caller: Principal, row: Row) -> Standing:
    teaches = caller.has_role("INSTRUCTOR") and bool(row["teaches"])
    cancelled = row["cancelled"]
    return Standing(caller.is_admin or teaches, cancelled is not None, cancelled is False)


def _require_manager(standing: Standing, missing: NotFound) -> None:
    if not standing.sees:
        raise missing
    if not standing.manages:
        raise NotATeacher("only the course's instructors and admins may do this")


# --- rows to bodies and events ----------------------------------------------------------------


def _closed_reason(row: Row) -> events.ClosedReason | None:
    if row["archived_at"] is not None:
        return "ARCHIVED"
    if row["course_archived"]:
        return "COURSE_ARCHIVED"
    if row["lesson_removed"]:
        return "LESSON_REMOVED"
    return None


def _assignment(row: Row) -> Assignment:
    reason = _closed_reason(row)
    return Assignment(
        id=row["id"],
        course_id=row["course_id"],
        lesson_id=row["lesson_id"],
        title=row["title"],
        description=row["description"],
        due_at=row["due_at"],
        max_score=row["max_score"],
        passing_score=row["passing_score"],
        status="CLOSED" if reason else "OPEN",
        closed_reason=reason,
        archived_at=row["archived_at"],
        created_at=row["created_at"],
        updated_at=row["updated_at"],
        version=row["version"],
    )


def _state(row: Row) -> dict[str, Any]:
    """The fields of an assignment event, from its row."""
    reason = _closed_reason(row)
    return {
        "assignment_id": row["id"],
        "course_id": row["course_id"],
        "version": row["version"],
        "lesson_id": row["lesson_id"],
        "title": row["title"],
        "description": row["description"],
        "due_at": row["due_at"],
        "max_score": row["max_score"],
        "passing_score": row["passing_score"],
        "status": "CLOSED" if reason else "OPEN",
        "closed_reason": reason,
    }


def announce_changed(uow: UnitOfWork, rows: list[Row]) -> None:
    """``AssignmentUpdated`` for each assignment a change of its course opened or closed."""
    for row in rows:
        uow.outbox.add(events.AssignmentUpdated(**_state(row)), aggregate_id=row["id"])


def _grade(row: Row) -> Grade:
    return Grade(
        submission_id=row["submission_id"],
        score=row["score"],
        feedback=row["feedback"],
        passed=row["passed"],
        graded_at=row["graded_at"],
        graded_by=row["graded_by"],
        version=row["version"],
    )


def _submission(row: Row) -> Submission:
    grade = None
    if row["score"] is not None:
        grade = Grade(
            submission_id=row["id"],
            score=row["score"],
            feedback=row["feedback"],
            passed=row["passed"],
            graded_at=row["graded_at"],
            graded_by=row["graded_by"],
            version=row["grade_version"],
        )
    return Submission.model_validate(
        {
            "id": row["id"],
            "assignment_id": row["assignment_id"],
            "course_id": row["course_id"],
            "user_id": row["user_id"],
            "submitted_at": row["submitted_at"],
            "status": row["status"],
            "late": row["late"],
            "latest": row["latest"],
            "content": row["content"],
            "grade": grade,
        }
    )


def _summary(row: Row) -> SubmissionSummary:
    grade = None
    if row["score"] is not None:
        grade = {"score": row["score"], "passed": row["passed"], "graded_at": row["graded_at"]}
    return SubmissionSummary.model_validate(
        {k: row[k] for k in SubmissionSummary.model_fields if k != "grade"} | {"grade": grade}
    )


# --- assignments ------------------------------------------------------------------------------


def _require_lesson(uow: UnitOfWork, course_id: uuid.UUID, lesson_id: uuid.UUID) -> None:
    found = uow.fetch_one(store.LESSON_IN_COURSE, course_id=course_id, lesson_id=lesson_id)
    if not (found and found["present"]):
        raise Unprocessable("lessonId", f"no lesson {lesson_id} in this course")


def create_assignment(
    caller: Principal, course_id: uuid.UUID, body: CreateAssignment
) -> Assignment:
    """A course's teacher adds an assignment, attached to one of its lessons or to none."""

    def work(uow: UnitOfWork) -> Assignment:
        course = uow.fetch_one(store.LOCK_COURSE, course_id=course_id, user_id=caller.user_id)
        if course is None:
            raise CourseNotFound(f"no course {course_id}")
        _require_manager(_standing(caller, course), CourseNotFound(f"no course {course_id}"))
        if course["status"] == "ARCHIVED":
            raise CourseArchived("an archived course takes no new assignments")
        if body.lesson_id is not None:
            _require_lesson(uow, course_id, body.lesson_id)
        row = uow.fetch_one(
            store.INSERT_ASSIGNMENT,
            id=uuid.uuid4(),
            course_id=course_id,
            lesson_id=body.lesson_id,
            title=body.title,
            description=body.description,
            due_at=body.due_at,
            max_score=body.max_score,
            passing_score=body.passing_score,
        )
        assert row is not None
        uow.outbox.add(
            events.AssignmentCreated(**_state(row), created_by=caller.user_id),
            aggregate_id=row["id"],
        )
        uow.commit()
        return _assignment(row)

    assignment = store.db().transaction(work)
    observability.count("AssignmentsCreated")
    return assignment


def get_assignment(caller: Principal, assignment_id: uuid.UUID) -> Assignment:
    """One statement; the course's teachers, its students and admins see it."""
    row = store.db().read_one(
        store.ASSIGNMENT_FOR_CALLER, assignment_id=assignment_id, user_id=caller.user_id
    )
    if row is None or not _standing(caller, row).sees:
        raise AssignmentNotFound(f"no assignment {assignment_id}")
    return _assignment(row)


def course_assignments(
    caller: Principal, course_id: uuid.UUID, *, limit: int, cursor: str | None
) -> AssignmentPage:
    """A course's assignments in the order they were made, for its teachers, students and
    admins: the caller's standing, then one keyset page."""
    course = store.db().read_one(store.COURSE_STANDING, course_id=course_id, user_id=caller.user_id)
    if course is None or not _standing(caller, course).sees:
        raise CourseNotFound(f"no course {course_id}")
    scope = f"courses/{course_id}/assignments"
    after = keyset_after(scope, cursor, "created_at")
    sql = store.COURSE_ASSIGNMENTS_AFTER if after else store.COURSE_ASSIGNMENTS
    rows = store.db().read(sql, course_id=course_id, limit=limit + 1, **after)
    page, next_cursor = keyset_page(rows, limit, scope, "created_at")
    return AssignmentPage(items=[_assignment(r) for r in page], next_cursor=next_cursor)


def _lock_for_change(uow: UnitOfWork, caller: Principal, assignment_id: uuid.UUID) -> Row:
    """The course's row, then the assignment's (that order: see ``store``), if the caller
    may change it."""
    uow.fetch_one(store.LOCK_COURSE_OF_ASSIGNMENT, assignment_id=assignment_id)
    row = uow.fetch_one(store.LOCK_ASSIGNMENT, assignment_id=assignment_id, user_id=caller.user_id)
    missing = AssignmentNotFound(f"no assignment {assignment_id}")
    if row is None:
        raise missing
    _require_manager(_standing(caller, row), missing)
    return row


def update_assignment(
    caller: Principal, assignment_id: uuid.UUID, change: UpdateAssignment
) -> Assignment:
    """Its teachers change an assignment; the fields sent, nothing when they are as they were.

    An archived assignment is history and changes no more (409). A new lesson must be one
    of the course's; the maximum cannot go below a score already given; the passing score
    stays within the maximum (422)."""
    sent = change.model_fields_set

    def work(uow: UnitOfWork) -> Assignment:
        row = _lock_for_change(uow, caller, assignment_id)
        if row["archived_at"] is not None:
            raise AssignmentArchived("an archived assignment is kept as it was")
        new: dict[str, Any] = {
            "title": change.title if "title" in sent else row["title"],
            "description": change.description if "description" in sent else row["description"],
            "lesson_id": change.lesson_id if "lesson_id" in sent else row["lesson_id"],
            "due_at": change.due_at if "due_at" in sent else row["due_at"],
            "max_score": change.max_score if "max_score" in sent else row["max_score"],
            "passing_score": (
                change.passing_score if "passing_score" in sent else row["passing_score"]
            ),
        }
        if new["passing_score"] is not None and new["passing_score"] > new["max_score"]:
            field = "passingScore" if "passing_score" in sent else "maxScore"
            raise Unprocessable(field, "passingScore must not exceed maxScore")
        lesson_removed = row["lesson_removed"]
        if new["lesson_id"] != row["lesson_id"]:
            if new["lesson_id"] is not None:
                _require_lesson(uow, row["course_id"], new["lesson_id"])
            lesson_removed = False
        if new["max_score"] < row["max_score"]:
            highest = uow.fetch_one(store.HIGHEST_SCORE, assignment_id=assignment_id)
            if highest and highest["highest"] is not None and highest["highest"] > new["max_score"]:
                raise ScoreAlreadyGiven(
                    f"a score of {highest['highest']} was given: maxScore cannot be lower"
                )
        if all(new[k] == row[k] for k in new):
            uow.commit()
            return _assignment(row)
        updated = uow.fetch_one(
            store.UPDATE_ASSIGNMENT,
            assignment_id=assignment_id,
            lesson_removed=lesson_removed,
            **new,
        )
        assert updated is not None
        uow.outbox.add(events.AssignmentUpdated(**_state(updated)), aggregate_id=assignment_id)
        uow.commit()
        return _assignment(updated)

    return store.db().transaction(work)


def archive_assignment(caller: Principal, assignment_id: uuid.UUID) -> Assignment:
    """Its teachers archive an assignment: it keeps its submissions and grades (and may
    still be graded) but takes no more submissions. A repeat changes nothing."""

    def work(uow: UnitOfWork) -> Assignment:
        row = _lock_for_change(uow, caller, assignment_id)
        if row["archived_at"] is not None:
            uow.commit()
            return _assignment(row)
        archived = uow.fetch_one(store.ARCHIVE_ASSIGNMENT, assignment_id=assignment_id)
        assert archived is not None
        uow.outbox.add(events.AssignmentUpdated(**_state(archived)), aggregate_id=assignment_id)
        uow.commit()
        return _assignment(archived)

    return store.db().transaction(work)


def delete_assignment(caller: Principal, assignment_id: uuid.UUID) -> None:
    """Its teachers delete an assignment nobody has submitted to; one with submissions is
    kept (409: archive it instead). A submission under way holds the assignment (FOR KEY
    SHARE), so it either commits first and is seen here, or finds the assignment gone."""

    def work(uow: UnitOfWork) -> None:
        row = _lock_for_change(uow, caller, assignment_id)
        found = uow.fetch_one(store.HAS_SUBMISSIONS, assignment_id=assignment_id)
        if found and found["any"]:
            raise HasSubmissions("students have submitted to it: archive it instead")
        uow.execute(store.DELETE_ASSIGNMENT, assignment_id=assignment_id)
        uow.outbox.add(
            events.AssignmentDeleted(
                assignment_id=assignment_id,
                course_id=row["course_id"],
                version=row["version"] + 1,
                deleted_by=caller.user_id,
            ),
            aggregate_id=assignment_id,
        )
        uow.commit()

    store.db().transaction(work)


# --- following the course (the consumer's hooks on the read model of courses) -----------------


def follow_course_status(uow: UnitOfWork, course_id: uuid.UUID, status: str) -> None:
    """A newer course status was kept: archived closes the course's assignments, published
    or draft opens them again."""
    rows = uow.fetch(store.FOLLOW_COURSE_STATUS, course_id=course_id, archived=status == "ARCHIVED")
    announce_changed(uow, rows)


def follow_lessons(
    uow: UnitOfWork, course_id: uuid.UUID, lesson_ids: tuple[uuid.UUID, ...]
) -> None:
    """A newer lesson list was kept: assignments of lessons no longer in it close."""
    rows = uow.fetch(store.FOLLOW_LESSONS, course_id=course_id, lesson_ids=list(lesson_ids))
    announce_changed(uow, rows)


# --- submitting -------------------------------------------------------------------------------


def _digest(assignment_id: uuid.UUID, content: dict[str, Any]) -> str:
    """What makes two requests with one Idempotency-Key the same request."""
    text = json.dumps([str(assignment_id), content], sort_keys=True, separators=(",", ":"))
    return hashlib.sha256(text.encode()).hexdigest()


def submit(
    caller: Principal, assignment_id: uuid.UUID, work: SubmitWork, *, idempotency_key: str | None
) -> Submission:
    """An enrolled student hands in work (see the module's docstring for the rules)."""
    content = work.content.model_dump(mode="json")
    digest = _digest(assignment_id, content) if idempotency_key else None

    def run(uow: UnitOfWork) -> tuple[Submission, bool]:
        row = uow.fetch_one(
            store.LOCK_FOR_SUBMITTING, assignment_id=assignment_id, user_id=caller.user_id
        )
        if row is None:
            _refuse_submission(uow, caller, assignment_id)
        assert row is not None
        checks = uow.fetch_one(
            store.SUBMIT_CHECKS,
            assignment_id=assignment_id,
            user_id=caller.user_id,
            key=idempotency_key,
        )
        assert checks is not None
        if checks["replay_id"] is not None:
            if checks["request_digest"] != digest:
                raise IdempotencyKeyReused("this Idempotency-Key was sent with another request")
            first = uow.fetch_one(
                store.SUBMISSION_FOR_CALLER,
                submission_id=checks["replay_id"],
                user_id=caller.user_id,
            )
            assert first is not None
            uow.commit()
            return _submission(first), False
        if row["cancelled"]:
            raise EnrollmentCancelled("enroll again to hand in work")
        reason = _closed_reason(row)
        if reason is not None:
            raise AssignmentClosed(f"the assignment takes no submissions ({reason})", reason=reason)
        if checks["graded"]:
            raise AlreadyGraded("a submission to this assignment is graded: no more are taken")
        uow.execute(store.SUPERSEDE, assignment_id=assignment_id, user_id=caller.user_id)
        created = uow.fetch_one(
            store.INSERT_SUBMISSION,
            id=uuid.uuid4(),
            assignment_id=assignment_id,
            user_id=caller.user_id,
            content=json.dumps(content),
            key=idempotency_key,
            digest=digest,
        )
        assert created is not None
        uow.outbox.add(
            events.SubmissionCreated(
                submission_id=created["id"],
                assignment_id=assignment_id,
                course_id=created["course_id"],
                lesson_id=row["lesson_id"],
                user_id=caller.user_id,
                submitted_at=created["submitted_at"],
                status=created["status"],
                late=created["late"],
            ),
            aggregate_id=created["id"],
        )
        uow.commit()
        return _submission({**created, "content": content, "score": None}), True

    try:
        submission, made = store.db().transaction(run)
    except DatabaseError as error:
        # The same key sent at once for another assignment, in another course (whose
        # submissions take another lock): the first one holds it.
        if is_unique_violation(error, "uq_submissions_user_idempotency_key"):
            raise IdempotencyKeyReused(
                "this Idempotency-Key was sent with another request"
            ) from error
        raise
    if made:
        observability.count("SubmissionsCreated")
    return submission


def _refuse_submission(uow: UnitOfWork, caller: Principal, assignment_id: uuid.UUID) -> None:
    """No assignment, or no enrollment in its course: 403 for its teachers, else 404."""
    row = uow.fetch_one(
        store.ASSIGNMENT_FOR_CALLER, assignment_id=assignment_id, user_id=caller.user_id
    )
    if row is not None and _standing(caller, row).manages:
        raise NotEnrolled("only students enrolled in the course hand in work")
    raise AssignmentNotFound(f"no assignment {assignment_id}")


def get_submission(caller: Principal, submission_id: uuid.UUID) -> Submission:
    """One statement; its student, the course's teachers and admins see it."""
    row = store.db().read_one(
        store.SUBMISSION_FOR_CALLER, submission_id=submission_id, user_id=caller.user_id
    )
    if row is None or not (
        row["user_id"] == caller.user_id
        or caller.is_admin
        or (caller.has_role("INSTRUCTOR") and row["teaches"])
    ):
        raise SubmissionNotFound(f"no submission {submission_id}")
    return _submission(row)


# --- grading ----------------------------------------------------------------------------------


def grade(caller: Principal, submission_id: uuid.UUID, given: GradeSubmission) -> Grade:
    """A course's teacher grades a submission, or changes its grade (a new version)."""

    def work(uow: UnitOfWork) -> tuple[Grade, bool]:
        uow.fetch_one(store.LOCK_STUDENT_OF_SUBMISSION, submission_id=submission_id)
        row = uow.fetch_one(
            store.SUBMISSION_FOR_GRADING, submission_id=submission_id, user_id=caller.user_id
        )
        missing = SubmissionNotFound(f"no submission {submission_id}")
        if row is None:
            raise missing
        if not _standing(caller, row).manages:
            if row["user_id"] == caller.user_id:
                raise NotATeacher("only the course's instructors and admins grade")
            raise missing
        max_score: Decimal = row["max_score"]
        if given.score > max_score:
            raise Unprocessable(
                "score",
                f"must be at most the assignment's maxScore ({max_score})",
                "less_than_equal",
            )
        passing: Decimal | None = row["passing_score"]
        passed = passing is None or given.score >= passing
        graded = uow.fetch_one(
            store.GRADE,
            id=uuid.uuid4(),
            submission_id=submission_id,
            score=given.score,
            feedback=given.feedback,
            passed=passed,
            graded_by=caller.user_id,
        )
        if graded is None:  # the grade it already has
            same = uow.fetch_one(store.GRADE_OF, submission_id=submission_id)
            assert same is not None
            uow.commit()
            return _grade(same), False
        uow.outbox.add(
            events.SubmissionGraded(
                submission_id=submission_id,
                assignment_id=row["assignment_id"],
                course_id=row["course_id"],
                lesson_id=row["lesson_id"],
                user_id=row["user_id"],
                score=graded["score"],
                max_score=max_score,
                passing_score=passing,
                passed=passed,
                latest=row["latest"],
                version=graded["version"],
                graded_by=caller.user_id,
                graded_at=graded["graded_at"],
            ),
            aggregate_id=submission_id,
        )
        uow.commit()
        return _grade(graded), True

    result, changed = store.db().transaction(work)
    if changed:
        observability.count("SubmissionsGraded")
    return result


# --- lists of submissions ---------------------------------------------------------------------


def _submission_page(rows: list[Row], limit: int, scope: str) -> SubmissionPage:
    page, next_cursor = keyset_page(rows, limit, scope, "submitted_at")
    return SubmissionPage(items=[_summary(r) for r in page], next_cursor=next_cursor)


def assignment_submissions(
    caller: Principal,
    assignment_id: uuid.UUID,
    *,
    status: str | None,
    student_id: uuid.UUID | None,
    latest: bool,
    limit: int,
    cursor: str | None,
) -> SubmissionPage:
    """An assignment's submissions for its course's teachers, newest first: optionally of
    one status, of one student, only each student's latest. Two statements: the caller's
    standing, one keyset page."""
    row = store.db().read_one(
        store.ASSIGNMENT_FOR_CALLER, assignment_id=assignment_id, user_id=caller.user_id
    )
    missing = AssignmentNotFound(f"no assignment {assignment_id}")
    if row is None:
        raise missing
    standing = _standing(caller, row)
    if not standing.sees:
        raise missing
    if not standing.manages:
        raise NotYourSubmissions("a student's own submissions are at /me/submissions")
    scope = (
        f"assignments/{assignment_id}/submissions"
        f"?status={status or ''}&userId={student_id or ''}&latest={latest}"
    )
    params: dict[str, Any] = {"assignment_id": assignment_id, "limit": limit + 1}
    if status:
        params["status"] = status
    if student_id is not None:
        params["student_id"] = student_id
    after = keyset_after(scope, cursor, "submitted_at")
    params.update(after)
    sql = store.ASSIGNMENT_SUBMISSIONS[
        (status is not None, student_id is not None, latest, bool(after))
    ]
    return _submission_page(store.db().read(sql, **params), limit, scope)


def my_submissions(
    caller: Principal, *, course_id: uuid.UUID | None, limit: int, cursor: str | None
) -> SubmissionPage:
    """The caller's own submissions, newest first, in every course or in one: one statement."""
    scope = f"me/submissions?courseId={course_id or ''}"
    params: dict[str, Any] = {"user_id": caller.user_id, "limit": limit + 1}
    if course_id is not None:
        params["course_id"] = course_id
    after = keyset_after(scope, cursor, "submitted_at")
    params.update(after)
    sql = store.MY_SUBMISSIONS[(course_id is not None, bool(after))]
    return _submission_page(store.db().read(sql, **params), limit, scope)
