"""The rebuild: aggregates made again from the snapshots equal those counted as events came."""

from __future__ import annotations

import random
from datetime import date
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from functions.analytics import rebuild
from tests.analytics.conftest import aggregates, truncate
from tests.analytics.events import EVENT_TYPES, World, at, bus_event

# Around a year's end, so that ISO weeks straddle it (2026-W53 holds 2027-01-01).
START = at("2026-12-24T00:00:00+00:00")
DAYS = 16


def rebuild_all(from_day: date | None = None, to_day: date | None = None) -> int:
    chosen = rebuild.plan(from_day, to_day, today=date(2027, 1, 10))
    runner = rebuild.start_here(chosen)
    return rebuild.run_here(runner)


@settings(
    max_examples=25,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(
    seed=st.integers(0, 2**32 - 1),
    size=st.integers(1, 60),
    repeats=st.integers(0, 20),
)
def test_rebuild_equals_counting_for_any_stream(
    analytics: Any, admin_sql: Any, admin_url: str, seed: int, size: int, repeats: int
) -> None:
    truncate(admin_url)
    # Given a random stream of every event type, some delivered again, all shuffled
    rnd = random.Random(seed)
    world = World(rnd)
    events = [
        bus_event(world.data(rnd.choice(EVENT_TYPES)), world.moment(START, DAYS))
        for _ in range(size)
    ]
    stream = events + [rnd.choice(events) for _ in range(repeats)]
    rnd.shuffle(stream)
    for event in stream:
        analytics.deliver(event)
    counted = aggregates(admin_sql)
    # When the aggregates are rebuilt from the snapshots (twice: a rebuild is repeatable)
    snapshots = rebuild_all()
    assert snapshots == len(events)
    rebuilt = aggregates(admin_sql)
    rebuild_all()
    # Then they are what counting made
    assert rebuilt == counted
    assert aggregates(admin_sql) == counted


def test_rebuild_repairs_damaged_aggregates_in_its_range_only(
    analytics: Any, admin_sql: Any
) -> None:
    # Given counted events over two weeks, then damaged aggregates in both
    rnd = random.Random(3)
    world = World(rnd)
    for kind in EVENT_TYPES * 3:
        analytics.deliver(bus_event(world.data(kind), world.moment(START, 14)))
    counted = aggregates(admin_sql)
    admin_sql.run("UPDATE lms_analytics.aggregates SET value = value + 5")
    admin_sql.run("DELETE FROM lms_analytics.active_learners")
    # When the week of 2026-12-28 (2026-W53) alone is rebuilt
    rebuild_all(date(2026, 12, 30), date(2026, 12, 30))
    # Then that week's days and the week are right again, the others still damaged
    after = aggregates(admin_sql)
    in_week = {"2026-W53", *(f"2026-12-{d}" for d in (28, 29, 30, 31)), "2027-01-01",
               "2027-01-02", "2027-01-03"}  # fmt: skip
    assert {k: v for k, v in after.items() if k[1] in in_week} == {
        k: v for k, v in counted.items() if k[1] in in_week
    }
    outside = [k for k in counted if k[1] not in in_week]
    assert outside
    assert all(after[k] == counted[k] + 5 for k in outside)


def test_a_rebuild_taken_over_stops_and_the_newer_one_finishes(
    analytics: Any, admin_sql: Any
) -> None:
    world = World(random.Random(5))
    for kind in EVENT_TYPES:
        analytics.deliver(bus_event(world.data(kind), world.moment(START, 10)))
    counted = aggregates(admin_sql)
    older = rebuild.start_here(rebuild.plan(None, None, today=date(2027, 1, 10)))
    newer = rebuild.start_here(rebuild.plan(None, None, today=date(2027, 1, 10)))
    assert rebuild.run_here(older) == 0  # stale at its first day
    rebuild.run_here(newer)
    row = rebuild.status()
    assert row is not None and row["finished_at"] is not None
    assert aggregates(admin_sql) == counted


def test_a_queued_rebuild_runs_as_chained_tasks_to_the_same_result(
    analytics: Any, admin_sql: Any, override_env: Any
) -> None:
    import json
    import uuid as uuid_module

    from functions.analytics.consumer import handler
    from lms_platform import tasks
    from lms_platform.aws import client
    from tests.enrollment.conftest import sqs_batch

    # Given counted events, damaged aggregates, and the service's own queue
    world = World(random.Random(11))
    for kind in EVENT_TYPES * 2:
        analytics.deliver(bus_event(world.data(kind), world.moment(START, 14)))
    counted = aggregates(admin_sql)
    admin_sql.run("UPDATE lms_analytics.aggregates SET value = value * 3 + 1")
    sqs = client("sqs")
    url = sqs.create_queue(QueueName=f"test-analytics-{uuid_module.uuid4().hex[:8]}")["QueueUrl"]
    arn = sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["QueueArn"])["Attributes"][
        "QueueArn"
    ]
    override_env("LMS_OWN_QUEUE_URL", url)
    # When the rebuild is queued, and each task may do two days only before handing over
    override_env("LMS_ANALYTICS_RETENTION_MONTHS", "24")
    budget = tasks.DEFAULT_BUDGET_SECONDS
    chosen = rebuild.plan(None, None, today=date(2027, 1, 10))
    rebuild.start_queued(chosen)
    runs = 0
    try:
        tasks.DEFAULT_BUDGET_SECONDS = 0.0  # every task hands over after its first day
        while True:
            messages = sqs.receive_message(QueueUrl=url, MaxNumberOfMessages=10).get("Messages", [])
            if not messages:
                break
            assert all(json.loads(m["Body"])["lmsTask"]["name"] == rebuild.TASK for m in messages)
            assert not handler(sqs_batch(messages, arn), None).get("batchItemFailures")
            for m in messages:
                sqs.delete_message(QueueUrl=url, ReceiptHandle=m["ReceiptHandle"])
            runs += len(messages)
    finally:
        tasks.DEFAULT_BUDGET_SECONDS = budget
        sqs.delete_queue(QueueUrl=url)
    # Then a task per day did it, and the aggregates are counting's again
    assert runs == chosen.days
    row = rebuild.status()
    assert row is not None and row["finished_at"] is not None
    assert aggregates(admin_sql) == counted


def test_the_command_rebuilds_with_a_progress_line(
    analytics: Any, admin_sql: Any, tmp_path: Any, capsys: Any
) -> None:
    from lms_local.cli import main

    world = World(random.Random(13))
    for kind in EVENT_TYPES * 2:
        analytics.deliver(bus_event(world.data(kind), world.moment(START, 14)))
    counted = aggregates(admin_sql)
    admin_sql.run("DELETE FROM lms_analytics.aggregates")
    code = main(["--state-dir", str(tmp_path / "state"), "analytics", "rebuild",
                 "--from", "2026-12-24", "--to", "2027-01-07"])  # fmt: skip
    out, err = capsys.readouterr()
    assert code == 0, err
    assert "rebuilding 2026-12-21 to 2027-01-10" in err
    assert "rebuild [" in err and "21/21 days" in err
    assert "rebuilt 21 days" in out
    assert aggregates(admin_sql) == counted
    # A malformed day is refused by the command line
    with pytest.raises(SystemExit):
        main(["analytics", "rebuild", "--from", "2026-13-01"])
