"""What is counted, and into which period: the one definition the consumer, the rebuild and
the routes read.

A period is the event's own time (``occurredAt``), never its arrival: the UTC day
``2026-11-30`` and the ISO week ``2026-W49`` (ISO 8601: weeks start on Monday and belong to
the year of their Thursday, so 2027-01-01 is in ``2026-W53``). A late or redelivered event
lands where it happened.

Each ``Rule`` says: an event of this type, when this field has this value, adds this much
(one, or a decimal field of the event) to this metric of its course or of the platform.
The consumer applies the rules to one event in Python (``contributions``); the rebuild
turns the same rules into SQL over the kept snapshots (``rebuild``), so both read the same
definitions and must agree. Two metrics need more than a rule:

- active learners: distinct students with any activity in the course in the period, kept
  exact as rows ``(period, course, user)``; a row inserted counts one, a row already there
  counts nothing;
- grades: a submission's grade is its newest grading (highest ``version``); its percentage
  (score / max score x 100, 4 decimals) is counted in ``gradeSum`` and ``gradeCount`` of
  the period of that grading, and moves there when a regrade arrives.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from typing import Any, Literal

Granularity = Literal["day", "week"]
Scope = Literal["course", "platform"]

PLATFORM = "platform"
# Spans a series may cover, in periods (a year of days, two years of weeks).
MAX_DAYS = 366
MAX_WEEKS = 104


# --- periods --------------------------------------------------------------------------------


def day_of(moment: datetime) -> str:
    return moment.astimezone(UTC).date().isoformat()


def week_of(moment: datetime | date) -> str:
    if isinstance(moment, datetime):
        moment = moment.astimezone(UTC).date()
    year, week, _ = moment.isocalendar()
    return f"{year}-W{week:02d}"


def periods_of(moment: datetime) -> tuple[str, str]:
    """The day and the ISO week an event that happened at ``moment`` counts in."""
    return day_of(moment), week_of(moment)


_WEEK = re.compile(r"^(\d{4})-W(\d{2})$")


def monday_of_week(text: str) -> date:
    """The Monday of an ISO week ``2026-W49``; ValueError when there is no such week."""
    found = _WEEK.match(text)
    if not found:
        raise ValueError(f"{text!r} is not an ISO week like 2026-W49")
    return date.fromisocalendar(int(found[1]), int(found[2]), 1)


def monday(day: date) -> date:
    return day - timedelta(days=day.weekday())


def day_series(start: date, end: date) -> list[str]:
    return [(start + timedelta(days=n)).isoformat() for n in range((end - start).days + 1)]


def week_series(start: date, end: date) -> list[str]:
    """The ISO weeks from the one holding ``start`` to the one holding ``end``."""
    first, last = monday(start), monday(end)
    return [week_of(first + timedelta(weeks=n)) for n in range((last - first).days // 7 + 1)]


def days(start: date, end: date) -> Iterator[date]:
    for n in range((end - start).days + 1):
        yield start + timedelta(days=n)


# --- metrics --------------------------------------------------------------------------------


@dataclass(frozen=True)
class Metric:
    name: str
    scope: Scope
    definition: str
    decimal: bool = False  # a sum of decimals (money, grades) rather than a count


COURSE_METRICS: tuple[Metric, ...] = (
    Metric("enrollments", "course", "Enrollments made or taken up again (EnrollmentCreated)"),
    Metric("cancellations", "course", "Enrollments cancelled (EnrollmentCancelled)"),
    Metric("completions", "course", "Enrollments completed (EnrollmentCompleted)"),
    Metric("lessonsCompleted", "course", "Lessons completed by students (LessonCompleted)"),
    Metric(
        "activeLearners",
        "course",
        "Distinct students who enrolled, completed a lesson or the course, attempted a quiz "
        "or submitted work in the course during the period (exact)",
    ),
    Metric("quizAttempts", "course", "Quiz attempts (QuizAttempted)"),
    Metric("quizPasses", "course", "Quiz attempts that passed (QuizAttempted, passed)"),
    Metric("submissions", "course", "Assignment submissions (SubmissionCreated)"),
    Metric("lateSubmissions", "course", "Submissions after the due date (SubmissionCreated, late)"),
    Metric(
        "gradedSubmissions",
        "course",
        "Submissions graded for the first time (SubmissionGraded, version 1; a regrade is "
        "not counted again)",
    ),
    Metric(
        "gradeSum",
        "course",
        "Sum of the current grades, in percent of the maximum score, of the submissions "
        "whose newest grading happened in the period",
        decimal=True,
    ),
    Metric(
        "gradeCount",
        "course",
        "Number of grades in gradeSum: the average grade is gradeSum / gradeCount",
    ),
)
PLATFORM_METRICS: tuple[Metric, ...] = (
    Metric("registrations", "platform", "Accounts registered (UserRegistered)"),
    Metric("enrollments", "platform", "Enrollments made or taken up again, every course"),
    Metric("paidInvoices", "platform", "Invoices paid (InvoicePaid)"),
    Metric(
        "revenue",
        "platform",
        "Sum of the paid invoices' amounts in one currency (InvoicePaid; ?currency=USD)",
        decimal=True,
    ),
)
METRICS: dict[Scope, dict[str, Metric]] = {
    "course": {m.name: m for m in COURSE_METRICS},
    "platform": {m.name: m for m in PLATFORM_METRICS},
}


def revenue_metric(currency: str) -> str:
    """Revenue is kept per currency: one aggregate per currency, never added across."""
    return f"revenue.{currency}"


def course_dimension(course_id: object) -> str:
    return f"course:{course_id}"


# --- rules ----------------------------------------------------------------------------------


@dataclass(frozen=True)
class Rule:
    """An event of ``event_type`` (its ``data`` fields by their JSON names) adds to a metric."""

    event_type: str
    metric: str
    scope: Scope
    # Only when this boolean field is true, or this field equals this value.
    when: tuple[str, Any] | None = None
    # The decimal field added; None adds one.
    amount: str | None = None
    # The field whose value ends the metric's name (``revenue.USD``).
    suffix: str | None = None


RULES: tuple[Rule, ...] = (
    Rule("UserRegistered", "registrations", "platform"),
    Rule("EnrollmentCreated", "enrollments", "course"),
    Rule("EnrollmentCreated", "enrollments", "platform"),
    Rule("EnrollmentCancelled", "cancellations", "course"),
    Rule("EnrollmentCompleted", "completions", "course"),
    Rule("LessonCompleted", "lessonsCompleted", "course"),
    Rule("QuizAttempted", "quizAttempts", "course"),
    Rule("QuizAttempted", "quizPasses", "course", when=("passed", True)),
    Rule("SubmissionCreated", "submissions", "course"),
    Rule("SubmissionCreated", "lateSubmissions", "course", when=("late", True)),
    Rule("SubmissionGraded", "gradedSubmissions", "course", when=("version", 1)),
    Rule("InvoicePaid", "paidInvoices", "platform"),
    Rule("InvoicePaid", "revenue", "platform", amount="amount", suffix="currency"),
)

# The events that make a student active in a course: they carry ``courseId`` and the
# student's ``userId`` (a cancellation is not one: an administrator may make it).
ACTIVITY_EVENTS: frozenset[str] = frozenset(
    {"EnrollmentCreated", "LessonCompleted", "EnrollmentCompleted", "QuizAttempted",
     "SubmissionCreated"}
)  # fmt: skip
GRADE_EVENT = "SubmissionGraded"
ACTIVE_LEARNERS = "activeLearners"
GRADE_SUM = "gradeSum"
GRADE_COUNT = "gradeCount"


@dataclass(frozen=True)
class Contribution:
    dimension: str
    period: str
    metric: str
    value: Decimal


def _dimension(rule: Rule, data: dict[str, Any]) -> str:
    return course_dimension(data["courseId"]) if rule.scope == "course" else PLATFORM


def contributions(
    event_type: str, data: dict[str, Any], occurred_at: datetime
) -> list[Contribution]:
    """What the rules add for one event (``data`` as it travels: camelCase JSON)."""
    found: list[Contribution] = []
    for rule in RULES:
        if rule.event_type != event_type:
            continue
        if rule.when is not None and data.get(rule.when[0]) != rule.when[1]:
            continue
        value = Decimal(str(data[rule.amount])) if rule.amount else Decimal(1)
        metric = f"{rule.metric}.{data[rule.suffix]}" if rule.suffix else rule.metric
        for period in periods_of(occurred_at):
            found.append(Contribution(_dimension(rule, data), period, metric, value))
    return found
