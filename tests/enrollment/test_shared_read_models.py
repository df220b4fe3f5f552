"""The shared read models (``lms_platform.read_models``), applied to a schema of their own
as a new service would: tables from the migration helpers, subscriptions under that
service's handler names, hooks for what it does on top. The events are real: made by the
Course and Enrollment use cases and read back from their outboxes as they went to the bus."""

from __future__ import annotations

import json
import random
import uuid
from collections.abc import Iterator
from typing import Any

import pytest

from lms_platform.db import Database, UnitOfWork, open_connection, params_from_url
from lms_platform.inbox import EventConsumer
from lms_platform.read_models import courses, enrollments
from tests.course.builders import add_lesson, build_course, ok, student
from tests.support import call

pytestmark = pytest.mark.integration

SCHEMA = "lms_test_models"
NAMES = courses.HandlerNames(
    header="models.course-header",
    outline="models.course-outline",
    instructors="models.course-instructors",
)


@pytest.fixture(scope="module")
def models_schema(platform_env: dict[str, str], admin_url: str) -> Iterator[None]:
    """A schema made by the read models' own migration helpers, like a new service's."""
    import sqlalchemy as sa
    from alembic.migration import MigrationContext
    from alembic.operations import Operations

    from lms_platform.migrations import (
        add_outbox_destination,
        create_outbox_and_inbox,
        engine_for,
    )

    engine = engine_for(admin_url)
    with engine.begin() as connection:
        connection.execute(sa.text(f"CREATE SCHEMA {SCHEMA}"))
        connection.execute(sa.text(f"SET LOCAL search_path = {SCHEMA}"))
        with Operations.context(MigrationContext.configure(connection)):
            courses.create_tables()
            courses.add_requires_subscription()
            enrollments.create_tables()
            create_outbox_and_inbox()
            add_outbox_destination()
    yield
    with engine.begin() as connection:
        connection.execute(sa.text(f"DROP SCHEMA {SCHEMA} CASCADE"))
    engine.dispose()


@pytest.fixture
def models_db(models_schema: None, db_clean: None, admin_url: str) -> Iterator[Database]:
    def connect() -> Any:
        connection = open_connection(params_from_url(admin_url))
        connection.run(f"SET search_path = {SCHEMA}")
        return connection

    database = Database("lms_test_models", connect=connect)
    database.execute(
        "TRUNCATE courses, course_lessons, course_instructors, enrollments, inbox, outbox"
    )
    yield database
    database.discard_connection()


def produced(admin_sql: Any, schema: str) -> list[dict[str, Any]]:
    """A service's events as EventBridge delivers them, in the order they were made."""
    rows = admin_sql.run(
        f"SELECT id::text, source, event_type, detail::text FROM {schema}.outbox "
        "WHERE destination = 'bus' ORDER BY occurred_at"
    )
    return [
        {"version": "0", "id": i, "source": s, "detail-type": t, "detail": json.loads(d)}
        for i, s, t, d in rows
    ]


def deliver_all(consumer: EventConsumer, events: list[dict[str, Any]]) -> None:
    for event in events:
        consumer.deliver(event)


# --- courses -------------------------------------------------------------------------------


def test_hooks_see_each_newer_course_fact_once_with_the_lessons_it_added_and_removed(
    models_db: Database, admin_sql: Any
) -> None:
    course = build_course(lessons_per_module=(2,))
    owner, params = course.owner, {"courseId": course.id}
    extra = add_lesson(owner, course.id, course.module_ids[0], "Extra")
    ok(
        call(
            "PUT",
            "/courses/{courseId}/modules/{moduleId}/lessons/order",
            caller=owner,
            path_params={**params, "moduleId": course.module_ids[0]},
            body={"lessonIds": [extra["id"], *course.lesson_ids]},
        )
    )
    ok(
        call(
            "DELETE",
            "/courses/{courseId}/lessons/{lessonId}",
            caller=owner,
            path_params={**params, "lessonId": course.lesson_ids[0]},
        )
    )
    ok(call("POST", "/courses/{courseId}/archive", caller=owner, path_params=params))
    events = produced(admin_sql, "lms_course")
    outlines: list[courses.OutlineApplied] = []
    headers: list[courses.HeaderApplied] = []
    consumer = EventConsumer(
        lambda: models_db,
        courses.subscriptions(
            NAMES,
            on_header=lambda uow, h: headers.append(h),
            on_outline=lambda uow, o: outlines.append(o),
        ),
    )

    deliver_all(consumer, events)
    deliver_all(consumer, events)  # the inbox drops every repeat

    first, second = course.lesson_ids
    changes = [
        ({str(x) for x in o.added}, {str(x) for x in o.removed}, o.lessons_changed)
        for o in outlines
    ]
    assert changes == [
        ({first}, set(), True),  # added to the draft
        ({second}, set(), True),
        (set(), set(), False),  # published with the same lessons
        ({extra["id"]}, set(), True),  # added
        (set(), set(), False),  # reordered: no lesson in or out
        (set(), {first}, True),  # removed
    ]
    assert [h.status for h in headers] == ["DRAFT", "PUBLISHED", "ARCHIVED"]
    assert models_db.read_one(courses.IS_INSTRUCTOR, course_id=course.id, user_id=owner["sub"])
    lesson = models_db.read_one(courses.LESSON_OF_COURSE, course_id=course.id, lesson_id=first)
    assert lesson is not None
    assert (lesson["status"], lesson["has_lesson"]) == ("ARCHIVED", False)


def test_an_older_course_fact_arriving_late_calls_no_hook(
    models_db: Database, admin_sql: Any
) -> None:
    course = build_course(lessons_per_module=(1,))
    add_lesson(course.owner, course.id, course.module_ids[0], "Second")
    events = produced(admin_sql, "lms_course")
    called: list[Any] = []
    consumer = EventConsumer(
        lambda: models_db,
        courses.subscriptions(
            NAMES, on_header=lambda u, h: called.append(h), on_outline=lambda u, o: called.append(o)
        ),
    )

    deliver_all(consumer, list(reversed(events)))

    # Newest first: the lesson list of the LessonAdded and the header of CoursePublished
    # are kept; the older ones that follow change nothing and call nothing.
    assert [type(c).__name__ for c in called] == ["OutlineApplied", "HeaderApplied"]
    kept = models_db.read("SELECT lesson_id::text FROM course_lessons ORDER BY position")
    assert len(kept) == 2


# --- enrollments ---------------------------------------------------------------------------


def enrollment_story(feed_pump: Any) -> tuple[str, list[str]]:
    """Enroll, complete every lesson, cancel, enroll again, cancel again; another student
    enrolls and stays. Returns the first enrollment's id and the lessons."""
    course = build_course(lessons_per_module=(2,))
    feed_pump()
    learner, other = student(), student()
    path = {"courseId": course.id}
    enrollment = ok(
        call("POST", "/courses/{courseId}/enrollments", caller=learner, path_params=path), 201
    )["id"]
    for lesson in course.lesson_ids:
        ok(
            call(
                "PUT",
                "/enrollments/{enrollmentId}/lessons/{lessonId}/completion",
                caller=learner,
                path_params={"enrollmentId": enrollment, "lessonId": lesson},
            )
        )
    cancel = {"enrollmentId": enrollment}
    ok(call("POST", "/enrollments/{enrollmentId}/cancel", caller=learner, path_params=cancel))
    ok(call("POST", "/courses/{courseId}/enrollments", caller=learner, path_params=path), 201)
    ok(call("POST", "/enrollments/{enrollmentId}/cancel", caller=learner, path_params=cancel))
    ok(call("POST", "/courses/{courseId}/enrollments", caller=other, path_params=path), 201)
    return enrollment, course.lesson_ids


def model_rows(db: Database) -> list[list[Any]]:
    return [
        [r["id"], r["user_id"], r["course_id"], r["cancelled"], r["version"]]
        for r in db.read(
            "SELECT id::text, user_id::text, course_id::text, cancelled, version "
            "FROM enrollments ORDER BY id"
        )
    ]


def test_enrollment_events_carry_a_version_raised_by_every_change(
    course_feed: Any, admin_sql: Any
) -> None:
    enrollment, _ = enrollment_story(course_feed.pump)

    mine = [
        e["detail"]
        for e in produced(admin_sql, "lms_enrollment")
        if e["detail"]["aggregateId"] == enrollment
    ]
    story = sorted((e["data"]["version"], e["eventType"]) for e in mine)
    assert story == [
        (1, "EnrollmentCreated"),
        (2, "LessonCompleted"),
        (3, "EnrollmentCompleted"),  # in the same transaction as the lesson that completed it
        (3, "LessonCompleted"),
        (4, "EnrollmentCancelled"),
        (5, "EnrollmentCreated"),  # taken up again...
        (6, "EnrollmentCompleted"),  # ...with every lesson still done
        (7, "EnrollmentCancelled"),
    ]


def test_the_enrollments_model_ends_the_same_in_any_order_and_however_often(
    course_feed: Any, models_db: Database, admin_sql: Any
) -> None:
    enrollment, _ = enrollment_story(course_feed.pump)
    events = [
        e
        for e in produced(admin_sql, "lms_enrollment")
        if e["detail-type"] in {"EnrollmentCreated", "EnrollmentCompleted", "EnrollmentCancelled"}
    ]
    changed: list[enrollments.EnrollmentApplied] = []
    consumer = EventConsumer(
        lambda: models_db,
        enrollments.subscriptions("models.enrollments", on_change=lambda u, e: changed.append(e)),
    )

    deliver_all(consumer, events)
    in_order = model_rows(models_db)

    # The first student cancelled, the other enrolled.
    assert sorted(r[3:] for r in in_order) == [[False, 1], [True, 7]]
    assert [r[3:] for r in in_order if r[0] == enrollment] == [[True, 7]]
    # Every fact newer than the one kept when it arrived: the reactivation (version 5) came
    # after its own recompute's completion (6) and changed nothing.
    assert [c.version for c in changed if str(c.enrollment_id) == enrollment] == [1, 3, 4, 6, 7]
    standing = models_db.read_one(
        enrollments.STANDING,
        user_id=changed[0].user_id,
        course_id=changed[0].course_id,
    )
    assert standing is not None and standing["cancelled"]

    for seed in range(4):
        models_db.execute("TRUNCATE enrollments, inbox")
        twice = events * 2
        random.Random(seed).shuffle(twice)
        deliver_all(consumer, twice)
        assert model_rows(models_db) == in_order, f"seed {seed}"


def test_an_enrollment_fact_older_than_the_one_kept_changes_nothing(
    models_db: Database,
) -> None:
    from lms_events import enrollment as events
    from lms_events.envelope import Envelope

    ids = {"enrollment_id": uuid.uuid4(), "user_id": uuid.uuid4(), "course_id": uuid.uuid4()}
    cancelled = events.EnrollmentCancelled(**ids, cancelled_by=ids["user_id"], version=4)
    late = events.EnrollmentCreated(
        **ids, enrolled_at="2026-01-01T00:00:00Z", reactivated=False, version=1
    )

    def apply(data: Any) -> enrollments.EnrollmentApplied | None:
        def work(uow: UnitOfWork) -> enrollments.EnrollmentApplied | None:
            kept = enrollments.apply(uow, Envelope.wrap(data, aggregate_id=ids["enrollment_id"]))
            uow.commit()
            return kept

        return models_db.transaction(work)

    assert apply(cancelled) is not None
    assert apply(late) is None
    row = models_db.read_one("SELECT cancelled, version FROM enrollments")
    assert row == {"cancelled": True, "version": 4}
