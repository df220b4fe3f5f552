"""The Analytics service's response bodies (camelCase on the wire).

A count is a JSON integer; a sum of decimals (revenue, grades) a decimal string, so that
no amount passes through a float.
"""

from __future__ import annotations

import uuid
from datetime import date
from typing import Any, Literal

from pydantic import Field

from functions.analytics import metrics
from lms_platform.http import ApiModel

Granularity = Literal["day", "week"]

# What the API document says of the series' parameters. The use case checks them itself, so
# that an unknown metric is a 400 that lists the valid ones, and a malformed day a 400 that
# says what a day looks like.
COURSE_METRICS: dict[str, Any] = {"enum": sorted(metrics.METRICS["course"])}
PLATFORM_METRICS: dict[str, Any] = {"enum": sorted(metrics.METRICS["platform"])}
DAY_OR_WEEK: dict[str, Any] = {
    "pattern": r"^([0-9]{4}-[0-9]{2}-[0-9]{2}|[0-9]{4}-W[0-9]{2})$",
    "description": "a UTC day (2026-11-30); for weekly series also an ISO week (2026-W49)",
}


class Point(ApiModel):
    # "2026-11-30" for a day, "2026-W49" for an ISO week.
    period: str
    value: int | str


class Series(ApiModel):
    metric: str
    period: Granularity
    # The first and last day the series covers (whole weeks for weekly series).
    from_: date = Field(alias="from")
    to: date
    course_id: uuid.UUID | None = None
    currency: str | None = None
    points: list[Point]
