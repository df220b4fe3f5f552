"""Every consumer, every event type it subscribes to: each event delivered twice and the
stream shuffled ends in the state of the ordered, single delivery (every table of the
consumer's schema, inbox and outbox included), starting from empty tables both times.

The events are the story's (tests/chaos/story.py), read back as they went to the bus.
"""

from __future__ import annotations

import random
from typing import Any

import pytest

from tests.chaos import report, state
from tests.chaos.conftest import Bus, consumer_of
from tests.chaos.story import uncovered
from tests.enrollment.conftest import sqs_batch

pytestmark = [pytest.mark.integration, pytest.mark.chaos]

FAULT = "every consumer x every event type: delivered twice, shuffled"


def deliver_all(bus: Bus, name: str, events: list[dict[str, Any]]) -> int:
    """The events in SQS batches of ten to the consumer's handler; then what the consumer
    sent itself (tasks) from its own queue. Failed records go round again, as SQS would
    redeliver them; how many failed on the way."""
    import json

    feed = bus.feed(name)
    consumer = consumer_of(feed)
    failures = 0
    pending = list(events)
    for _ in range(10):
        again = []
        for start in range(0, len(pending), 10):
            chunk = pending[start : start + 10]
            messages = [
                {"MessageId": str(i), "ReceiptHandle": str(i), "Body": json.dumps(e)}
                for i, e in enumerate(chunk)
            ]
            result = consumer.handler(sqs_batch(messages, feed.queue.arn), None)
            failed = {int(f["itemIdentifier"]) for f in result.get("batchItemFailures", [])}
            again += [chunk[i] for i in sorted(failed)]
        failures += len(again)
        pending = again
        while messages := bus.receive(feed):
            assert not bus.deliver(feed, messages), "a task failed"
        if not pending:
            break
    assert not pending, f"{len(pending)} records never applied"
    return failures


def test_each_event_twice_and_shuffled_ends_as_once_in_order(
    bus: Bus, story: list[dict[str, Any]], admin_sql_module: Any
) -> None:
    # Given the story's events, and every consumer the registry declares
    missing = uncovered(bus, story)
    report.record(FAULT, "subscriptions the story leaves unexercised", 0, len(missing))
    assert not missing, f"the story makes no event for {missing}: add one to tests/chaos/story.py"
    sql, rng = admin_sql_module, random.Random(12)
    bad: dict[str, list[str]] = {}
    for feed in bus.feeds:
        service, name = feed.subscription.service, feed.subscription.service.name
        keys = {(s.event.source, s.event.event_type) for s in consumer_of(feed).subscriptions}
        events = [e for e in story if (e["source"], e["detail-type"]) in keys]
        doubled = events + events
        rng.shuffle(doubled)
        report.record(
            FAULT, f"{name}: events of {len(keys)} types, deliveries", 2 * len(events), len(doubled)
        )
        state.save(sql, service)
        # Two starting points: empty tables, and the story's own end (what the routes made
        # included) with the inbox forgotten, as when events are replayed onto live data.
        for base in ("empty tables", "the story's state"):

            def start(base: str = base, service: Any = service) -> None:
                bus.purge()
                if base == "empty tables":
                    state.empty(sql, service)
                else:
                    state.restore(sql, service)
                    sql.run(f"DELETE FROM {service.schema}.inbox")

            runs = []
            # When they are delivered once in order (twice, to learn which columns are
            # volatile), then each twice in a shuffled stream
            for stream in (events, events, doubled):
                start()
                deliver_all(bus, name, stream)
                runs.append(state.snapshot(sql, service))
            volatile = state.volatile_columns(runs[0], runs[1])
            ordered = state.comparable(runs[0], volatile)
            shuffled = state.comparable(runs[2], volatile)
            # Then the consumer's tables hold the same rows
            found = state.differences(ordered, shuffled)
            rows = sum(len(r) for r in ordered.values())
            report.record(
                FAULT,
                f"{name}: from {base}, rows equal to the ordered run",
                rows,
                rows if not found else f"{len(found)} tables differ",
            )
            if found:
                bad[f"{name} from {base}"] = found
        state.restore(sql, service)
        state.drop_saved(sql, service)
        bus.purge()
    assert not bad, bad
