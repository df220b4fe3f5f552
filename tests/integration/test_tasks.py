"""Tasks on real PostgreSQL and moto: a task commits with the rows it follows from, goes to
the service's own queue after the commit (or later, by the relay), and the consumer runs
it with the time its invocation has left."""

from __future__ import annotations

import json
import uuid
from collections.abc import Callable, Iterator
from typing import Any

import pytest

from lms_events.user import UserRegistered
from lms_local.lambdas import LambdaContext
from lms_platform import outbox, tasks, topology
from lms_platform.aws import client
from lms_platform.db import Database, UnitOfWork
from lms_platform.inbox import EventConsumer
from lms_platform.outbox import relay
from lms_platform.tasks import TaskContext, TaskHandler
from tests.support import scalar

pytestmark = pytest.mark.usefixtures("db_clean")


class Queue:
    def __init__(self, url: str) -> None:
        self.url = url

    def bodies(self, expect: int = 1) -> list[dict[str, Any]]:
        """What reached the queue (waits until ``expect`` messages are there), consumed."""
        found: list[dict[str, Any]] = []
        for _ in range(20):
            reply = client("sqs").receive_message(
                QueueUrl=self.url, MaxNumberOfMessages=10, WaitTimeSeconds=0
            )
            for m in reply.get("Messages", []):
                found.append(json.loads(m["Body"]))
                client("sqs").delete_message(QueueUrl=self.url, ReceiptHandle=m["ReceiptHandle"])
            if len(found) >= expect:
                break
        return found


@pytest.fixture
def make_queue(platform_env: dict[str, str]) -> Iterator[Callable[[str], Queue]]:
    made: list[str] = []

    def make(name: str) -> Queue:
        url = client("sqs").create_queue(QueueName=name)["QueueUrl"]
        made.append(url)
        return Queue(url)

    yield make
    for url in made:
        client("sqs").delete_queue(QueueUrl=url)


@pytest.fixture
def own_queue(make_queue: Callable[[str], Queue], override_env: Any) -> Queue:
    """The User service's own queue, named to it by ``LMS_OWN_QUEUE_URL``."""
    queue = make_queue(f"test-own-{uuid.uuid4().hex[:8]}")
    override_env("LMS_OWN_QUEUE_URL", queue.url)
    return queue


def _task_row(admin_sql: Any, task_id: uuid.UUID) -> list[Any]:
    rows = admin_sql.run(
        "SELECT destination, event_type, published_at IS NOT NULL FROM lms_user.outbox "
        "WHERE id = :i",
        i=task_id,
    )
    return list(rows[0]) if rows else []


def _add_task(db: Database, name: str = "user.tidy-up", **payload: Any) -> uuid.UUID:
    def work(uow: UnitOfWork) -> uuid.UUID:
        task_id = uow.outbox.add_task(name, payload)
        uow.commit()
        return task_id

    return db.transaction(work)


def test_a_committed_task_goes_to_the_own_queue_and_is_marked_sent(
    db: Database, own_queue: Queue, admin_sql: Any
) -> None:
    task_id = _add_task(db, step=1)

    [body] = own_queue.bodies()
    task = tasks.parse_task(body)
    assert task is not None
    assert (task.id, task.name, task.service, task.payload) == (
        task_id,
        "user.tidy-up",
        "user",
        {"step": 1},
    )
    assert _task_row(admin_sql, task_id) == ["queue", "user.tidy-up", True]


def test_a_rolled_back_task_is_neither_stored_nor_sent(
    db: Database, own_queue: Queue, admin_sql: Any
) -> None:
    with db.unit_of_work() as uow:
        uow.outbox.add_task("user.tidy-up", {"step": 1})
        # leaving without commit rolls back

    assert own_queue.bodies(expect=0) == []
    assert scalar(admin_sql, "SELECT count(*) FROM lms_user.outbox") == 0


def test_without_a_configured_url_the_own_queue_is_found_by_its_name(
    db: Database, make_queue: Callable[[str], Queue]
) -> None:
    queue = make_queue(topology.queue_name("user"))  # what lms run and the CDK app create

    task_id = _add_task(db)

    [body] = queue.bodies()
    assert body[tasks.BODY_KEY]["id"] == str(task_id)


def test_a_task_the_queue_refuses_waits_for_the_relay_and_holds_back_no_event(
    db: Database,
    make_queue: Callable[[str], Queue],
    override_env: Any,
    platform_env: dict[str, str],
    admin_sql: Any,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    missing = f"{platform_env['AWS_ENDPOINT_URL']}/123456789012/test-missing-{uuid.uuid4().hex}"
    override_env("LMS_OWN_QUEUE_URL", missing)
    task_id = _add_task(db)
    # And an event whose PutEvents failed after its commit.
    with monkeypatch.context() as bus_down:
        bus_down.setattr(outbox, "put_events", _bus_unreachable)

        def register(uow: UnitOfWork) -> None:
            data = UserRegistered(
                user_id=uuid.uuid4(), email="a@example.com", display_name="A", roles=["STUDENT"]
            )
            uow.outbox.add(data, aggregate_id=data.user_id)
            uow.commit()

        db.transaction(register)
    assert _task_row(admin_sql, task_id) == ["queue", "user.tidy-up", False]

    # The relay, with the queue still missing, sends the event and keeps the task.
    assert relay(db, grace_seconds=0) == 1
    assert _task_row(admin_sql, task_id) == ["queue", "user.tidy-up", False]

    # Once the queue is there, the relay sends the task, once.
    queue = make_queue(f"test-own-{uuid.uuid4().hex[:8]}")
    override_env("LMS_OWN_QUEUE_URL", queue.url)
    assert relay(db, grace_seconds=0) == 1
    assert relay(db, grace_seconds=0) == 0
    [body] = queue.bodies()
    assert body[tasks.BODY_KEY]["id"] == str(task_id)
    assert _task_row(admin_sql, task_id) == ["queue", "user.tidy-up", True]


def _bus_unreachable(entries: Any) -> list[uuid.UUID]:
    raise ConnectionError("the bus is unreachable")


# --- the consumer --------------------------------------------------------------------------


def _record(body: str) -> dict[str, Any]:
    return {
        "messageId": str(uuid.uuid4()),
        "receiptHandle": "handle",
        "body": body,
        "attributes": {"ApproximateReceiveCount": "1"},
        "messageAttributes": {},
        "md5OfBody": "",
        "eventSource": "aws:sqs",
        "eventSourceARN": "arn:aws:sqs:us-east-1:123456789012:lms-user-events",
        "awsRegion": "us-east-1",
    }


def _task_body(name: str, correlation_id: str = "corr-7", **payload: Any) -> str:
    return tasks.Task.new("user", name, payload, correlation_id).body()


def test_the_consumer_runs_a_task_with_the_time_its_invocation_has_left(
    db: Database,
) -> None:
    from lms_platform import context

    ran: list[tuple[dict[str, Any], float, str | None]] = []

    def tidy(task_context: TaskContext) -> None:
        ran.append(
            (
                task_context.task.payload,
                task_context.seconds_left(),
                context.correlation_id.get(),
            )
        )

    consumer = EventConsumer(lambda: db, [], tasks=[TaskHandler("user.tidy-up", tidy)])
    event = {"Records": [_record(_task_body("user.tidy-up", step=2))]}

    result = consumer.handler(event, LambdaContext("lms-user-consumer", timeout_seconds=10))

    assert result == {"batchItemFailures": []}
    [(payload, left, correlation)] = ran
    assert payload == {"step": 2}
    # Ten seconds less a margin of a quarter (under the five-second cap): about 7.5.
    assert 7.0 < left <= 7.5
    assert correlation == "corr-7"


def test_an_unknown_or_malformed_task_fails_its_record_alone(db: Database) -> None:
    ran: list[str] = []
    consumer = EventConsumer(
        lambda: db,
        [],
        tasks=[TaskHandler("user.tidy-up", lambda c: ran.append(c.task.name))],
    )
    unknown = _record(_task_body("user.never-declared"))
    malformed = _record(json.dumps({tasks.BODY_KEY: {"name": "user.tidy-up"}}))
    good = _record(_task_body("user.tidy-up"))

    result = consumer.handler({"Records": [unknown, malformed, good]}, None)

    failed = {f["itemIdentifier"] for f in result["batchItemFailures"]}
    assert failed == {unknown["messageId"], malformed["messageId"]}
    assert ran == ["user.tidy-up"]


def test_without_a_lambda_context_a_task_gets_the_default_budget() -> None:
    task = tasks.Task.new("user", "user.tidy-up", {}, None)

    left = TaskContext.for_invocation(task, None).seconds_left()

    expected = tasks.DEFAULT_BUDGET_SECONDS - tasks.SAFETY_MARGIN_SECONDS
    assert expected - 0.5 < left <= expected
