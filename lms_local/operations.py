"""What an operator does to the event paths: replay events to consumers, look into and empty
the dead-letter queues. ``lms replay`` and ``lms dlq`` call these, locally against the
runtime's moto (or LocalStack) and with ``--aws`` against a deployed stage.

Replay, locally: the published events kept in the outboxes, oldest first, sent to the
queue of every consumer whose rule lets them through (or of the one named), as the rule
would have delivered them; the consumers take them from there like any other. On AWS:
EventBridge StartReplay from the bus's archive, to the consumers' rules.

Dead letters: a message a consumer failed ``MAX_RECEIVE_COUNT`` times waits in the
consumer's dead-letter queue. Looking at one is receiving it, which SQS counts; the message
is made visible again at once. Moving them back uses SQS's message move task
(StartMessageMoveTask) where the endpoint has it (AWS, LocalStack); moto 5 does not, and
there each message is received, sent to the source queue and then deleted (a crash in
between sends it twice: the inbox makes that harmless).
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from lms_platform import replay, topology
from lms_platform.service import Service
from lms_platform.topology import Subscription

SQS_BATCH = 10  # SendMessageBatch, ReceiveMessage, DeleteMessageBatch limits
# How long a message looked at stays hidden from the consumer while the listing runs.
PEEK_VISIBILITY_SECONDS = 20


def _code(error: Exception) -> str:
    response: dict[str, Any] = getattr(error, "response", {}) or {}
    return str(response.get("Error", {}).get("Code", ""))


def consumers(
    services: Iterable[Service], name: str | None = None, stage: str = topology.LOCAL_STAGE
) -> list[Subscription]:
    """The consumers' subscriptions (the one of service ``name`` when given)."""
    found = topology.subscriptions(tuple(services), stage)
    if name is None:
        return found
    chosen = [s for s in found if s.service.name == name]
    if not chosen:
        known = ", ".join(s.service.name for s in found)
        raise LookupError(f"no consumer named {name!r} (consumers: {known})")
    return chosen


# --- replay, locally ----------------------------------------------------------------------------


@dataclass
class LocalReplay:
    name: str
    events: int = 0  # events read from the outboxes
    sent: dict[str, int] = field(default_factory=dict)  # messages per consumer queue


def replay_locally(
    sqs: Any,
    services: tuple[Service, ...],
    *,
    since: datetime,
    until: datetime | None = None,
    source: str | None = None,
    to_consumer: str | None = None,
    region: str = "us-east-1",
) -> LocalReplay:
    """Send the retained events again to the consumers' queues; what went where."""
    targets = consumers(services, to_consumer)
    queues = {s.service.name: _queue(sqs, s.queue_name) for s in targets}
    account = next(iter(queues.values()))[1].split(":")[4] if queues else "000000000000"
    report = LocalReplay(name=f"lms-replay-{datetime.now(UTC):%Y%m%dT%H%M%S}")
    report.sent = dict.fromkeys(queues, 0)
    pending: dict[str, list[str]] = {name: [] for name in queues}
    for event in replay.from_outboxes(services, since=since, until=until, source=source):
        report.events += 1
        body = json.dumps(event.bus_event(account=account, region=region, replay_name=report.name))
        for subscription in targets:
            if replay.matches(subscription.pattern, event.source, event.detail_type):
                name = subscription.service.name
                pending[name].append(body)
                if len(pending[name]) == SQS_BATCH:
                    report.sent[name] += _send(sqs, queues[name][0], pending[name])
                    pending[name] = []
    for name, bodies in pending.items():
        if bodies:
            report.sent[name] += _send(sqs, queues[name][0], bodies)
    return report


def _queue(sqs: Any, name: str) -> tuple[str, str]:
    url = sqs.get_queue_url(QueueName=name)["QueueUrl"]
    arn = sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["QueueArn"])["Attributes"][
        "QueueArn"
    ]
    return str(url), str(arn)


def _send(sqs: Any, url: str, bodies: list[str]) -> int:
    reply = sqs.send_message_batch(
        QueueUrl=url, Entries=[{"Id": str(i), "MessageBody": b} for i, b in enumerate(bodies)]
    )
    failed = reply.get("Failed") or []
    if failed:
        raise RuntimeError(f"the queue refused {len(failed)} replayed events: {failed[0]}")
    return len(bodies)


def replay_on_aws(
    events: Any,
    services: tuple[Service, ...],
    *,
    stage: str,
    since: datetime,
    until: datetime | None = None,
    to_consumer: str | None = None,
) -> replay.ArchiveReplay:
    """StartReplay of the stage's archive to its consumers' rules (or the one named)."""
    rules = [s.rule_name for s in consumers(services, to_consumer, stage)]
    return replay.start_archive_replay(
        events,
        bus=topology.event_bus(stage),
        archive=topology.archive_name(stage),
        rules=rules,
        since=since,
        until=until or datetime.now(UTC),
    )


# --- dead-letter queues -------------------------------------------------------------------------


@dataclass(frozen=True)
class DeadLetterQueue:
    service: str
    name: str
    url: str
    arn: str
    source_url: str
    source_arn: str
    waiting: int  # messages in the DLQ (SQS's approximate count)
    in_flight: int  # being looked at or moved right now


@dataclass(frozen=True)
class DeadLetter:
    message_id: str
    kind: str  # "event" or "task"
    event_id: str | None
    event_type: str | None
    source: str | None
    occurred_at: str | None
    receive_count: int  # as SQS counts it: the failed deliveries, and every look since
    sent_at: str | None  # when the message first entered the consumer's queue
    body: dict[str, Any]


def dead_letter_queues(
    sqs: Any,
    services: Iterable[Service],
    name: str | None = None,
    stage: str = topology.LOCAL_STAGE,
) -> list[DeadLetterQueue]:
    found = []
    for subscription in consumers(services, name, stage):
        url, arn = _queue(sqs, subscription.dlq_name)
        source_url, source_arn = _queue(sqs, subscription.queue_name)
        attributes = sqs.get_queue_attributes(
            QueueUrl=url,
            AttributeNames=[
                "ApproximateNumberOfMessages",
                "ApproximateNumberOfMessagesNotVisible",
            ],
        )["Attributes"]
        found.append(
            DeadLetterQueue(
                service=subscription.service.name,
                name=subscription.dlq_name,
                url=url,
                arn=arn,
                source_url=source_url,
                source_arn=source_arn,
                waiting=int(attributes.get("ApproximateNumberOfMessages", 0)),
                in_flight=int(attributes.get("ApproximateNumberOfMessagesNotVisible", 0)),
            )
        )
    return found


def describe(message: dict[str, Any]) -> DeadLetter:
    """What a dead-lettered message holds: an event (its envelope) or a task."""
    try:
        body = json.loads(message.get("Body") or "null")
    except ValueError:
        body = {"unreadable": message.get("Body")}
    if not isinstance(body, dict):
        body = {"unreadable": body}
    attributes = message.get("Attributes") or {}
    sent = attributes.get("SentTimestamp")
    sent_at = (
        datetime.fromtimestamp(int(sent) / 1000, UTC).isoformat(timespec="seconds")
        if sent
        else None
    )
    count = int(attributes.get("ApproximateReceiveCount", 0))
    if "lmsTask" in body:
        task = body["lmsTask"] if isinstance(body["lmsTask"], dict) else {}
        return DeadLetter(
            message_id=str(message["MessageId"]),
            kind="task",
            event_id=str(task.get("id")),
            event_type=str(task.get("name")),
            source=f"lms.{task.get('service')}",
            occurred_at=task.get("createdAt"),
            receive_count=count,
            sent_at=sent_at,
            body=body,
        )
    found = body.get("detail")
    detail: dict[str, Any] = found if isinstance(found, dict) else {}
    return DeadLetter(
        message_id=str(message["MessageId"]),
        kind="event",
        event_id=detail.get("eventId"),
        event_type=body.get("detail-type"),
        source=body.get("source"),
        occurred_at=detail.get("occurredAt"),
        receive_count=count,
        sent_at=sent_at,
        body=body,
    )


def peek(sqs: Any, queue: DeadLetterQueue, limit: int = 100) -> list[DeadLetter]:
    """Up to ``limit`` messages of a dead-letter queue, left in it (visible again at once)."""
    seen: dict[str, DeadLetter] = {}
    handles: list[str] = []
    try:
        while len(seen) < limit:
            reply = sqs.receive_message(
                QueueUrl=queue.url,
                MaxNumberOfMessages=min(SQS_BATCH, limit - len(seen)),
                VisibilityTimeout=PEEK_VISIBILITY_SECONDS,
                WaitTimeSeconds=0,
                AttributeNames=["All"],
                MessageAttributeNames=["All"],
            )
            messages = reply.get("Messages") or []
            if not messages:
                break
            for message in messages:
                handles.append(message["ReceiptHandle"])
                seen.setdefault(message["MessageId"], describe(message))
    finally:
        for start in range(0, len(handles), SQS_BATCH):
            chunk = handles[start : start + SQS_BATCH]
            sqs.change_message_visibility_batch(
                QueueUrl=queue.url,
                Entries=[
                    {"Id": str(i), "ReceiptHandle": h, "VisibilityTimeout": 0}
                    for i, h in enumerate(chunk)
                ],
            )
    return list(seen.values())


@dataclass(frozen=True)
class Redrive:
    service: str
    how: str  # "move task" (SQS StartMessageMoveTask) or "moved" (receive, send, delete)
    moved: int | None  # messages moved (None: the move task runs on, asynchronously)
    task_handle: str | None = None


# What an emulator answers for an action it lacks (moto's server: a bare 500).
_NOT_IMPLEMENTED = {"500", "InternalFailure", "InvalidAction", "UnsupportedOperation"}


def redrive(sqs: Any, queue: DeadLetterQueue, *, fallback: bool = True) -> Redrive:
    """Every message of the dead-letter queue back to the queue its consumer reads: SQS's
    move task, or (``fallback``, an emulator without it) a move message by message."""
    try:
        answer = sqs.start_message_move_task(SourceArn=queue.arn, DestinationArn=queue.source_arn)
    except NotImplementedError:
        if not fallback:
            raise
    except Exception as error:
        if not fallback or _code(error) not in _NOT_IMPLEMENTED:
            raise
    else:
        return Redrive(queue.service, "move task", None, str(answer.get("TaskHandle")))
    return Redrive(queue.service, "moved", move_messages(sqs, queue.url, queue.source_url))


def move_messages(sqs: Any, source_url: str, destination_url: str) -> int:
    """Receive, send to ``destination_url``, delete: until the source is empty."""
    moved = 0
    while True:
        messages = (
            sqs.receive_message(
                QueueUrl=source_url,
                MaxNumberOfMessages=SQS_BATCH,
                VisibilityTimeout=60,
                WaitTimeSeconds=0,
                MessageAttributeNames=["All"],
            ).get("Messages")
            or []
        )
        if not messages:
            return moved
        entries = []
        for i, message in enumerate(messages):
            entry: dict[str, Any] = {"Id": str(i), "MessageBody": message["Body"]}
            if message.get("MessageAttributes"):
                entry["MessageAttributes"] = message["MessageAttributes"]
            entries.append(entry)
        reply = sqs.send_message_batch(QueueUrl=destination_url, Entries=entries)
        sent = {str(s["Id"]) for s in reply.get("Successful") or ()}
        done = [
            {"Id": str(i), "ReceiptHandle": m["ReceiptHandle"]}
            for i, m in enumerate(messages)
            if str(i) in sent
        ]
        if done:
            sqs.delete_message_batch(QueueUrl=source_url, Entries=done)
        moved += len(done)
        if len(done) < len(messages):
            failed = reply.get("Failed") or [{}]
            raise RuntimeError(f"the queue refused {len(messages) - len(done)}: {failed[0]}")


def wait_until_empty(
    sqs: Any,
    urls: Iterable[str],
    *,
    timeout: float = 60.0,
    interval: float = 0.2,
    clock: Callable[[], float] = time.monotonic,
) -> bool:
    """Whether every queue drained (nothing waiting, nothing in flight) within ``timeout``."""
    deadline = clock() + timeout
    urls = list(urls)
    while True:
        if all(_depth(sqs, url) == 0 for url in urls):
            return True
        if clock() > deadline:
            return False
        time.sleep(interval)


def _depth(sqs: Any, url: str) -> int:
    attributes = sqs.get_queue_attributes(
        QueueUrl=url,
        AttributeNames=["ApproximateNumberOfMessages", "ApproximateNumberOfMessagesNotVisible"],
    )["Attributes"]
    return int(attributes["ApproximateNumberOfMessages"]) + int(
        attributes["ApproximateNumberOfMessagesNotVisible"]
    )


def table(rows: Iterator[list[str]] | list[list[str]]) -> str:
    """Rows as left-aligned columns (the first row is the header)."""
    rows = [list(r) for r in rows]
    widths = [max(len(r[i]) for r in rows) for i in range(len(rows[0]))]
    return "\n".join(
        "  ".join(cell.ljust(w) for cell, w in zip(r, widths, strict=True)).rstrip() for r in rows
    )
