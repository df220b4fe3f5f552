"""Analytics fixtures: the consumer fed events in process, the aggregates as a dict, and
the service's tables emptied between examples of a property."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

import pytest

from functions.analytics import consumer as analytics_consumer
from lms_platform.db import open_connection, params_from_url

# The fixtures of the end-to-end story: events carried to every consumer, the content
# bucket, the payment gateway's simulator.
from tests.content.conftest import content_bucket, deliver  # noqa: F401
from tests.payment.conftest import gateway  # noqa: F401

TABLES = (
    "event_snapshots", "aggregates", "active_learners", "submission_grades", "rebuilds",
    "inbox", "outbox", "snapshot_retention",
)  # fmt: skip


def truncate(admin_url: str) -> None:
    connection = open_connection(params_from_url(admin_url))
    try:
        connection.run(f"TRUNCATE {', '.join('lms_analytics.' + t for t in TABLES)}")
    finally:
        connection.close()


def aggregates(admin_sql: Any, *, nonzero: bool = True) -> dict[tuple[str, str, str], Decimal]:
    rows = admin_sql.run(
        "SELECT dimension, period, metric_name, value FROM lms_analytics.aggregates"
    )
    return {(d, p, m): Decimal(str(v)).normalize() for d, p, m, v in rows if not nonzero or v != 0}


@pytest.fixture
def analytics(platform_env: dict[str, str], admin_url: str) -> Any:
    """The Analytics consumer, its tables empty."""
    truncate(admin_url)
    from functions.analytics import counting

    counting.forget_partitions()
    return analytics_consumer.consumer
