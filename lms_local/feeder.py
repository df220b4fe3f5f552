"""Lambda's SQS event source, locally: poll a consumer's queue, hand it batches, and
delete exactly the records it did not report as failed.

A failed record stays in the queue and comes back after the visibility timeout; after
the queue's receive limit SQS (moto, LocalStack) moves it to the dead-letter queue.
"""

from __future__ import annotations

import logging
import threading
import time
from typing import Any

from lms_local.lambdas import WorkerPool
from lms_local.resources import Feed
from lms_platform import topology

logger = logging.getLogger("lms.feeder")

SQS_RECEIVE_MAX = 10  # an SQS limit per ReceiveMessage
CONSUMER_TIMEOUT_SECONDS = 60.0


def _message_attributes(message: dict[str, Any]) -> dict[str, Any]:
    converted = {}
    for name, attribute in (message.get("MessageAttributes") or {}).items():
        converted[name] = {
            "stringValue": attribute.get("StringValue"),
            "binaryValue": attribute.get("BinaryValue"),
            "stringListValues": attribute.get("StringListValues", []),
            "binaryListValues": attribute.get("BinaryListValues", []),
            "dataType": attribute.get("DataType", "String"),
        }
    return converted


def sqs_event(messages: list[dict[str, Any]], queue_arn: str, region: str) -> dict[str, Any]:
    """The event Lambda's SQS event source sends: one record per message."""
    records = []
    for message in messages:
        record: dict[str, Any] = {
            "messageId": message["MessageId"],
            "receiptHandle": message["ReceiptHandle"],
            "body": message["Body"],
            "attributes": dict(message.get("Attributes") or {}),
            "messageAttributes": _message_attributes(message),
            "md5OfBody": message.get("MD5OfBody", ""),
            "eventSource": "aws:sqs",
            "eventSourceARN": queue_arn,
            "awsRegion": region,
        }
        if message.get("MD5OfMessageAttributes"):
            record["md5OfMessageAttributes"] = message["MD5OfMessageAttributes"]
        records.append(record)
    return {"Records": records}


def failed_ids(result: Any) -> set[str]:
    """The message ids a consumer reported as failed (ReportBatchItemFailures)."""
    if not isinstance(result, dict):
        return set()
    return {
        str(item.get("itemIdentifier"))
        for item in result.get("batchItemFailures") or ()
        if isinstance(item, dict)
    }


class QueueFeeder:
    """One consumer's event source mapping: a thread that long-polls its queue."""

    def __init__(
        self,
        feed: Feed,
        sqs: Any,
        pool: WorkerPool,
        stop: threading.Event,
        *,
        region: str,
        batch_size: int = topology.CONSUMER_BATCH_SIZE,
        wait_seconds: int = 1,  # short, so that stopping is prompt
    ) -> None:
        self.feed = feed
        self.sqs = sqs
        self.pool = pool
        self.stop = stop
        self.region = region
        self.batch_size = batch_size
        self.wait_seconds = wait_seconds
        self._thread = threading.Thread(
            target=self._run, name=f"feed-{feed.subscription.queue_name}", daemon=True
        )

    @property
    def queue_name(self) -> str:
        return str(self.feed.subscription.queue_name)

    def start(self) -> None:
        self._thread.start()

    def join(self, timeout: float | None = None) -> None:
        self._thread.join(timeout)

    def _run(self) -> None:
        while not self.stop.is_set():
            try:
                self.poll_once()
            except Exception:
                if self.stop.is_set():
                    return
                logger.exception("polling %s failed; retrying", self.queue_name)
                self.stop.wait(1.0)

    def receive(self) -> list[dict[str, Any]]:
        messages: list[dict[str, Any]] = []
        wait = self.wait_seconds
        while len(messages) < self.batch_size and not self.stop.is_set():
            reply = self.sqs.receive_message(
                QueueUrl=self.feed.queue.url,
                MaxNumberOfMessages=min(SQS_RECEIVE_MAX, self.batch_size - len(messages)),
                WaitTimeSeconds=wait,
                AttributeNames=["All"],
                MessageAttributeNames=["All"],
            )
            found = reply.get("Messages") or []
            messages.extend(found)
            if len(found) < SQS_RECEIVE_MAX:
                break
            wait = 0  # fill the batch with what is already waiting, no more
        return messages

    def poll_once(self) -> int:
        """Receive one batch and deliver it; how many records were delivered."""
        messages = self.receive()
        if not messages:
            return 0
        return self.deliver(messages)

    def deliver(self, messages: list[dict[str, Any]]) -> int:
        started = time.perf_counter()
        subscription = self.feed.subscription
        event = sqs_event(messages, self.feed.queue.arn, self.region)
        try:
            result = self.pool.invoke(
                subscription.handler,
                event,
                function_name=f"lms-{subscription.service.name}-consumer",
                timeout=CONSUMER_TIMEOUT_SECONDS,
            )
            failed = failed_ids(result)
        except Exception:
            # A failed invocation fails the whole batch: every record comes back.
            logger.exception("consumer of %s failed", self.queue_name)
            failed = {m["MessageId"] for m in messages}
        done = [m for m in messages if m["MessageId"] not in failed]
        self._delete(done)
        elapsed = (time.perf_counter() - started) * 1000
        # Each delivery has its own line from the consumer; the batch's only in debug, or
        # when records failed (they come back after the visibility timeout).
        logger.log(
            logging.WARNING if len(done) < len(messages) else logging.DEBUG,
            "deliver %s %d records, %d failed %.0fms",
            self.queue_name,
            len(messages),
            len(messages) - len(done),
            elapsed,
        )
        return len(messages)

    def _delete(self, messages: list[dict[str, Any]]) -> None:
        for start in range(0, len(messages), SQS_RECEIVE_MAX):
            chunk = messages[start : start + SQS_RECEIVE_MAX]
            reply = self.sqs.delete_message_batch(
                QueueUrl=self.feed.queue.url,
                Entries=[
                    {"Id": str(i), "ReceiptHandle": m["ReceiptHandle"]} for i, m in enumerate(chunk)
                ],
            )
            for failure in reply.get("Failed") or ():
                logger.warning("could not delete a delivered message: %s", failure)
