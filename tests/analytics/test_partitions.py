"""The snapshots' monthly partitions: made ahead by the job, on demand by the consumer, and
dropped past retention -- aggregates kept, and an event of a dropped month refused rather
than counted twice."""

from __future__ import annotations

import uuid
from datetime import date
from typing import Any

import pytest

from functions.analytics import partitions, rebuild
from functions.analytics.jobs import snapshot_partitions
from tests.analytics.conftest import aggregates
from tests.analytics.events import at, bus_event
from tests.analytics.test_counting import enrolled


def snapshots(admin_sql: Any) -> int:
    return int(admin_sql.run("SELECT count(*) FROM lms_analytics.event_snapshots")[0][0])


def test_the_consumer_makes_the_partition_of_a_month_none_holds(
    analytics: Any, admin_sql: Any
) -> None:
    analytics.deliver(bus_event(enrolled(uuid.uuid4()), at("2024-02-29T23:00:00+00:00")))
    assert "event_snapshots_2024_02" in partitions.partition_names()
    where = admin_sql.run("SELECT tableoid::regclass::text FROM lms_analytics.event_snapshots")
    assert where == [["lms_analytics.event_snapshots_2024_02"]]


def test_the_job_makes_months_ahead_and_drops_those_past_retention(
    analytics: Any, admin_sql: Any, override_env: Any
) -> None:
    # Given events of June and October, and a retention of 3 months on 2026-11-15
    override_env("LMS_ANALYTICS_RETENTION_MONTHS", "3")
    override_env("LMS_ANALYTICS_PARTITIONS_AHEAD_MONTHS", "2")
    june = bus_event(enrolled(course := uuid.uuid4()), at("2026-06-10T10:00:00+00:00"))
    october = bus_event(enrolled(course), at("2026-10-10T10:00:00+00:00"))
    analytics.deliver(june)
    analytics.deliver(october)
    counted = aggregates(admin_sql)
    # When the job runs
    done = partitions.maintain(today=date(2026, 11, 15))
    # Then November to January exist, June is gone, its aggregates are kept
    names = partitions.partition_names()
    assert {"event_snapshots_2026_11", "event_snapshots_2026_12", "event_snapshots_2027_01"} <= set(
        names
    )
    assert "event_snapshots_2026_06" not in names
    assert "event_snapshots_2026_10" in names
    assert done["dropped"] >= 1 and done["ensured"] == 3
    assert snapshots(admin_sql) == 1
    assert aggregates(admin_sql) == counted
    # And June's event delivered again (its inbox row pruned) is refused, not counted twice
    admin_sql.run("DELETE FROM lms_analytics.inbox")
    analytics.deliver(june)
    assert aggregates(admin_sql) == counted
    assert snapshots(admin_sql) == 1
    assert "event_snapshots_2026_06" not in partitions.partition_names()
    # And a rebuild starts at the first Monday whose week is all kept (2026-09-01 is a Tuesday)
    chosen = rebuild.plan(date(2026, 6, 1), date(2026, 11, 15), today=date(2026, 11, 15))
    assert chosen.from_day == date(2026, 9, 7)


def test_the_scheduled_handler_reports_what_it_did(analytics: Any) -> None:
    result = snapshot_partitions.handler({}, None)
    assert result["ensured"] == 4  # this month and the 3 ahead (the default)


def test_the_service_role_may_not_create_tables_itself(analytics: Any) -> None:
    from pg8000.exceptions import DatabaseError

    from functions.analytics import store

    with pytest.raises(DatabaseError, match="permission denied"):
        store.db().execute(
            "CREATE TABLE event_snapshots_2030_01 PARTITION OF event_snapshots "
            "FOR VALUES FROM ('2030-01-01') TO ('2030-02-01')"
        )
