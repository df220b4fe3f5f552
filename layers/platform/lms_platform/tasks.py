"""Tasks: long work a service's consumer hands to itself, a piece at a time.

A consumer invocation is bounded (30 s on AWS) and so must be each transaction in it,
whatever the size of the work an event starts (recompute a million enrollments, retire a
course's content). Such work is cut into pieces, and each piece is a *task*: a message on
the service's own events queue, which its consumer already reads.

- ``uow.outbox.add_task(name, payload)`` writes the task to the outbox in the same
  transaction as the rows it follows from; after the commit it is sent to the queue
  (SQS SendMessageBatch); what is not sent, the relay sends later, as for events.
- The consumer recognises a task in an SQS record and runs the handler registered for
  its name with a ``TaskContext``: the task and the time left before the invocation must
  stop. A handler may run several short transactions, and chains itself by adding the
  next task in its last one, so that a crash anywhere leaves either the work done or a
  task to continue it.
- Delivery is at least once (a task may arrive twice, or after a newer one): each task
  carries an id, and a handler is written so that a repeat changes nothing -- typically
  the row that records the work's progress names the task entitled to continue it.

The queue is the service's own: ``LMS_OWN_QUEUE_URL`` (set by the deployment), else found
by its name in ``lms_platform.topology`` (locally, where one process hosts every
service). Sending needs boto3 (~200 ms to import); only consumers and relays send tasks,
never request handlers, so only they pay for it.
"""

from __future__ import annotations

import json
import logging
import time
import uuid
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from functools import cache
from typing import Any

from lms_platform.settings import get_settings

logger = logging.getLogger(__name__)

# The key that marks an SQS message body as a task; an EventBridge event never has it.
BODY_KEY = "lmsTask"
SEND_MESSAGE_BATCH_MAX = 10  # an SQS limit per SendMessageBatch call
# Without a Lambda context (a script, a test calling the handler directly): the budget.
DEFAULT_BUDGET_SECONDS = 20.0
# What a task leaves unused of its invocation: the other records of the batch still have
# to be reported, and a transaction's commit takes time too.
SAFETY_MARGIN_SECONDS = 5.0


@dataclass(frozen=True)
class Task:
    id: uuid.UUID
    name: str
    service: str
    payload: dict[str, Any]
    created_at: datetime
    correlation_id: str | None = None

    @classmethod
    def new(
        cls, service: str, name: str, payload: dict[str, Any], correlation_id: str | None
    ) -> Task:
        return cls(uuid.uuid4(), name, service, payload, datetime.now(UTC), correlation_id)

    def body(self) -> str:
        """The SQS message body."""
        return json.dumps(
            {
                BODY_KEY: {
                    "id": str(self.id),
                    "name": self.name,
                    "service": self.service,
                    "payload": self.payload,
                    "createdAt": self.created_at.isoformat(),
                    "correlationId": self.correlation_id,
                }
            }
        )


def parse_task(body: Any) -> Task | None:
    """The task in a message body, or None when the body is something else (an event).

    A body marked as a task but malformed raises ``ValueError``: the record fails and,
    after the queue's receive limit, waits in the dead-letter queue for an operator.
    """
    if not isinstance(body, dict) or BODY_KEY not in body:
        return None
    found = body[BODY_KEY]
    try:
        payload = found["payload"]
        if not isinstance(payload, dict):
            raise TypeError("a task's payload is a JSON object")
        return Task(
            id=uuid.UUID(str(found["id"])),
            name=str(found["name"]),
            service=str(found["service"]),
            payload=payload,
            created_at=datetime.fromisoformat(str(found["createdAt"])),
            correlation_id=found.get("correlationId"),
        )
    except (KeyError, TypeError, ValueError) as error:
        raise ValueError(f"malformed task message: {error}") from error


class TaskContext:
    """What a task handler gets: the task, and how long it may still work."""

    def __init__(self, task: Task, deadline: float) -> None:
        self.task = task
        self.deadline = deadline  # time.monotonic() by which the handler must have stopped

    @classmethod
    def for_invocation(cls, task: Task, lambda_context: Any) -> TaskContext:
        """The invocation's remaining time less a margin (a quarter of it when that is less)."""
        if lambda_context is not None and hasattr(lambda_context, "get_remaining_time_in_millis"):
            remaining = lambda_context.get_remaining_time_in_millis() / 1000
        else:
            remaining = DEFAULT_BUDGET_SECONDS
        budget = max(0.0, remaining - min(SAFETY_MARGIN_SECONDS, remaining / 4))
        return cls(task, time.monotonic() + budget)

    def seconds_left(self) -> float:
        return max(0.0, self.deadline - time.monotonic())


@dataclass(frozen=True)
class TaskHandler:
    """``run`` does the work of the tasks named ``name``; it opens its own transactions."""

    name: str
    run: Callable[[TaskContext], None]


# --- sending ----------------------------------------------------------------------------


def own_queue_url(service: str) -> str:
    """The URL of ``service``'s own events queue: the setting, else looked up by name."""
    configured = get_settings().own_queue_url
    if configured:
        return configured
    settings = get_settings()
    return _queue_url_by_name(service, settings.aws_endpoint_url, settings.aws_region)


@cache
def _queue_url_by_name(service: str, endpoint: str | None, region: str) -> str:
    # Endpoint and region are part of the key: a changed environment finds the queue anew.
    from lms_platform import topology
    from lms_platform.aws import client

    return str(client("sqs").get_queue_url(QueueName=topology.queue_name(service))["QueueUrl"])


def send(service: str, entries: Sequence[tuple[uuid.UUID, str]]) -> list[uuid.UUID]:
    """Send ``(task_id, body)`` entries to ``service``'s own queue; the ids SQS accepted.

    SendMessageBatch answers entry by entry, like PutEvents: only the accepted ones count.
    """
    from lms_platform.aws import client

    sqs, url = client("sqs"), own_queue_url(service)
    accepted: list[uuid.UUID] = []
    for start in range(0, len(entries), SEND_MESSAGE_BATCH_MAX):
        batch = entries[start : start + SEND_MESSAGE_BATCH_MAX]
        reply = sqs.send_message_batch(
            QueueUrl=url,
            Entries=[{"Id": task_id.hex, "MessageBody": body} for task_id, body in batch],
        )
        ok = {str(s["Id"]) for s in reply.get("Successful") or ()}
        for failure in reply.get("Failed") or ():
            logger.warning("task not accepted by the queue", extra={"error": failure})
        accepted += [task_id for task_id, _ in batch if task_id.hex in ok]
    return accepted
