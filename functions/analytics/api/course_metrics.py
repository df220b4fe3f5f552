"""GET /analytics/courses/{courseId}: a course's metric per day or week (its instructors,
admins)."""

import uuid
from typing import Annotated

from functions.analytics import use_cases
from functions.analytics.models import (
    COURSE_METRICS,
    DAY_OR_WEEK,
    Granularity,
    Series,
)
from functions.analytics.service import SERVICE
from lms_platform.http import Query, current_principal

api = SERVICE.endpoint(__name__)


@api.handle
def course_metrics(
    course_id: uuid.UUID,
    metric: Annotated[str, Query(max_length=64, json_schema_extra=COURSE_METRICS)],
    period: Annotated[Granularity, Query()] = "day",
    from_: Annotated[
        str | None, Query("from", max_length=10, json_schema_extra=DAY_OR_WEEK)
    ] = None,
    to: Annotated[str | None, Query(max_length=10, json_schema_extra=DAY_OR_WEEK)] = None,
) -> Series:
    return use_cases.course_series(
        current_principal(), course_id, metric=metric, period=period, from_=from_, to=to
    )


handler = api.handler
