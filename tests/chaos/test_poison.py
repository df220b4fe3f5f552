"""A poison message in every consumer's queue (an event its handler fails on, until a fix):
the records beside it are applied at once (partial batch failure), it goes to the
dead-letter queue after the configured receives, and once the handler is fixed and the
message redriven (moved back to the queue with SQS's own calls) it is applied once."""

from __future__ import annotations

import json
from typing import Any

import pytest

from lms_platform import topology
from lms_platform.aws import client
from lms_platform.inbox import EventConsumer
from tests.chaos import report
from tests.chaos.conftest import Bus, consumer_of
from tests.chaos.test_consumer_kill import copies

pytestmark = [pytest.mark.integration, pytest.mark.chaos]

FAULT = "poison message: partial batch failure, DLQ, redrive after the fix"


def test_a_poison_message_blocks_nothing_goes_to_the_dlq_and_is_applied_once_redriven(
    bus: Bus, story: list[dict[str, Any]], admin_sql_module: Any, monkeypatch: Any
) -> None:
    sql, sqs = admin_sql_module, client("sqs")
    bus.purge()
    batches: dict[str, list[dict[str, Any]]] = {}
    for feed in bus.feeds:
        keys = {(s.event.source, s.event.event_type) for s in consumer_of(feed).subscriptions}
        batch = copies([e for e in story if (e["source"], e["detail-type"]) in keys], 10)
        batches[feed.subscription.service.name] = batch
        sqs.send_message_batch(
            QueueUrl=feed.queue.url,
            Entries=[{"Id": str(i), "MessageBody": json.dumps(e)} for i, e in enumerate(batch)],
        )
    # Given a handler bug that fails on one event in each queue (the first of its batch)
    poison = {batch[0]["id"] for batch in batches.values()}
    real = EventConsumer._apply_in

    def buggy(self: EventConsumer, database: Any, subscription: Any, envelope: Any) -> int:
        if str(envelope.event_id) in poison:
            raise RuntimeError("a bug in the handler")
        return real(self, database, subscription, envelope)

    monkeypatch.setattr(EventConsumer, "_apply_in", buggy)
    # When the queues are fed (the poison comes back at once: visibility 0) until empty
    receives = dict.fromkeys(batches, 0)
    first_round: dict[str, int] = {}
    for _ in range(topology.MAX_RECEIVE_COUNT + 2):
        for feed in bus.feeds:
            name = feed.subscription.service.name
            messages = bus.receive(feed, visibility=0)
            receives[name] += sum(json.loads(m["Body"])["id"] in poison for m in messages)
            if messages:
                bus.deliver(feed, messages)
            first_round.setdefault(name, inbox(sql, feed, batches[name][1:]))
    monkeypatch.undo()  # the fix
    for feed in bus.feeds:
        name = feed.subscription.service.name
        batch = batches[name]
        dlq = sqs.get_queue_url(QueueName=feed.subscription.dlq_name)["QueueUrl"]
        expected_rest = effects(feed, batch[1:])
        report.record(
            FAULT,
            f"{name}: effects of the 9 others, first delivery",
            expected_rest,
            first_round[name],
        )
        report.record(
            FAULT,
            f"{name}: receives of the poison before the DLQ",
            topology.MAX_RECEIVE_COUNT,
            receives[name],
        )
        in_dlq = sqs.receive_message(QueueUrl=dlq, MaxNumberOfMessages=10, VisibilityTimeout=30)
        dead = in_dlq.get("Messages", [])
        report.record(FAULT, f"{name}: messages in the DLQ", 1, len(dead))
        report.record(
            FAULT, f"{name}: poison effects before the redrive", 0, inbox(sql, feed, batch[:1])
        )
        # Then, redriven after the fix, it is applied once (twice redriven: still once)
        for _ in range(2):
            for m in dead:
                sqs.send_message(QueueUrl=feed.queue.url, MessageBody=m["Body"])
            while messages := bus.receive(feed):
                assert not bus.deliver(feed, messages)
        for m in dead:
            sqs.delete_message(QueueUrl=dlq, ReceiptHandle=m["ReceiptHandle"])
        report.record(
            FAULT,
            f"{name}: poison effects after two redrives",
            effects(feed, batch[:1]),
            inbox(sql, feed, batch[:1]),
        )
        assert first_round[name] == expected_rest
        assert receives[name] == topology.MAX_RECEIVE_COUNT and len(dead) == 1
        assert inbox(sql, feed, batch[:1]) == effects(feed, batch[:1])


def effects(feed: Any, events: list[dict[str, Any]]) -> int:
    return sum(
        1
        for e in events
        for s in consumer_of(feed).subscriptions
        if (s.event.source, s.event.event_type) == (e["source"], e["detail-type"])
    )


def inbox(sql: Any, feed: Any, events: list[dict[str, Any]]) -> int:
    schema = feed.subscription.service.schema
    ids = "{" + ",".join(e["id"] for e in events) + "}"
    return int(
        sql.run(
            f"SELECT count(*) FROM {schema}.inbox WHERE event_id = ANY(CAST(:i AS uuid[]))", i=ids
        )[0][0]
    )
