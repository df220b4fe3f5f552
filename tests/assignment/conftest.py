"""Assignment fixtures: events carried the deployed way, bus -> rule -> queue -> consumer.

``feeds`` makes, for the Enrollment and the Assignment services each, a rule on the bus
with the service's own declared event pattern and a queue as its target; ``pump()`` hands
what reached the queues to the consumers' Lambda handlers as SQS batches, as Lambda's
event source would, until both queues are empty (one consumer's effects may publish what
the other consumes: a grade completes a lesson).
"""

from __future__ import annotations

import json
import uuid
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

import pytest

from functions.assignment import consumer as assignment_consumer
from functions.assignment.service import SERVICE as ASSIGNMENT
from functions.enrollment import consumer as enrollment_consumer
from functions.enrollment.service import SERVICE as ENROLLMENT
from lms_platform import topology
from lms_platform.aws import client
from lms_platform.inbox import EventConsumer
from lms_platform.service import Service
from tests.enrollment.conftest import sqs_batch


@dataclass
class Queue:
    name: str
    url: str
    arn: str
    consumer: EventConsumer
    delivered: list[dict[str, Any]] = field(default_factory=list)

    def pump_once(self) -> int:
        sqs = client("sqs")
        total = 0
        while True:
            messages = sqs.receive_message(
                QueueUrl=self.url, MaxNumberOfMessages=10, WaitTimeSeconds=0
            ).get("Messages", [])
            if not messages:
                return total
            result = self.consumer.handler(sqs_batch(messages, self.arn), None)
            assert not result.get("batchItemFailures"), result
            for m in messages:
                self.delivered.append(json.loads(m["Body"]))
                sqs.delete_message(QueueUrl=self.url, ReceiptHandle=m["ReceiptHandle"])
            total += len(messages)


@dataclass
class Feeds:
    enrollment: Queue
    assignment: Queue

    def pump(self) -> int:
        """Deliver everything waiting, both ways, until nothing is left; how many."""
        total = 0
        while True:
            moved = self.enrollment.pump_once() + self.assignment.pump_once()
            if not moved:
                return total
            total += moved


def _queue(service: Service, consumer: EventConsumer) -> Queue:
    events, sqs = client("events"), client("sqs")
    name = f"test-{service.name}-{uuid.uuid4().hex[:8]}"
    url = sqs.create_queue(QueueName=name)["QueueUrl"]
    arn = sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["QueueArn"])["Attributes"][
        "QueueArn"
    ]
    events.put_rule(
        Name=name, EventBusName=topology.EVENT_BUS, EventPattern=json.dumps(service.event_pattern())
    )
    events.put_targets(
        Rule=name, EventBusName=topology.EVENT_BUS, Targets=[{"Id": service.name, "Arn": arn}]
    )
    return Queue(name, url, arn, consumer)


def _drop(queue: Queue) -> None:
    events, sqs = client("events"), client("sqs")
    events.remove_targets(
        Rule=queue.name, EventBusName=topology.EVENT_BUS, Ids=[queue.name.split("-")[1]]
    )
    events.delete_rule(Name=queue.name, EventBusName=topology.EVENT_BUS)
    sqs.delete_queue(QueueUrl=queue.url)


@pytest.fixture
def feeds(platform_env: dict[str, str], override_env: Any, db_clean: None) -> Iterator[Feeds]:
    enrollment = _queue(ENROLLMENT, enrollment_consumer.consumer)
    # The Enrollment consumer hands itself tasks (progress recomputes) on its own queue.
    override_env("LMS_OWN_QUEUE_URL", enrollment.url)
    assignment = _queue(ASSIGNMENT, assignment_consumer.consumer)
    yield Feeds(enrollment, assignment)
    _drop(enrollment)
    _drop(assignment)
