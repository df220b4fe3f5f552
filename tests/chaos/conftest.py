"""The system wired as deployed, for fault injection: the bus, one rule, queue and
dead-letter queue per consuming service (``lms_local.resources.provision``, from the
declarations in ``functions.registry``), and ``Bus.settle()`` feeding each queue to its
consumer's Lambda handler as the SQS event source does. A service added to the registry is
wired, fed and checked without a line here changing."""

from __future__ import annotations

import json
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from importlib import import_module
from typing import Any

import pytest

from functions.registry import SERVICES
from lms_local.feeder import failed_ids, sqs_event
from lms_local.lambdas import LambdaContext
from lms_local.resources import Feed, provision
from lms_platform import topology
from lms_platform.aws import client
from lms_platform.inbox import EventConsumer
from tests.chaos import report

REGION = "us-east-1"
# Short, so that a record that was not acknowledged comes back within the test.
VISIBILITY_SECONDS = 2


def pytest_terminal_summary(terminalreporter: Any) -> None:
    lines = report.table()
    if lines:
        terminalreporter.section("chaos")
        for line in lines:
            terminalreporter.write_line(line)


def consumer_of(feed: Feed) -> EventConsumer:
    module = import_module(feed.subscription.handler.rsplit(".", 1)[0])
    found: EventConsumer = module.consumer
    return found


@dataclass
class Bus:
    feeds: list[Feed]
    delivered: dict[str, int] = field(default_factory=dict)
    _pool: Any = None

    @property
    def consumers(self) -> dict[str, EventConsumer]:
        return {f.subscription.service.name: consumer_of(f) for f in self.feeds}

    def feed(self, name: str) -> Feed:
        return next(f for f in self.feeds if f.subscription.service.name == name)

    def receive(self, feed: Feed, *, wait: int = 0, visibility: int | None = None) -> list[Any]:
        extra = {} if visibility is None else {"VisibilityTimeout": visibility}
        reply = client("sqs").receive_message(
            QueueUrl=feed.queue.url,
            MaxNumberOfMessages=10,
            WaitTimeSeconds=wait,
            AttributeNames=["All"],
            **extra,
        )
        messages: list[Any] = reply.get("Messages", [])
        return messages

    def deliver(self, feed: Feed, messages: list[Any]) -> set[str]:
        """One batch through the consumer's handler; the records left undeleted (failed)."""
        name = feed.subscription.service.name
        event = sqs_event(messages, feed.queue.arn, REGION)
        context = LambdaContext(f"lms-{name}-consumer", timeout_seconds=60)
        try:
            failed = failed_ids(consumer_of(feed).handler(event, context))
        except Exception:
            # A failed invocation (every record failed) fails the whole batch, as on Lambda.
            failed = {m["MessageId"] for m in messages}
        done = [m for m in messages if m["MessageId"] not in failed]
        for start in range(0, len(done), 10):
            client("sqs").delete_message_batch(
                QueueUrl=feed.queue.url,
                Entries=[
                    {"Id": str(i), "ReceiptHandle": m["ReceiptHandle"]}
                    for i, m in enumerate(done[start : start + 10])
                ],
            )
        self.delivered[name] = self.delivered.get(name, 0) + len(messages)
        return failed

    def settle(self, *, quiet_passes: int = 1) -> int:
        """Feed every queue until all are empty, each consumer in a thread of its own as
        Lambda runs them side by side; how many records went through. A record that fails
        (the database too busy for a moment) comes back after the visibility timeout, as
        on AWS, and is fed again."""
        import time

        def drain(feed: Feed) -> int:
            moved = 0
            while messages := self.receive(feed):
                self.deliver(feed, messages)
                moved += len(messages)
            return moved

        total, quiet = 0, 0
        while quiet < quiet_passes:
            moved = sum(self.pool.map(drain, self.feeds))
            total += moved
            if not moved and any(self.depth(f.queue.url) for f in self.feeds):
                time.sleep(0.5)  # records in flight: failed ones come back
                continue
            quiet = quiet + 1 if not moved else 0
        return total

    @property
    def pool(self) -> Any:
        # One thread per consumer for the whole run: each keeps its database connections
        # (one per service role per thread, as a warm Lambda environment does).
        from concurrent.futures import ThreadPoolExecutor

        if self._pool is None:
            self._pool = ThreadPoolExecutor(max(1, len(self.feeds)))
        return self._pool

    def purge(self) -> None:
        """Every queue and dead-letter queue emptied (PurgeQueue is allowed once a minute)."""
        sqs = client("sqs")
        for feed in self.feeds:
            dlq = sqs.get_queue_url(QueueName=feed.subscription.dlq_name)["QueueUrl"]
            for url in (feed.queue.url, dlq):
                while True:
                    messages = sqs.receive_message(
                        QueueUrl=url, MaxNumberOfMessages=10, VisibilityTimeout=60
                    ).get("Messages", [])
                    if not messages:
                        break
                    sqs.delete_message_batch(
                        QueueUrl=url,
                        Entries=[
                            {"Id": str(i), "ReceiptHandle": m["ReceiptHandle"]}
                            for i, m in enumerate(messages)
                        ],
                    )

    def depth(self, url: str) -> int:
        attributes = client("sqs").get_queue_attributes(
            QueueUrl=url,
            AttributeNames=["ApproximateNumberOfMessages", "ApproximateNumberOfMessagesNotVisible"],
        )["Attributes"]
        return sum(int(v) for v in attributes.values())


@pytest.fixture(scope="module")
def bus(platform_env: dict[str, str]) -> Iterator[Bus]:
    events, sqs = client("events"), client("sqs")
    feeds = provision(
        events,
        sqs,
        client("s3"),
        SERVICES,
        bus=topology.EVENT_BUS,
        region=REGION,
        visibility_timeout=VISIBILITY_SECONDS,
    )
    wired = Bus(feeds)
    yield wired
    if wired._pool is not None:
        wired._pool.shutdown()
    for feed in feeds:
        s = feed.subscription
        targets = events.list_targets_by_rule(Rule=s.rule_name, EventBusName=topology.EVENT_BUS)
        ids = [t["Id"] for t in targets["Targets"]]
        if ids:
            events.remove_targets(Rule=s.rule_name, EventBusName=topology.EVENT_BUS, Ids=ids)
        events.delete_rule(Name=s.rule_name, EventBusName=topology.EVENT_BUS)
        for name in (s.queue_name, s.dlq_name):
            sqs.delete_queue(QueueUrl=sqs.get_queue_url(QueueName=name)["QueueUrl"])
    from lms_platform.tasks import _queue_url_by_name

    cache_clear = getattr(_queue_url_by_name, "cache_clear", None)
    if cache_clear:
        cache_clear()


def outbox_events(admin_sql: Any, *, schemas: list[str] | None = None) -> list[dict[str, Any]]:
    """Every service's events as EventBridge delivers them (``source``, ``detail-type``,
    ``detail``), oldest first."""
    found: list[dict[str, Any]] = []
    for service in SERVICES:
        if schemas is not None and service.schema not in schemas:
            continue
        rows = admin_sql.run(
            f"SELECT id::text, source, event_type, detail::text, occurred_at "
            f"FROM {service.schema}.outbox WHERE destination = 'bus'"
        )
        found += [
            {"id": i, "source": s, "detail-type": t, "detail": json.loads(d), "at": at}
            for i, s, t, d, at in rows
        ]
    found.sort(key=lambda e: e["at"])
    return [{k: v for k, v in e.items() if k != "at"} for e in found]


@pytest.fixture(scope="module")
def story(bus: Bus, admin_url: str, admin_sql_module: Any) -> list[dict[str, Any]]:
    """The story's events (every table emptied first), each consumer's queue settled."""
    from tests.chaos.story import run_story, simulator_env
    from tests.conftest import _truncate_all

    _truncate_all(admin_url)
    bus.purge()
    env = simulator_env()
    next(env)
    try:
        run_story(bus)
    finally:
        next(env, None)
    return outbox_events(admin_sql_module)


@pytest.fixture(scope="module")
def admin_sql_module(admin_url: str, platform_env: dict[str, str]) -> Iterator[Any]:
    from lms_platform.db import open_connection, params_from_url

    connection = open_connection(params_from_url(admin_url))
    yield connection
    connection.close()


@dataclass
class Tap:
    """A queue subscribed to every ``lms.*`` event on the bus: what was published, how often."""

    rule: str
    url: str
    seen: dict[str, int] = field(default_factory=dict)

    def collect_once(self, wait: int = 0) -> int:
        sqs = client("sqs")
        messages = sqs.receive_message(
            QueueUrl=self.url, MaxNumberOfMessages=10, VisibilityTimeout=60, WaitTimeSeconds=wait
        ).get("Messages", [])
        for m in messages:
            event_id = json.loads(m["Body"])["detail"]["eventId"]
            self.seen[event_id] = self.seen.get(event_id, 0) + 1
        if messages:
            sqs.delete_message_batch(
                QueueUrl=self.url,
                Entries=[
                    {"Id": str(i), "ReceiptHandle": m["ReceiptHandle"]}
                    for i, m in enumerate(messages)
                ],
            )
        return len(messages)

    def collect(self, *, quiet_seconds: float = 1.0) -> dict[str, int]:
        """Every event id that reached the bus, with how many times (until the queue has
        been empty for ``quiet_seconds``)."""
        import time

        quiet_since = time.monotonic()
        while time.monotonic() - quiet_since < quiet_seconds:
            if self.collect_once():
                quiet_since = time.monotonic()
            else:
                time.sleep(0.05)
        return self.seen


@contextmanager
def consuming(bus: Bus, tap: Tap | None = None) -> Iterator[None]:
    """Consumers (and the tap) reading their queues while the body runs, as they do while
    a relay publishes: queues that are read stay short (moto's SendMessage takes time in
    proportion to the messages a queue holds)."""
    import threading

    stop, errors = threading.Event(), []

    def loop(step: Any) -> None:
        from functions.registry import SERVICES as ALL
        from lms_platform.db import database

        try:
            while not stop.is_set():
                try:
                    step()
                except Exception as error:  # reported when the body is done
                    errors.append(error)
                    return
        finally:
            for s in ALL:
                database(s.role).discard_connection()

    def feeding(feed: Feed) -> Any:
        def step() -> None:
            messages = bus.receive(feed, wait=1)
            if messages:
                bus.deliver(feed, messages)  # failed records come back (visibility timeout)

        return step

    steps = [feeding(f) for f in bus.feeds] + ([lambda: tap.collect_once(wait=1)] if tap else [])
    threads = [threading.Thread(target=loop, args=(s,), daemon=True) for s in steps]
    for t in threads:
        t.start()
    try:
        yield
    finally:
        stop.set()
        for t in threads:
            t.join(timeout=30)
    assert not errors, errors


@pytest.fixture
def tap(bus: Bus) -> Iterator[Tap]:
    import uuid

    events, sqs = client("events"), client("sqs")
    name = f"chaos-tap-{uuid.uuid4().hex[:8]}"
    url = sqs.create_queue(QueueName=name)["QueueUrl"]
    arn = sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["QueueArn"])["Attributes"][
        "QueueArn"
    ]
    events.put_rule(
        Name=name,
        EventBusName=topology.EVENT_BUS,
        EventPattern=json.dumps({"source": [{"prefix": "lms."}]}),
    )
    events.put_targets(
        Rule=name, EventBusName=topology.EVENT_BUS, Targets=[{"Id": "tap", "Arn": arn}]
    )
    yield Tap(name, url)
    events.remove_targets(Rule=name, EventBusName=topology.EVENT_BUS, Ids=["tap"])
    events.delete_rule(Name=name, EventBusName=topology.EVENT_BUS)
    sqs.delete_queue(QueueUrl=url)


def applied(
    admin_sql: Any, bus: Bus, made: list[tuple[str, str, str]]
) -> dict[str, tuple[int, int]]:
    """Per consumer: (effects expected, inbox rows found) for the events ``made``. An inbox
    row commits with its effect, once per (event, handler)."""
    ids = [i for i, _, _ in made]
    out: dict[str, tuple[int, int]] = {}
    for feed in bus.feeds:
        subscriptions = consumer_of(feed).subscriptions
        expected = sum(
            1
            for _, source, kind in made
            for s in subscriptions
            if (s.event.source, s.event.event_type) == (source, kind)
        )
        schema = feed.subscription.service.schema
        found = admin_sql.run(
            f"SELECT count(*) FROM {schema}.inbox WHERE event_id = ANY(CAST(:ids AS uuid[]))",
            ids="{" + ",".join(ids) + "}",
        )[0][0]
        out[feed.subscription.service.name] = (expected, int(found))
    return out


@pytest.fixture(autouse=True)
def connections_given_back(admin_url: str) -> Iterator[None]:
    """After each fault, the database connections its threads and processes kept are
    ended (as a function's execution environment ends), so that no test after it finds
    the server's connection slots taken; this process's kept connections are dropped."""
    yield
    from lms_platform.db import open_connection, params_from_url, reset_databases

    connection = open_connection(params_from_url(admin_url))
    try:
        connection.run(
            "SELECT pg_terminate_backend(pid) FROM pg_stat_activity"
            " WHERE pid <> pg_backend_pid() AND datname = current_database()"
            " AND usename <> current_user"
        )
    finally:
        connection.close()
    reset_databases()
