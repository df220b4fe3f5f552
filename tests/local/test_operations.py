"""The operator's tools on the real event paths: ``lms replay``, ``lms dlq``, ``lms
rebuild-read-model``, against the real PostgreSQL and moto, every declared consumer fed
from its queue by the local runtime's feeder."""

from __future__ import annotations

import json
import os
import uuid
from collections.abc import Iterator
from typing import Any

import pytest

from functions.registry import SERVICES
from lms_local.cli import main
from lms_platform import topology
from lms_platform.aws import client
from tests.local.operations_story import (
    EventPaths,
    bus_events,
    consumer_schemas,
    course,
    depth,
    dlq_url,
    message_body,
    snapshot,
    story,
)


@pytest.fixture
def paths(db_clean: None, override_env: Any) -> Iterator[EventPaths]:
    bus = f"ops-{uuid.uuid4().hex[:8]}"
    override_env("LMS_EVENT_BUS_NAME", bus)
    made = EventPaths.create(bus)
    yield made
    made.close()


def lms(tmp_path: Any, capsys: pytest.CaptureFixture[str], *args: str) -> tuple[int, str]:
    """The ``lms`` command in this process; the environment it sets is put back after."""
    from lms_local.environment import reset_platform_caches

    saved = dict(os.environ)
    capsys.readouterr()
    try:
        code = main(["--state-dir", str(tmp_path), *args])
    finally:
        os.environ.clear()
        os.environ.update(saved)
        reset_platform_caches()
    captured = capsys.readouterr()
    return code, captured.out + captured.err


def read_models() -> dict[str, tuple[str, ...]]:
    return {s.schema: s.read_model for s in SERVICES if s.read_model}


# --- replay ----------------------------------------------------------------------------------


def test_a_full_replay_changes_nothing_any_consumer_owns(
    paths: EventPaths, admin_sql: Any, tmp_path: Any, capsys: pytest.CaptureFixture[str]
) -> None:
    # Given a school whose events have all been applied
    story(paths)
    before = snapshot(admin_sql, consumer_schemas())
    assert sum(len(rows) for name, rows in before.items() if name.endswith(".inbox")) > 10

    # When every retained event is replayed to every consumer, and the consumers take them
    code, out = lms(tmp_path, capsys, "replay", "--since", "2000-01-01", "--json")
    assert code == 0, out
    report = json.loads(out)
    delivered = paths.settle()

    # Then each consumer got the events its rule lets through, and took them all
    consumers = {s.name for s in SERVICES if s.has_consumer}
    assert set(report["sent"]) == consumers
    assert all(report["sent"][name] > 0 for name in consumers), report
    assert delivered == sum(report["sent"].values())
    # And nothing any consumer owns changed: read models, business rows, inbox, outbox
    after = snapshot(admin_sql, consumer_schemas())
    assert after == before
    assert all(depth(dlq_url(feed)) == 0 for feed in paths.feeds)


def test_a_replay_from_one_source_to_one_consumer_reaches_only_it(
    paths: EventPaths, admin_sql: Any, tmp_path: Any, capsys: pytest.CaptureFixture[str]
) -> None:
    story(paths)
    course_events = int(
        admin_sql.run("SELECT count(*) FROM lms_course.outbox WHERE destination = 'bus'")[0][0]
    )

    code, out = lms(
        tmp_path,
        capsys,
        *("replay", "--since", "1h", "--source", "lms.course", "--to-consumer", "enrollment"),
    )

    assert code == 0, out
    assert f"{course_events} events read from the outboxes" in out
    assert depth(paths.feed("enrollment").queue.url) == course_events
    others = [f for f in paths.feeds if f.subscription.service.name != "enrollment"]
    assert all(depth(f.queue.url) == 0 for f in others)
    waiting = client("sqs").receive_message(
        QueueUrl=paths.feed("enrollment").queue.url, MaxNumberOfMessages=10
    )["Messages"]
    assert {message_body(m)["source"] for m in waiting} == {"lms.course"}
    assert all(message_body(m)["replay-name"].startswith("lms-replay-") for m in waiting)


def test_a_replay_gives_a_consumer_back_what_it_lost(
    paths: EventPaths, admin_sql: Any, tmp_path: Any, capsys: pytest.CaptureFixture[str]
) -> None:
    # Given a consumer that lost a fact and the inbox row that said it had it (a bug)
    school = story(paths)
    before = snapshot(admin_sql, ["lms_content"], read_models(), facts_only=True)
    admin_sql.run("DELETE FROM lms_content.enrollments")
    admin_sql.run("DELETE FROM lms_content.inbox WHERE event_type = 'EnrollmentCreated'")

    # When the Enrollment events are replayed to it
    code, out = lms(
        tmp_path,
        capsys,
        *("replay", "--since", "1d", "--source", "lms.enrollment", "--to-consumer", "content"),
    )
    assert code == 0, out
    paths.settle()

    # Then the fact is back, as it was
    assert snapshot(admin_sql, ["lms_content"], read_models(), facts_only=True) == before
    assert admin_sql.run(
        "SELECT count(*) FROM lms_content.enrollments WHERE course_id = :c", c=school.course_id
    ) == [[1]]


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (("--since", "soon"), "is not a time"),
        (("--since", "1h", "--source", "lms.nothing"), "no service publishes 'lms.nothing'"),
        (("--since", "1h", "--to-consumer", "user"), "no consumer named 'user'"),
        (("--since", "2h", "--until", "3h"), "--since must be before --until"),
        (("--since", "1h", "--aws", "--source", "lms.course"), "filters by rule"),
    ],
)
def test_a_replay_asked_wrongly_is_refused(
    paths: EventPaths,
    tmp_path: Any,
    capsys: pytest.CaptureFixture[str],
    args: tuple[str, ...],
    message: str,
) -> None:
    try:
        code, out = lms(tmp_path, capsys, "replay", *args)
    except SystemExit as exit:  # argparse refuses what it cannot parse
        code, out = int(exit.code or 0), capsys.readouterr().err
    assert code != 0
    assert message in out
    assert all(depth(f.queue.url) == 0 for f in paths.feeds)


def test_an_archive_replay_on_aws_starts_from_the_stage_archive(
    platform_env: dict[str, str], tmp_path: Any, capsys: pytest.CaptureFixture[str]
) -> None:
    """``--aws`` with AWS_ENDPOINT_URL at moto: StartReplay on the stage's archive, to the
    consumers' rules. (moto replays every archived event to every rule of the bus: the time
    window and FilterArns are AWS's to honour, not tried here.)"""
    from lms_local.resources import ensure_subscription

    stage = f"t{uuid.uuid4().hex[:6]}"
    events, sqs = client("events"), client("sqs")
    bus = topology.event_bus(stage)
    bus_arn = events.create_event_bus(Name=bus)["EventBusArn"]
    events.create_archive(ArchiveName=topology.archive_name(stage), EventSourceArn=bus_arn)
    [enrollment] = [
        ensure_subscription(events, sqs, s, bus=bus, visibility_timeout=0)
        for s in topology.subscriptions(SERVICES, stage)
        if s.service.name == "enrollment"
    ]
    event_id = str(uuid.uuid4())
    events.put_events(
        Entries=[
            {
                "EventBusName": bus,
                "Source": "lms.course",
                "DetailType": "CourseCreated",
                "Detail": json.dumps({"eventId": event_id}),
            }
        ]
    )
    sqs.purge_queue(QueueUrl=enrollment.queue.url)  # the first delivery

    code, out = lms(
        tmp_path,
        capsys,
        *("replay", "--since", "1h", "--aws", "--stage", stage, "--to-consumer", "enrollment"),
    )

    assert code == 0, out
    assert f"from the {stage} archive to lms-{stage}-enrollment-events" in out
    [replayed] = sqs.receive_message(QueueUrl=enrollment.queue.url, MaxNumberOfMessages=10)[
        "Messages"
    ]
    body = message_body(replayed)
    assert body["detail"]["eventId"] == event_id
    assert body["replay-name"].startswith("lms-replay-")
    [described] = events.list_replays(NamePrefix=body["replay-name"])["Replays"]
    assert described["EventSourceArn"].endswith(f":archive/lms-{stage}")


# --- dead-letter queues ----------------------------------------------------------------------


POISON = "Poisoned course"


def _poison(admin_sql: Any) -> None:
    """The Enrollment consumer fails on one course's creation, every time (a bug)."""
    admin_sql.run(
        "CREATE OR REPLACE FUNCTION lms_enrollment.poison() RETURNS trigger LANGUAGE plpgsql "
        "AS $$ BEGIN RAISE EXCEPTION 'poisoned'; END $$"
    )
    admin_sql.run(
        "CREATE TRIGGER poison BEFORE INSERT ON lms_enrollment.courses FOR EACH ROW "
        f"WHEN (NEW.title = '{POISON}') EXECUTE FUNCTION lms_enrollment.poison()"
    )


def _cure(admin_sql: Any) -> None:
    admin_sql.run("DROP TRIGGER poison ON lms_enrollment.courses")
    admin_sql.run("DROP FUNCTION lms_enrollment.poison()")


def test_a_poisoned_event_waits_in_the_dlq_and_is_applied_once_after_its_redrive(
    paths: EventPaths, admin_sql: Any, tmp_path: Any, capsys: pytest.CaptureFixture[str]
) -> None:
    from tests.local.operations_story import account

    teacher = account("INSTRUCTOR")
    paths.settle()
    _poison(admin_sql)
    try:
        # Given three courses created together, one of which the Enrollment consumer fails on
        for title in ("Before", POISON, "After"):  # drafts: one event each for Enrollment
            course(paths, teacher, title, lessons=0, publish=False)
        feed, feeder = paths.feed("enrollment"), paths.feeder("enrollment")
        batch = client("sqs").receive_message(
            QueueUrl=feed.queue.url, MaxNumberOfMessages=10, AttributeNames=["All"]
        )["Messages"]
        assert {message_body(m)["detail"]["data"].get("title") for m in batch} >= {
            "Before",
            POISON,
            "After",
        }

        # When the consumer gets them in one batch, and again until the receive limit
        feeder.deliver(batch)
        titles = {r[0] for r in admin_sql.run("SELECT title FROM lms_enrollment.courses")}
        # Then the others of the batch were applied at once, nothing held behind the poison
        assert {"Before", "After"} <= titles and POISON not in titles
        paths.settle()
        # And the poisoned one sits in the dead-letter queue after the configured receives
        assert POISON not in {
            r[0] for r in admin_sql.run("SELECT title FROM lms_enrollment.courses")
        }
        code, out = lms(tmp_path, capsys, "dlq", "list", "--json")
        assert code == 0, out
        waiting = {q["service"]: q["waiting"] for q in json.loads(out)}
        assert waiting == {s.name: int(s.name == "enrollment") for s in SERVICES if s.has_consumer}
        code, out = lms(tmp_path, capsys, "dlq", "show", "--service", "enrollment", "--json")
        assert code == 0, out
        [dead] = json.loads(out)["enrollment"]
        [poisoned] = [m for m in batch if message_body(m)["detail"]["data"].get("title") == POISON]
        detail = message_body(poisoned)["detail"]
        assert (dead["event_id"], dead["event_type"], dead["source"]) == (
            detail["eventId"],
            "CourseCreated",
            "lms.course",
        )
        assert dead["receive_count"] >= topology.MAX_RECEIVE_COUNT
        code, text = lms(tmp_path, capsys, "dlq", "show", "--service", "enrollment")
        assert detail["eventId"] in text and "CourseCreated" in text
        # And the other consumers applied it
        assert admin_sql.run(
            "SELECT count(*) FROM lms_content.courses WHERE title = :t", t=POISON
        ) == [[1]]
    finally:
        _cure(admin_sql)

    # When the cause is fixed and the message moved back
    code, out = lms(tmp_path, capsys, "dlq", "redrive", "--service", "enrollment")
    assert code == 0, out
    assert "enrollment: moved 1 message(s)" in out
    paths.settle()
    # Then it was applied, once, and nothing is left in any dead-letter queue
    assert admin_sql.run(
        "SELECT count(*) FROM lms_enrollment.courses WHERE title = :t", t=POISON
    ) == [[1]]
    assert admin_sql.run(
        "SELECT count(*) FROM lms_enrollment.inbox WHERE event_id = :e", e=detail["eventId"]
    ) == [[1]]
    assert all(depth(dlq_url(f)) == 0 for f in paths.feeds)
    # And a second redrive finds nothing to move
    code, out = lms(tmp_path, capsys, "dlq", "redrive", "--service", "enrollment")
    assert (code, "enrollment: lms-enrollment-events-dlq is empty" in out) == (0, True)


def test_dlq_commands_refuse_an_unknown_consumer(
    paths: EventPaths, tmp_path: Any, capsys: pytest.CaptureFixture[str]
) -> None:
    code, out = lms(tmp_path, capsys, "dlq", "list", "--service", "payment")
    assert code == 1
    assert "no consumer named 'payment'" in out


# --- rebuilding a read model -----------------------------------------------------------------


def test_a_corrupted_read_model_is_rebuilt_as_it_was(
    paths: EventPaths, admin_sql: Any, tmp_path: Any, capsys: pytest.CaptureFixture[str]
) -> None:
    school = story(paths)
    models = read_models()
    assert set(models) >= {"lms_course", "lms_enrollment", "lms_content", "lms_assignment"}
    before = snapshot(admin_sql, list(models), models, facts_only=True)
    published = bus_events(admin_sql)

    for service in [s for s in SERVICES if s.read_model]:
        # Given a read model gone wrong: rows changed, lost and made up
        schema = service.schema
        for table in service.read_model:
            one = f'SELECT ctid FROM {schema}."{table}" LIMIT 1'
            admin_sql.run(f'DELETE FROM {schema}."{table}" WHERE ctid IN ({one})')
        if "courses" in service.read_model:
            admin_sql.run(f"UPDATE {schema}.courses SET title = 'corrupt'")
        assert snapshot(admin_sql, [schema], models, facts_only=True) != {
            k: v for k, v in before.items() if k.startswith(f"{schema}.")
        }

        # When it is rebuilt
        code, out = lms(tmp_path, capsys, "rebuild-read-model", service.name, "--json")
        assert code == 0, out
        rebuilt = json.loads(out)
        assert rebuilt["events"] > 0

    # Then every read model is what it was, and the rebuilds published nothing
    assert snapshot(admin_sql, list(models), models, facts_only=True) == before
    assert bus_events(admin_sql) == published
    paths.settle()  # tasks the rebuild handed the consumers (progress recomputes)
    assert snapshot(admin_sql, list(models), models, facts_only=True) == before
    enrollment = admin_sql.run(
        "SELECT status, progress_pct FROM lms_enrollment.enrollments WHERE id = :i",
        i=school.enrollment_id,
    )
    assert [[str(v) for v in row] for row in enrollment] == [["ACTIVE", "50.00"]]


def test_a_rebuild_that_fails_on_an_event_changes_nothing(
    paths: EventPaths, admin_sql: Any, tmp_path: Any, capsys: pytest.CaptureFixture[str]
) -> None:
    from tests.local.operations_story import account

    teacher = account("INSTRUCTOR")
    paths.settle()
    course(paths, teacher, POISON, lessons=1)
    paths.settle()
    before = snapshot(admin_sql, ["lms_enrollment"])
    _poison(admin_sql)
    try:
        code, out = lms(tmp_path, capsys, "rebuild-read-model", "enrollment")
    finally:
        _cure(admin_sql)
    assert code == 1
    assert "CourseCreated" in out and "nothing was changed" in out
    assert snapshot(admin_sql, ["lms_enrollment"]) == before


def test_a_rebuild_is_refused_once_its_events_are_pruned(
    paths: EventPaths, admin_sql: Any, tmp_path: Any, capsys: pytest.CaptureFixture[str]
) -> None:
    from lms_platform.db import database
    from lms_platform.retention import cutoff, prune

    story(paths)
    before = snapshot(admin_sql, ["lms_enrollment"])
    course_db = database("lms_course")
    assert prune(course_db, before=cutoff(course_db, -1)).outbox > 0

    code, out = lms(tmp_path, capsys, "rebuild-read-model", "enrollment")

    assert code == 1
    assert "pruned from the outboxes: course before" in out
    assert snapshot(admin_sql, ["lms_enrollment"]) == before


@pytest.mark.parametrize(
    ("name", "message"),
    [("user", "has no consumer"), ("nobody", "no service named 'nobody'")],
)
def test_a_rebuild_of_what_has_no_read_model_is_refused(
    paths: EventPaths,
    tmp_path: Any,
    capsys: pytest.CaptureFixture[str],
    name: str,
    message: str,
) -> None:
    code, out = lms(tmp_path, capsys, "rebuild-read-model", name)
    assert code == 1
    assert message in out
