"""Every consumer's process killed after its transactions committed and before the batch
was acknowledged: the batch comes back after the visibility timeout and changes nothing
the second time; each effect is there once."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
import uuid
from typing import Any

import pytest

from lms_platform.aws import client
from tests.chaos import report, state
from tests.chaos.conftest import Bus, consumer_of

pytestmark = [pytest.mark.integration, pytest.mark.chaos]

FAULT = "consumer killed after commit, before the batch is acknowledged"
VISIBILITY = 2


def copies(events: list[dict[str, Any]], count: int) -> list[dict[str, Any]]:
    """``count`` events like the story's, each a new event (its own id)."""
    out = []
    for n in range(count):
        event = json.loads(json.dumps(events[n % len(events)]))
        event["id"] = event["detail"]["eventId"] = str(uuid.uuid4())
        out.append(event)
    return out


def test_a_batch_applied_then_not_acknowledged_is_redelivered_and_changes_nothing(
    bus: Bus, story: list[dict[str, Any]], admin_sql_module: Any
) -> None:
    sql, sqs = admin_sql_module, client("sqs")
    for feed in bus.feeds:
        name, schema = feed.subscription.service.name, feed.subscription.service.schema
        keys = {(s.event.source, s.event.event_type) for s in consumer_of(feed).subscriptions}
        # Given a batch of events the consumer subscribes to, waiting in its queue
        batch = copies([e for e in story if (e["source"], e["detail-type"]) in keys], 10)
        bus.purge()
        sqs.send_message_batch(
            QueueUrl=feed.queue.url,
            Entries=[{"Id": str(i), "MessageBody": json.dumps(e)} for i, e in enumerate(batch)],
        )
        ids = "{" + ",".join(e["id"] for e in batch) + "}"

        def inbox(schema: str = schema, ids: str = ids) -> int:
            return int(
                sql.run(
                    f"SELECT count(*) FROM {schema}.inbox WHERE event_id = ANY(CAST(:i AS uuid[]))",
                    i=ids,
                )[0][0]
            )

        expected = sum(
            1
            for e in batch
            for s in consumer_of(feed).subscriptions
            if (s.event.source, s.event.event_type) == (e["source"], e["detail-type"])
        )
        # When the consumer's process applies it and is killed before acknowledging it
        process = subprocess.run(
            [sys.executable, "-m", "tests.chaos.consumer_process", name, str(VISIBILITY)],
            env=dict(os.environ),
            capture_output=True,
            timeout=120,
        )
        assert process.returncode == -signal.SIGKILL, process.stderr.decode()[-2000:]
        outcome = json.loads(process.stdout.decode().splitlines()[-1])
        after_kill, held = inbox(), bus.depth(feed.queue.url)
        before = state.snapshot(sql, feed.subscription.service)
        # Then SQS hands the batch out again after the visibility timeout, and it changes
        # nothing: the same effects, the same rows
        time.sleep(VISIBILITY + 0.5)
        redelivered = 0
        while messages := bus.receive(feed, wait=1):
            assert not bus.deliver(feed, messages)
            redelivered += len(messages)
        after = state.snapshot(sql, feed.subscription.service)
        report.record(
            FAULT, f"{name}: records applied by the killed process", len(batch), outcome["received"]
        )
        report.record(FAULT, f"{name}: effects committed before the kill", expected, after_kill)
        report.record(FAULT, f"{name}: records still in the queue after the kill", len(batch), held)
        report.record(FAULT, f"{name}: records redelivered", len(batch), redelivered)
        report.record(FAULT, f"{name}: effects after redelivery", expected, inbox())
        changed = state.differences(state.comparable(before, {}), state.comparable(after, {}))
        report.record(FAULT, f"{name}: tables changed by the redelivery", 0, len(changed))
        assert outcome["received"] == len(batch) and not outcome["result"]["batchItemFailures"]
        assert after_kill == expected == inbox()
        assert held == redelivered == len(batch)
        assert not changed, changed
