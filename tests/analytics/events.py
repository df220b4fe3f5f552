"""Events of every type, as the bus delivers them, for the Analytics tests: a small world
of courses, students and submissions, and a builder per event type."""

from __future__ import annotations

import json
import random
import uuid
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import Any

from lms_events import assignment, content, course, enrollment, payment, user
from lms_events.envelope import Envelope, EventData

EVENT_TYPES: tuple[type[EventData], ...] = (
    *user.EVENTS,
    *course.EVENTS,
    *enrollment.EVENTS,
    *content.EVENTS,
    *assignment.EVENTS,
    *payment.EVENTS,
)


def bus_event(
    data: EventData, occurred_at: datetime, event_id: uuid.UUID | None = None
) -> dict[str, Any]:
    """``data`` in its envelope, as EventBridge hands it to a consumer."""
    envelope = Envelope.wrap(data, aggregate_id=uuid.uuid4())
    envelope = envelope.model_copy(
        update={"occurred_at": occurred_at, "event_id": event_id or uuid.uuid4()}
    )
    return {
        "source": data.source,
        "detail-type": data.event_type,
        "detail": json.loads(envelope.detail_json()),
    }


def at(text: str) -> datetime:
    return datetime.fromisoformat(text).astimezone(UTC)


class World:
    """A few courses, students and submissions that random events are drawn from."""

    def __init__(self, rnd: random.Random, courses: int = 2, students: int = 4) -> None:
        self.rnd = rnd
        self.courses = [uuid.uuid4() for _ in range(courses)]
        self.students = [uuid.uuid4() for _ in range(students)]
        self.submissions = [(uuid.uuid4(), rnd.choice(self.courses)) for _ in range(3)]
        self.grade_versions: dict[uuid.UUID, int] = {}

    def pick(self, seq: Any) -> Any:
        return self.rnd.choice(seq)

    def data(self, kind: type[EventData]) -> EventData:
        r, now = self.rnd, datetime(2026, 1, 1, tzinfo=UTC)
        c, u, i = self.pick(self.courses), self.pick(self.students), uuid.uuid4()
        name = kind.__name__
        if name == "UserRegistered":
            return user.UserRegistered(user_id=u, email="a@example.com", display_name="A",
                                       roles=["STUDENT"], version=1)  # fmt: skip
        if name == "ProfileUpdated":
            return user.ProfileUpdated(user_id=u, display_name="B", avatar_url=None, bio=None)
        if name in ("RoleAssigned", "RoleRevoked"):
            extra = {"assigned_by": None} if name == "RoleAssigned" else {"revoked_by": None}
            return kind(user_id=u, role="INSTRUCTOR", version=2, **extra)  # type: ignore[call-arg]
        if name == "UserStatusChanged":
            return user.UserStatusChanged(user_id=u, status="ACTIVE", changed_by=None, version=3)
        header = {"course_id": c, "version": r.randint(1, 9), "title": "T", "slug": "t",
                  "description": None}  # fmt: skip
        if name == "CourseCreated":
            return course.CourseCreated(**header, status="DRAFT", created_by=u)
        if name in ("CourseUpdated", "CourseArchived"):
            return kind(**header, status="ARCHIVED")  # type: ignore[call-arg]
        if name == "CoursePublished":
            return course.CoursePublished(**header, status="PUBLISHED", lesson_ids=[i])
        if name == "LessonAdded":
            return course.LessonAdded(course_id=c, version=r.randint(1, 9), lesson_id=i,
                                      module_id=i, title="L", type="text",
                                      duration_minutes=None, lesson_ids=[i])  # fmt: skip
        if name == "LessonRemoved":
            return course.LessonRemoved(course_id=c, version=r.randint(1, 9), lesson_id=i,
                                        module_id=i, lesson_ids=[])  # fmt: skip
        if name == "LessonsReordered":
            return course.LessonsReordered(course_id=c, version=r.randint(1, 9), lesson_ids=[i])
        if name in ("InstructorAssigned", "InstructorRemoved"):
            extra = {"role": "INSTRUCTOR"} if name == "InstructorAssigned" else {}
            return kind(course_id=c, version=r.randint(1, 9), user_id=u, **extra)  # type: ignore[call-arg]
        person = {"enrollment_id": i, "user_id": u, "course_id": c, "version": r.randint(1, 5)}
        if name == "EnrollmentCreated":
            return enrollment.EnrollmentCreated(
                **person, enrolled_at=now, reactivated=r.random() < 0.2
            )
        if name == "LessonCompleted":
            return enrollment.LessonCompleted(**person, lesson_id=i, completed_at=now,
                                              progress_pct=Decimal("50.00"))  # fmt: skip
        if name == "EnrollmentCompleted":
            return enrollment.EnrollmentCompleted(**person, completed_at=now)
        if name == "EnrollmentCancelled":
            return enrollment.EnrollmentCancelled(**person, cancelled_by=u)
        item = {"content_item_id": i, "course_id": c, "lesson_id": i}
        if name == "ContentPublished":
            return content.ContentPublished(**item, revision=1, type="pdf", title="P",
                                            version_id=i, version=1, published_at=now,
                                            mime_type="application/pdf", size_bytes=10,
                                            duration_secs=None, question_count=None)  # fmt: skip
        if name == "QuizAttempted":
            passed = r.random() < 0.5
            return content.QuizAttempted(**item, attempt_id=i, user_id=u, version_id=i,
                                         score_pct=Decimal("66.67"), pass_mark_pct=60,
                                         passed=passed, correct_count=2, question_count=3,
                                         attempted_at=now)  # fmt: skip
        state = {"assignment_id": i, "course_id": c, "version": 1, "lesson_id": None,
                 "title": "A", "description": "", "due_at": None, "max_score": Decimal(10),
                 "passing_score": None, "status": "OPEN", "closed_reason": None}  # fmt: skip
        if name == "AssignmentCreated":
            return assignment.AssignmentCreated(**state, created_by=u)
        if name == "AssignmentUpdated":
            return assignment.AssignmentUpdated(**state)
        if name == "AssignmentDeleted":
            return assignment.AssignmentDeleted(
                assignment_id=i, course_id=c, version=2, deleted_by=u
            )
        if name == "SubmissionCreated":
            late = r.random() < 0.3
            return assignment.SubmissionCreated(submission_id=i, assignment_id=i, course_id=c,
                                                lesson_id=None, user_id=u, submitted_at=now,
                                                status="LATE" if late else "SUBMITTED",
                                                late=late)  # fmt: skip
        if name == "SubmissionGraded":
            submission, in_course = self.pick(self.submissions)
            version = self.grade_versions.get(submission, 0) + 1
            self.grade_versions[submission] = version
            max_score = Decimal(r.choice([10, 20, 7]))
            score = Decimal(r.randint(0, int(max_score)))
            return assignment.SubmissionGraded(submission_id=submission, assignment_id=i,
                                               course_id=in_course, lesson_id=None, user_id=u,
                                               score=score, max_score=max_score,
                                               passing_score=None, passed=True, latest=True,
                                               version=version, graded_by=u,
                                               graded_at=now)  # fmt: skip
        invoice = {"invoice_id": i, "user_id": u}
        money = {"amount": Decimal(r.choice(["19.90", "5", "0.01", "1000"])),
                 "currency": r.choice(["USD", "EUR", "JPY"])}  # fmt: skip
        if name == "InvoiceCreated":
            return payment.InvoiceCreated(**invoice, **money, plan_id=i, plan_interval="month",
                                          due_at=now, created_at=now)  # fmt: skip
        if name == "InvoicePaid":
            return payment.InvoicePaid(**invoice, **money, plan_id=i, plan_interval="month",
                                       paid_at=now, payment_id=i)  # fmt: skip
        if name == "PaymentFailed":
            return payment.PaymentFailed(**invoice, **money, payment_id=i, failure_code=None,
                                         decline_code=None, failed_at=now)  # fmt: skip
        if name == "InvoiceVoided":
            return payment.InvoiceVoided(**invoice, voided_by=u, voided_at=now)
        raise AssertionError(f"no builder for {name}")

    def moment(self, start: datetime, days: int) -> datetime:
        return start + timedelta(seconds=self.rnd.randrange(days * 86400))
