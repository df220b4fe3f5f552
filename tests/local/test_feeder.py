"""Resources from the declarations, and the SQS feeder: batches in, partial failures out,
redelivery, and the dead-letter queue after the receive limit."""

from __future__ import annotations

import json
import threading
from collections.abc import Iterator
from typing import Any

import boto3
import pytest
from aws_lambda_powertools.utilities.batch import (
    BatchProcessor,
    EventType,
    process_partial_response,
)
from aws_lambda_powertools.utilities.data_classes.sqs_event import SQSRecord

from lms_local.environment import free_port
from lms_local.feeder import QueueFeeder, failed_ids, sqs_event
from lms_local.lambdas import WorkerPool
from lms_local.resources import Feed, provision
from lms_platform import topology
from lms_platform.service import Service
from lms_platform.topology import Subscription

BUS = "lms"
REGION = "us-east-1"


@pytest.fixture(scope="module")
def endpoint() -> Iterator[str]:
    from moto.server import ThreadedMotoServer

    port = free_port()
    server = ThreadedMotoServer(ip_address="127.0.0.1", port=port, verbose=False)
    server.start()
    yield f"http://127.0.0.1:{port}"
    server.stop()


def _client(name: str, endpoint: str) -> Any:
    return boto3.client(
        name,  # type: ignore[call-overload]
        endpoint_url=endpoint,
        region_name=REGION,
        aws_access_key_id="testing",
        aws_secret_access_key="testing",
    )


class FakeEvent:
    source = "lms.fake"
    event_type = "ThingHappened"


CONSUMER = "tests.local.fake_consumer.handler"


def fake_service(name: str) -> Service:
    # ``consumes`` needs only ``source`` and ``event_type`` to make the rule's pattern.
    return Service(name=name, consumes=(FakeEvent,))  # type: ignore[arg-type]


def subscription(name: str) -> Subscription:
    [found] = topology.subscriptions((fake_service(name),))
    return found


def test_provisioning_twice_changes_nothing_and_follows_the_topology(endpoint: str) -> None:
    events, sqs, s3 = (_client(n, endpoint) for n in ("events", "sqs", "s3"))
    services = (fake_service("twice"),)
    # Given resources made once, When they are made again (a LocalStack that has them)
    first = provision(events, sqs, s3, services, bus=BUS, region=REGION, visibility_timeout=30)
    again = provision(events, sqs, s3, services, bus=BUS, region=REGION, visibility_timeout=7)
    # Then the same queue is found, with the new visibility timeout and the DLQ redrive
    assert [f.queue for f in first] == [f.queue for f in again]
    attributes = sqs.get_queue_attributes(QueueUrl=again[0].queue.url, AttributeNames=["All"])[
        "Attributes"
    ]
    assert attributes["VisibilityTimeout"] == "7"
    redrive = json.loads(attributes["RedrivePolicy"])
    assert int(redrive["maxReceiveCount"]) == topology.MAX_RECEIVE_COUNT
    assert redrive["deadLetterTargetArn"].endswith(":lms-twice-events-dlq")
    rule = events.describe_rule(Name="lms-twice-events", EventBusName=BUS)
    assert json.loads(rule["EventPattern"]) == {
        "source": ["lms.fake"],
        "detail-type": ["ThingHappened"],
    }
    s3.head_bucket(Bucket=topology.CONTENT_BUCKET)


def test_the_sqs_event_is_what_powertools_batch_processing_reads() -> None:
    messages = [
        {
            "MessageId": "m1",
            "ReceiptHandle": "h1",
            "Body": '{"ok": true}',
            "Attributes": {"ApproximateReceiveCount": "1", "SentTimestamp": "1"},
            "MD5OfBody": "x",
            "MessageAttributes": {"k": {"DataType": "String", "StringValue": "v"}},
        },
        {"MessageId": "m2", "ReceiptHandle": "h2", "Body": '{"ok": false}'},
    ]
    event = sqs_event(messages, "arn:aws:sqs:us-east-1:123456789012:q", REGION)
    record = event["Records"][0]
    assert record["eventSource"] == "aws:sqs"
    assert record["eventSourceARN"] == "arn:aws:sqs:us-east-1:123456789012:q"
    assert record["attributes"]["ApproximateReceiveCount"] == "1"
    assert record["messageAttributes"]["k"]["stringValue"] == "v"

    def handle(record: SQSRecord) -> None:
        if not json.loads(record.body)["ok"]:
            raise ValueError("bad record")

    result = process_partial_response(
        event=event,
        record_handler=handle,
        processor=BatchProcessor(event_type=EventType.SQS),
        context=None,  # type: ignore[arg-type]
    )
    assert failed_ids(result) == {"m2"}


def test_failed_records_come_back_and_end_in_the_dead_letter_queue(endpoint: str) -> None:
    from tests.local import fake_consumer

    events, sqs, s3 = (_client(n, endpoint) for n in ("events", "sqs", "s3"))
    service = fake_service("feed")
    # Visibility timeout 0: a failed record is visible again at once, so the test is quick.
    [feed] = provision(events, sqs, s3, (service,), bus=BUS, region=REGION, visibility_timeout=0)
    feed = Feed(subscription=feed.subscription, queue=feed.queue)
    pool = WorkerPool(1)
    pool.handlers.register(CONSUMER, fake_consumer.handler)
    object.__setattr__(feed.subscription, "handler", CONSUMER)
    stop = threading.Event()
    feeder = QueueFeeder(feed, sqs, pool, stop, region=REGION, wait_seconds=0)
    fake_consumer.seen.clear()
    try:
        # Given one good and one poisonous event on the bus
        for name in ("good", "poison"):
            events.put_events(
                Entries=[
                    {
                        "EventBusName": BUS,
                        "Source": "lms.fake",
                        "DetailType": "ThingHappened",
                        "Detail": json.dumps({"name": name}),
                    }
                ]
            )
        # When the feeder polls until the queue is empty
        for _ in range(50):
            if not feeder.poll_once() and _depth(sqs, feed.queue.url) == 0:
                break
        # Then the good one was delivered once and deleted
        assert fake_consumer.seen.count("good") == 1
        # And the poisonous one was tried up to the receive limit, then dead-lettered
        assert fake_consumer.seen.count("poison") == topology.MAX_RECEIVE_COUNT
        dlq_url = sqs.get_queue_url(QueueName=feed.subscription.dlq_name)["QueueUrl"]
        dead = sqs.receive_message(QueueUrl=dlq_url, MaxNumberOfMessages=10)["Messages"]
        assert [json.loads(m["Body"])["detail"]["name"] for m in dead] == ["poison"]
    finally:
        stop.set()
        pool.shutdown()


def _depth(sqs: Any, url: str) -> int:
    attributes = sqs.get_queue_attributes(
        QueueUrl=url,
        AttributeNames=["ApproximateNumberOfMessages", "ApproximateNumberOfMessagesNotVisible"],
    )["Attributes"]
    return int(attributes["ApproximateNumberOfMessages"]) + int(
        attributes["ApproximateNumberOfMessagesNotVisible"]
    )
