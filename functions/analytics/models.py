"""The Analytics service's response bodies (camelCase on the wire).

A count is a JSON integer; a sum of decimals (revenue, grades) a decimal string, so that
no amount passes through a float.
"""

from __future__ import annotations

import uuid
from datetime import date
from typing import Literal

from pydantic import Field

from lms_platform.http import ApiModel

Granularity = Literal["day", "week"]


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
