"""The event paths of every declared service, in-process, for the operator's tools' tests.

``EventPaths`` makes, on a bus of the test's own, each consumer's rule, queue and
dead-letter queue from the declarations (as ``lms run`` does), and feeds every consumer
from its queue with the local runtime's own feeder: batches, partial failures, the
receive limit. ``story()`` then runs a small school through the real routes and use cases:
accounts, an instructor, a published course, an enrollment, a graded assignment.
"""

from __future__ import annotations

import json
import threading
import uuid
from dataclasses import dataclass, field
from typing import Any

from functions.registry import SERVICES
from lms_local.feeder import QueueFeeder
from lms_local.lambdas import WorkerPool
from lms_local.resources import Feed, provision
from lms_platform.aws import client
from tests.support import as_caller, call

REGION = "us-east-1"


@dataclass
class EventPaths:
    bus: str
    feeds: list[Feed]
    pool: WorkerPool
    feeders: list[QueueFeeder] = field(default_factory=list)

    @classmethod
    def create(cls, bus: str) -> EventPaths:
        events, sqs, s3 = client("events"), client("sqs"), client("s3")
        events.create_event_bus(Name=bus)
        # Visibility timeout 0: a failed record is visible again at once (quick to the DLQ).
        feeds = provision(events, sqs, s3, SERVICES, bus=bus, region=REGION, visibility_timeout=0)
        for feed in feeds:  # what an earlier test left
            sqs.purge_queue(QueueUrl=feed.queue.url)
            sqs.purge_queue(QueueUrl=dlq_url(feed))
        pool = WorkerPool(1)
        paths = cls(bus, feeds, pool)
        stop = threading.Event()
        paths.feeders = [
            QueueFeeder(feed, sqs, pool, stop, region=REGION, wait_seconds=0) for feed in feeds
        ]
        return paths

    def feed(self, service: str) -> Feed:
        return next(f for f in self.feeds if f.subscription.service.name == service)

    def feeder(self, service: str) -> QueueFeeder:
        return next(f for f in self.feeders if f.feed.subscription.service.name == service)

    def settle(self, rounds: int = 200) -> int:
        """Feed every consumer until every queue is empty; how many records were delivered."""
        delivered = 0
        for _ in range(rounds):
            got = sum(feeder.poll_once() for feeder in self.feeders)
            delivered += got
            if not got and all(depth(f.queue.url) == 0 for f in self.feeds):
                return delivered
        raise AssertionError("the queues did not empty")

    def close(self) -> None:
        events, sqs = client("events"), client("sqs")
        self.pool.shutdown()
        for feed in self.feeds:
            name = feed.subscription.rule_name
            targets = events.list_targets_by_rule(Rule=name, EventBusName=self.bus)["Targets"]
            events.remove_targets(Rule=name, EventBusName=self.bus, Ids=[t["Id"] for t in targets])
            events.delete_rule(Name=name, EventBusName=self.bus)
            sqs.delete_queue(QueueUrl=feed.queue.url)
            sqs.delete_queue(QueueUrl=dlq_url(feed))
        events.delete_event_bus(Name=self.bus)


def dlq_url(feed: Feed) -> str:
    return str(client("sqs").get_queue_url(QueueName=feed.subscription.dlq_name)["QueueUrl"])


def depth(url: str) -> int:
    attributes = client("sqs").get_queue_attributes(
        QueueUrl=url,
        AttributeNames=["ApproximateNumberOfMessages", "ApproximateNumberOfMessagesNotVisible"],
    )["Attributes"]
    return int(attributes["ApproximateNumberOfMessages"]) + int(
        attributes["ApproximateNumberOfMessagesNotVisible"]
    )


def ok(reply: Any, status: int = 200) -> Any:
    assert reply.status == status, (reply.status, reply.body)
    return reply.body


@dataclass
class School:
    teacher: dict[str, Any]
    student: dict[str, Any]
    course_id: str
    lesson_ids: list[str]
    enrollment_id: str


def account(*roles: str) -> dict[str, Any]:
    """A user registered with the User service (its events in the User outbox), given
    ``roles`` beyond STUDENT; the claims of its tokens."""
    from functions.user import use_cases
    from functions.user.models import RegisterUser

    email = f"u{uuid.uuid4().hex[:10]}@example.com"
    user = use_cases.register(
        RegisterUser(email=email, password="correct horse battery staple", display_name="Someone")
    )
    for role in roles:
        use_cases.assign_role(None, user.id, role)  # type: ignore[arg-type]
    return as_caller(user.id, "STUDENT", *roles, email=email)


def course(
    paths: EventPaths, teacher: dict[str, Any], title: str, lessons: int = 2, publish: bool = True
) -> Any:
    """A course of ``lessons`` lessons made by ``teacher`` (published unless told); its id and
    lessons."""
    course_id = ok(call("POST", "/courses", caller=teacher, body={"title": title}), 201)["id"]
    if not lessons and not publish:
        return course_id, []
    module_id = ok(
        call(
            "POST",
            "/courses/{courseId}/modules",
            caller=teacher,
            path_params={"courseId": course_id},
            body={"title": "Module"},
        ),
        201,
    )["id"]
    lesson_ids = [
        ok(
            call(
                "POST",
                "/courses/{courseId}/modules/{moduleId}/lessons",
                caller=teacher,
                path_params={"courseId": course_id, "moduleId": module_id},
                body={"title": f"Lesson {n}", "type": "assignment"},
            ),
            201,
        )["id"]
        for n in range(lessons)
    ]
    if publish:
        path = {"courseId": course_id}
        ok(call("POST", "/courses/{courseId}/publish", caller=teacher, path_params=path))
    return course_id, lesson_ids


def story(paths: EventPaths) -> School:
    """Accounts, an instructor, a published course, an enrollment, a passing grade; every
    event carried to its consumers."""
    teacher, learner = account("INSTRUCTOR"), account()
    paths.settle()  # the Course service learns who may teach
    course_id, lesson_ids = course(paths, teacher, "Engines")
    paths.settle()  # Enrollment, Content and Assignment learn of the course
    enrollment_id = ok(
        call(
            "POST",
            "/courses/{courseId}/enrollments",
            caller=learner,
            path_params={"courseId": course_id},
        ),
        201,
    )["id"]
    assignment = ok(
        call(
            "POST",
            "/courses/{courseId}/assignments",
            caller=teacher,
            path_params={"courseId": course_id},
            body={
                "title": "On engines",
                "lessonId": lesson_ids[0],
                "maxScore": 100,
                "passingScore": "60",
                "dueAt": "2099-01-01T00:00:00Z",
            },
        ),
        201,
    )
    paths.settle()  # the Assignment service learns of the enrollment
    submission = ok(
        call(
            "POST",
            "/assignments/{assignmentId}/submissions",
            caller=learner,
            path_params={"assignmentId": assignment["id"]},
            body={"content": {"text": "Engines count."}},
        ),
        201,
    )
    ok(
        call(
            "PUT",
            "/submissions/{submissionId}/grade",
            caller=teacher,
            path_params={"submissionId": submission["id"]},
            body={"score": 80, "feedback": "Yes."},
        )
    )
    paths.settle()  # the grade completes the lesson in Enrollment
    return School(teacher, learner, course_id, lesson_ids, enrollment_id)


def snapshot(
    admin_sql: Any,
    schemas: list[str],
    tables: dict[str, tuple[str, ...]] | None = None,
    *,
    facts_only: bool = False,
) -> dict[str, list[str]]:
    """Every row of the given schemas' tables (or of ``tables`` per schema), as text, sorted.

    ``facts_only``: without the ``updated_at`` columns, the time a row was last written
    (a rebuilt read model holds the same facts, written later)."""
    found: dict[str, list[str]] = {}
    rows = admin_sql.run(
        "SELECT schemaname, tablename FROM pg_tables WHERE schemaname = ANY(:s) "
        "AND tablename <> 'alembic_version'",
        s=schemas,
    )
    for schema, table in rows:
        if tables is not None and table not in tables.get(schema, ()):
            continue
        columns = [
            r[0]
            for r in admin_sql.run(
                "SELECT column_name FROM information_schema.columns WHERE table_schema = :s "
                "AND table_name = :t ORDER BY ordinal_position",
                s=schema,
                t=table,
            )
            if not (facts_only and r[0] == "updated_at")
        ]
        listed = ", ".join(f'"{c}"' for c in columns)
        content = admin_sql.run(f'SELECT ROW({listed})::text FROM "{schema}"."{table}"')
        found[f"{schema}.{table}"] = sorted(r[0] for r in content)
    return found


def bus_events(admin_sql: Any) -> dict[str, int]:
    """Events per outbox (tasks left out)."""
    return {
        s.schema: int(
            admin_sql.run(f"SELECT count(*) FROM \"{s.schema}\".outbox WHERE destination = 'bus'")[
                0
            ][0]
        )
        for s in SERVICES
    }


def message_body(message: dict[str, Any]) -> dict[str, Any]:
    body: dict[str, Any] = json.loads(message["Body"])
    return body


def consumer_schemas() -> list[str]:
    return [s.schema for s in SERVICES if s.has_consumer]
