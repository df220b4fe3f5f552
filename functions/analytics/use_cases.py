"""The Analytics service's use cases: a metric's series for a course or the platform.

A series is dense: every day (or ISO week) of the asked span is in it, 0 where nothing
was counted. A span is at most 366 days or 104 weeks. Who teaches a course comes from the
read model of courses fed by Course events; anyone else gets the same 404 as for a course
that does not exist.
"""

from __future__ import annotations

import re
import uuid
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from typing import Any

from functions.analytics import metrics, store
from functions.analytics.models import Granularity, Point, Series
from lms_platform.http import BadRequest, NotFound, Principal, require_role
from lms_platform.rights import teaches

# What a series covers when the caller does not say: the last 30 days, the last 12 weeks.
DEFAULT_DAYS = 30
DEFAULT_WEEKS = 12
_DAY = re.compile(r"^\d{4}-\d{2}-\d{2}$")


class CourseNotFound(NotFound):
    pass


class BadSeries(BadRequest):
    title = "Bad series"


@dataclass(frozen=True)
class Span:
    first: date  # a day; for weeks, the Monday of the first week
    last: date  # a day; for weeks, the Sunday of the last week
    periods: list[str]


def _parse_day(text: str, name: str) -> date:
    if not _DAY.match(text):
        raise BadSeries(f"{name} must be a day like 2026-11-30, not {text!r}")
    try:
        return date.fromisoformat(text)
    except ValueError:
        raise BadSeries(f"{name} is not a day: {text!r}") from None


def _parse(text: str, name: str, period: Granularity) -> date:
    """A day; for weekly series also an ISO week (``2026-W49``, its Monday)."""
    if period == "week" and "W" in text:
        try:
            return metrics.monday_of_week(text)
        except ValueError:
            raise BadSeries(f"{name} must be an ISO week like 2026-W49, not {text!r}") from None
    return _parse_day(text, name)


def span(
    period: Granularity, from_: str | None, to: str | None, *, today: date | None = None
) -> Span:
    today = today or datetime.now(UTC).date()
    last = _parse(to, "to", period) if to is not None else today
    if period == "day":
        first = (
            _parse(from_, "from", period)
            if from_ is not None
            else last - timedelta(days=DEFAULT_DAYS - 1)
        )
        if first > last:
            raise BadSeries(f"from ({first}) is after to ({last})")
        count = (last - first).days + 1
        if count > metrics.MAX_DAYS:
            raise BadSeries(
                f"a daily series spans at most {metrics.MAX_DAYS} days; this one {count}"
            )
        return Span(first, last, metrics.day_series(first, last))
    last = metrics.monday(last)
    first = (
        metrics.monday(_parse(from_, "from", period))
        if from_ is not None
        else last - timedelta(weeks=DEFAULT_WEEKS - 1)
    )
    if first > last:
        raise BadSeries(f"from ({first}) is after to ({last})")
    count = (last - first).days // 7 + 1
    if count > metrics.MAX_WEEKS:
        raise BadSeries(
            f"a weekly series spans at most {metrics.MAX_WEEKS} weeks; this one {count}"
        )
    return Span(first, last + timedelta(days=6), metrics.week_series(first, last))


def _metric(scope: metrics.Scope, name: str) -> metrics.Metric:
    found = metrics.METRICS[scope].get(name)
    if found is None:
        valid = sorted(metrics.METRICS[scope])
        raise BadSeries(
            f"unknown metric {name!r}; the {scope} metrics are: {', '.join(valid)}",
            validMetrics=valid,
        )
    return found


def _points(rows: list[dict[str, Any]], metric: metrics.Metric) -> list[Point]:
    def value(raw: Any) -> int | str:
        number = Decimal(str(raw))
        return str(number) if metric.decimal else int(number)

    return [Point(period=r["period"], value=value(r["value"])) for r in rows]


def course_series(
    caller: Principal,
    course_id: uuid.UUID,
    *,
    metric: str,
    period: Granularity,
    from_: str | None,
    to: str | None,
) -> Series:
    chosen, covered = _metric("course", metric), span(period, from_, to)
    standing = store.db().read_one(
        store.COURSE_STANDING, course_id=course_id, user_id=caller.user_id
    )
    assert standing is not None
    if not standing["known"] or not teaches(caller, member=standing["teaches"]):
        raise CourseNotFound(f"no course {course_id}")
    rows = store.db().read(
        store.SERIES,
        dimension=metrics.course_dimension(course_id),
        metric=chosen.name,
        periods=covered.periods,
    )
    return Series(
        metric=chosen.name, period=period, from_=covered.first, to=covered.last,
        course_id=course_id, points=_points(rows, chosen),
    )  # fmt: skip


_CURRENCY = re.compile(r"^[A-Z]{3}$")


def platform_series(
    *,
    metric: str,
    period: Granularity,
    from_: str | None,
    to: str | None,
    currency: str | None,
) -> Series:
    require_role("ADMIN")
    chosen, covered = _metric("platform", metric), span(period, from_, to)
    stored = chosen.name
    if chosen.name == "revenue":
        if currency is None or not _CURRENCY.match(currency):
            raise BadSeries("revenue is kept per currency: add currency=USD (ISO 4217)")
        stored = metrics.revenue_metric(currency)
    elif currency is not None:
        raise BadSeries(f"{chosen.name} has no currency; only revenue takes one")
    rows = store.db().read(
        store.SERIES, dimension=metrics.PLATFORM, metric=stored, periods=covered.periods
    )
    return Series(
        metric=chosen.name, period=period, from_=covered.first, to=covered.last,
        currency=currency, points=_points(rows, chosen),
    )  # fmt: skip
