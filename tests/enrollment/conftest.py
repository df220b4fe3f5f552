"""Enrollment fixtures: Course events carried to the Enrollment consumer the deployed way.

``course_feed`` makes a rule on the bus with the Enrollment service's own declared event
pattern and an SQS queue as its target; ``pump()`` receives what reached the queue and
hands it to the consumer's Lambda handler as an SQS batch, as Lambda's event source would.
The queue is also the service's own queue (``LMS_OWN_QUEUE_URL``), as on AWS: the tasks
the consumer hands to itself arrive there, and ``pump()`` runs them too.
"""

from __future__ import annotations

import json
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import pytest

from functions.enrollment import consumer
from functions.enrollment.service import SERVICE
from lms_platform import topology
from lms_platform.aws import client


def sqs_batch(messages: list[dict[str, Any]], queue_arn: str) -> dict[str, Any]:
    return {
        "Records": [
            {
                "messageId": m["MessageId"],
                "receiptHandle": m["ReceiptHandle"],
                "body": m["Body"],
                "attributes": {"ApproximateReceiveCount": "1"},
                "messageAttributes": {},
                "md5OfBody": m.get("MD5OfBody", ""),
                "eventSource": "aws:sqs",
                "eventSourceARN": queue_arn,
                "awsRegion": "us-east-1",
            }
            for m in messages
        ]
    }


@dataclass
class CourseFeed:
    name: str
    queue_url: str
    queue_arn: str
    delivered: list[dict[str, Any]]

    def pump(self) -> int:
        """Deliver every message waiting in the queue (tasks sent meanwhile included) until
        it is empty; how many there were."""
        sqs = client("sqs")
        total = 0
        while True:
            messages = sqs.receive_message(
                QueueUrl=self.queue_url, MaxNumberOfMessages=10, WaitTimeSeconds=0
            ).get("Messages", [])
            if not messages:
                return total
            result = consumer.handler(sqs_batch(messages, self.queue_arn), None)
            assert not result.get("batchItemFailures"), result
            for m in messages:
                self.delivered.append(json.loads(m["Body"]))
                sqs.delete_message(QueueUrl=self.queue_url, ReceiptHandle=m["ReceiptHandle"])
            total += len(messages)


@pytest.fixture
def own_queue(platform_env: dict[str, str], override_env: Any) -> Iterator[CourseFeed]:
    """The service's own queue without a rule on the bus: only the tasks its consumer sends
    itself arrive there; ``pump()`` runs them."""
    sqs = client("sqs")
    name = f"test-enrollment-tasks-{uuid.uuid4().hex[:8]}"
    queue_url = sqs.create_queue(QueueName=name)["QueueUrl"]
    queue_arn = sqs.get_queue_attributes(QueueUrl=queue_url, AttributeNames=["QueueArn"])[
        "Attributes"
    ]["QueueArn"]
    override_env("LMS_OWN_QUEUE_URL", queue_url)
    yield CourseFeed(name, queue_url, queue_arn, [])
    sqs.delete_queue(QueueUrl=queue_url)


@pytest.fixture
def course_feed(platform_env: dict[str, str], override_env: Any) -> Iterator[CourseFeed]:
    events, sqs = client("events"), client("sqs")
    name = f"test-enrollment-{uuid.uuid4().hex[:8]}"
    queue_url = sqs.create_queue(QueueName=name)["QueueUrl"]
    override_env("LMS_OWN_QUEUE_URL", queue_url)
    queue_arn = sqs.get_queue_attributes(QueueUrl=queue_url, AttributeNames=["QueueArn"])[
        "Attributes"
    ]["QueueArn"]
    events.put_rule(
        Name=name,
        EventBusName=topology.EVENT_BUS,
        EventPattern=json.dumps(SERVICE.event_pattern()),
    )
    events.put_targets(
        Rule=name, EventBusName=topology.EVENT_BUS, Targets=[{"Id": "enrollment", "Arn": queue_arn}]
    )
    yield CourseFeed(name, queue_url, queue_arn, [])
    events.remove_targets(Rule=name, EventBusName=topology.EVENT_BUS, Ids=["enrollment"])
    events.delete_rule(Name=name, EventBusName=topology.EVENT_BUS)
    sqs.delete_queue(QueueUrl=queue_url)
