"""Requests racing each other on one item: version numbers stay unique, a version is
checked and recorded once, publications are counted once each."""

from __future__ import annotations

import threading
from collections.abc import Callable
from typing import Any

import pytest

from functions.content import store
from tests.content import samples
from tests.content.conftest import (
    World,
    complete,
    create_item,
    publish,
    start_upload,
    uploaded_version,
)
from tests.course.builders import ok
from tests.support import Reply

pytestmark = [pytest.mark.integration]


def race(calls: list[Callable[[], Reply]]) -> list[Reply]:
    """Every call in its own thread (its own connection, as its own Lambda environment),
    all let go at once."""
    barrier = threading.Barrier(len(calls))
    replies: list[Reply] = []
    lock = threading.Lock()

    def worker(call: Callable[[], Reply]) -> None:
        try:
            barrier.wait()
            reply = call()
            with lock:
                replies.append(reply)
        finally:
            store.db().discard_connection()

    threads = [threading.Thread(target=worker, args=(c,)) for c in calls]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=60)
    assert len(replies) == len(calls)
    return replies


def test_uploads_started_at_once_get_distinct_version_numbers(world: World) -> None:
    item = ok(create_item(world.owner, world.course.id, world.lesson), 201)["id"]
    data = samples.pdf()
    replies = race([lambda: start_upload(world.owner, item, data) for _ in range(10)])
    assert [r.status for r in replies] == [201] * 10, [r.body for r in replies]
    assert sorted(r.body["version"] for r in replies) == list(range(1, 11))


def test_a_version_completed_six_times_at_once_is_checked_and_recorded_once(
    world: World, admin_sql: Any
) -> None:
    item = ok(create_item(world.owner, world.course.id, world.lesson), 201)["id"]
    version, _ = uploaded_version(world.owner, item, samples.pdf())
    replies = race([lambda: complete(world.owner, item, version) for _ in range(6)])
    assert [r.status for r in replies] == [200] * 6, [r.body for r in replies]
    assert len({r.body["completedAt"] for r in replies}) == 1
    assert ok(publish(world.owner, item, version))["currentVersion"]["id"] == version


def test_publications_racing_each_other_are_each_counted_once(world: World, admin_sql: Any) -> None:
    item = ok(create_item(world.owner, world.course.id, world.lesson), 201)["id"]
    versions = []
    for n in range(2):
        version, _ = uploaded_version(world.owner, item, samples.pdf(str(n)))
        ok(complete(world.owner, item, version))
        versions.append(version)
    replies = race([lambda v=v: publish(world.owner, item, v) for v in versions * 4])
    assert [r.status for r in replies] == [200] * 8
    # Each publication that changed the current version raised the revision and said so once
    revision, events = admin_sql.run(
        "SELECT (SELECT revision FROM lms_content.content_items WHERE id = CAST(:id AS uuid)),"
        " (SELECT count(*) FROM lms_content.outbox WHERE event_type = 'ContentPublished')",
        id=item,
    )[0]
    assert revision == events and 1 <= revision <= 8
    revisions = admin_sql.run(
        "SELECT (detail -> 'data' ->> 'revision')::int FROM lms_content.outbox ORDER BY 1"
    )
    assert [r[0] for r in revisions] == list(range(1, revision + 1))


def test_questions_written_at_once_leave_one_draft_with_one_whole_set(
    world: World, admin_sql: Any
) -> None:
    from tests.content.conftest import QUESTIONS, put_questions

    item = ok(create_item(world.owner, world.course.id, world.lesson, "quiz"), 201)["id"]
    sets = [QUESTIONS[: n % 3 + 1] for n in range(6)]
    replies = race([lambda q=q: put_questions(world.owner, item, q) for q in sets])
    assert [r.status for r in replies] == [200] * 6, [r.body for r in replies]
    versions = admin_sql.run(
        "SELECT count(*) FROM lms_content.content_versions"
        " WHERE content_item_id = CAST(:id AS uuid)",
        id=item,
    )[0][0]
    stored = admin_sql.run(
        "SELECT question_text FROM lms_content.quiz_questions"
        " WHERE content_item_id = CAST(:id AS uuid) ORDER BY sort_order",
        id=item,
    )
    # One draft, holding one of the sets whole (the last writer's), never a mix
    assert versions == 1
    assert [r[0] for r in stored] in [[q["questionText"] for q in s] for s in sets]
