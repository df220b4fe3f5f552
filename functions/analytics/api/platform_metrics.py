"""GET /analytics/platform: a platform-wide metric per day or week (admins)."""

from typing import Annotated

from functions.analytics import use_cases
from functions.analytics.models import (
    DAY_OR_WEEK,
    PLATFORM_METRICS,
    Granularity,
    Series,
)
from functions.analytics.service import SERVICE
from lms_platform.http import Query

api = SERVICE.endpoint(__name__)


@api.handle
def platform_metrics(
    metric: Annotated[str, Query(max_length=64, json_schema_extra=PLATFORM_METRICS)],
    period: Annotated[Granularity, Query()] = "day",
    from_: Annotated[
        str | None, Query("from", max_length=10, json_schema_extra=DAY_OR_WEEK)
    ] = None,
    to: Annotated[str | None, Query(max_length=10, json_schema_extra=DAY_OR_WEEK)] = None,
    currency: Annotated[str | None, Query(max_length=3, description="revenue's: USD")] = None,
) -> Series:
    return use_cases.platform_series(
        metric=metric, period=period, from_=from_, to=to, currency=currency
    )


handler = api.handler
