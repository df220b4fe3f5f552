"""Outbox and inbox rows deleted after the retention period, a bounded batch per
transaction, by the job the platform gives every service that keeps them."""

from __future__ import annotations

import uuid
from typing import Any

import pytest

from functions.registry import SERVICES
from lms_platform import retention, topology
from lms_platform.db import Database
from lms_platform.service import Service

KEEPERS = [s for s in SERVICES if topology.keeps_events(s)]


def _outbox_row(admin_sql: Any, *, age_days: float, published: bool, task: bool = False) -> str:
    row_id = str(uuid.uuid4())
    admin_sql.run(
        "INSERT INTO lms_user.outbox (id, source, event_type, detail, occurred_at, published_at,"
        " destination) VALUES (:id, 'lms.user', 'UserRegistered', '{}', "
        "now() - make_interval(days => :age), "
        "CASE WHEN :published THEN now() - make_interval(days => :age) END, :destination)",
        id=row_id,
        age=int(age_days),
        published=published,
        destination="queue" if task else "bus",
    )
    return row_id


def _inbox_row(admin_sql: Any, *, age_days: int) -> str:
    event_id = str(uuid.uuid4())
    admin_sql.run(
        "INSERT INTO lms_user.inbox (event_id, handler, event_type, received_at) "
        "VALUES (:e, 'user.test', 'Something', now() - make_interval(days => :age))",
        e=event_id,
        age=age_days,
    )
    return event_id


def _ids(admin_sql: Any, table: str, column: str) -> set[str]:
    return {r[0] for r in admin_sql.run(f"SELECT {column}::text FROM lms_user.{table}")}


def test_rows_past_the_retention_period_go_and_the_rest_stay(db: Database, admin_sql: Any) -> None:
    # Given old and recent rows: published events, an unsent event, a sent task, inbox rows
    old_published = {_outbox_row(admin_sql, age_days=100, published=True) for _ in range(7)}
    old_task = _outbox_row(admin_sql, age_days=100, published=True, task=True)
    old_unsent = _outbox_row(admin_sql, age_days=100, published=False)
    recent = _outbox_row(admin_sql, age_days=10, published=True)
    old_inbox = {_inbox_row(admin_sql, age_days=100) for _ in range(5)}
    recent_inbox = _inbox_row(admin_sql, age_days=1)

    # When the job prunes at 97 days, three rows per transaction
    pruned = retention.prune(db, before=retention.cutoff(db, 97), batch=3)

    # Then what is older and done is gone; what the relay still owes the bus is kept
    assert (pruned.outbox, pruned.inbox, pruned.finished) == (8, 5, True)
    assert _ids(admin_sql, "outbox", "id") == {old_unsent, recent}
    assert _ids(admin_sql, "inbox", "event_id") == {recent_inbox}
    assert not old_published & _ids(admin_sql, "outbox", "id") and old_task
    assert not old_inbox & _ids(admin_sql, "inbox", "event_id")
    # And each table records how far it has been pruned
    horizon = retention.horizon(db)
    assert set(horizon) == {"outbox", "inbox"}
    assert abs((horizon["outbox"] - retention.cutoff(db, 97)).total_seconds()) < 60


def test_a_run_out_of_time_leaves_the_rest_for_the_next(db: Database, admin_sql: Any) -> None:
    for _ in range(3):
        _outbox_row(admin_sql, age_days=100, published=True)
    stopped = retention.prune(db, before=retention.cutoff(db, 97), budget_seconds=0)
    assert (stopped.outbox, stopped.inbox, stopped.finished) == (0, 0, False)
    assert retention.horizon(db) == {}
    assert retention.prune(db, before=retention.cutoff(db, 97)).outbox == 3


def test_the_scheduled_job_prunes_its_own_service_by_the_setting(
    db: Database, admin_sql: Any, override_env: Any
) -> None:
    kept = _outbox_row(admin_sql, age_days=90, published=True)
    _outbox_row(admin_sql, age_days=98, published=True)
    override_env("LMS_SERVICE", "user")

    result = retention.handler({}, None)

    assert result == {"outbox": 1, "inbox": 0, "finished": True}
    assert _ids(admin_sql, "outbox", "id") == {kept}


@pytest.mark.parametrize("service", KEEPERS, ids=lambda s: s.name)
def test_every_service_that_keeps_events_has_the_indexes_the_job_reads(
    service: Service, platform_env: dict[str, str], admin_sql: Any
) -> None:
    # The planner told to avoid full scans finds an index for each statement.
    schema = service.schema
    admin_sql.run("BEGIN")
    try:
        admin_sql.run("SET LOCAL enable_seqscan = off")
        admin_sql.run(f'SET LOCAL search_path = "{schema}"')
        plans = {}
        for kind, statement in (
            ("outbox", retention._DELETE_OUTBOX),
            ("inbox", retention._DELETE_INBOX),
        ):
            sql = statement.replace(":cutoff", "now()").replace(":batch", "1000")
            plans[kind] = "\n".join(r[0] for r in admin_sql.run(f"EXPLAIN {sql}"))
    finally:
        admin_sql.run("ROLLBACK")
    assert "ix_outbox_published" in plans["outbox"], plans["outbox"]
    assert "ix_inbox_received_at" in plans["inbox"], plans["inbox"]
    tables = {
        r[0]
        for r in admin_sql.run("SELECT tablename FROM pg_tables WHERE schemaname = :s", s=schema)
    }
    assert "event_retention" in tables
    assert set(service.read_model) <= tables


def test_every_service_that_keeps_events_gets_the_retention_job() -> None:
    from infra.units import units

    for service in SERVICES:
        scheduled = {u.name: u for u in units(service) if u.kind == "job"}
        assert ("job-retention" in scheduled) == topology.keeps_events(service), service.name
        if topology.keeps_events(service):
            job = scheduled["job-retention"]
            assert job.handler == "lms_platform.retention.handler"
            assert job.every_minutes == topology.RETENTION_JOB.every_minutes


def test_the_local_runtime_runs_the_retention_job_of_every_service() -> None:
    import threading

    from lms_local.jobs import JobSchedule

    schedule = JobSchedule(SERVICES, threading.Event(), interval=None)
    assert {s.name for s, j in schedule.jobs if j is topology.RETENTION_JOB} == {
        s.name for s in KEEPERS
    }
    assert "retention every 60 min (user course enrollment" in schedule.describe()


def test_the_retention_period_must_outlast_every_redelivery(
    db: Database, admin_sql: Any, override_env: Any
) -> None:
    from lms_platform.settings import Settings

    window = topology.redelivery_window_days()
    assert window == topology.ARCHIVE_RETENTION_DAYS == 90
    assert Settings().event_retention_days > window
    # A setting within the window: the job fails (its errors alarm) and deletes nothing.
    row = _outbox_row(admin_sql, age_days=100, published=True)
    override_env("LMS_EVENT_RETENTION_DAYS", str(window))
    override_env("LMS_SERVICE", "user")
    with pytest.raises(retention.RetentionTooShort, match="longer than the 90 days"):
        retention.handler({}, None)
    assert _ids(admin_sql, "outbox", "id") == {row}
