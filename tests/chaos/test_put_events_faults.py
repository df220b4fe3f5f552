"""PutEvents failing for a random tenth of its entries, whole calls timing out (before the
bus took the entries, and after), and outages: in the end every event is on the bus, and
the publisher never sends again an event whose success it was told."""

from __future__ import annotations

import random
import threading
import time
from typing import Any

import pytest

from functions.registry import SERVICES
from lms_local.relay import sweep
from lms_platform import eventbridge
from lms_platform.settings import get_settings
from tests.chaos import report
from tests.chaos.conftest import Bus, Tap, consuming
from tests.chaos.flaky_bus import FlakyBus
from tests.chaos.outboxes import backlog, fill

pytestmark = [pytest.mark.integration, pytest.mark.chaos]

FAULT = "PutEvents: 10% of entries refused, whole calls timing out"
EVENTS = report.size(1_000, 200)


def test_flaky_put_events_publish_everything_and_no_success_twice(
    bus: Bus, story: list[dict[str, Any]], admin_sql_module: Any, tap: Tap, monkeypatch: Any
) -> None:
    sql, settings = admin_sql_module, get_settings()
    tap.collect(quiet_seconds=0.3)
    tap.seen.clear()
    # Given unpublished events in every outbox, and PutEvents going through a flaky endpoint
    # whose held calls outlast the client's timeout
    made = fill(sql, story, EVENTS)
    monkeypatch.setattr(eventbridge, "_TIMEOUT_SECONDS", 3.0)
    with FlakyBus(str(settings.aws_endpoint_url), hold_seconds=3.5) as flaky:
        client = eventbridge.EventBridgeClient(flaky.url, settings.aws_region)
        calling = client.put_events

        def telling(entries: list[dict[str, Any]], **options: Any) -> dict[str, Any]:
            response = calling(entries, **options)
            flaky.told(entries, response)
            return response

        monkeypatch.setattr(client, "put_events", telling)
        monkeypatch.setitem(
            eventbridge._clients, (str(settings.aws_endpoint_url), settings.aws_region), client
        )
        # When relays sweep (two at once, as overlapping schedules would), with outages
        # of the whole endpoint now and then, until nothing is left
        rng, sweeps, failed_sweeps = random.Random(5), 0, 0
        deadline = time.monotonic() + 600
        one_at_a_time = threading.Lock()  # the test's own connection is not shared

        def waiting() -> int:
            with one_at_a_time:
                return backlog(sql)

        def relay() -> None:
            nonlocal sweeps, failed_sweeps
            while waiting() and time.monotonic() < deadline:
                try:
                    sweep(SERVICES, grace_seconds=0)
                except Exception:
                    failed_sweeps += 1
                sweeps += 1

        def outages() -> None:
            # the endpoint away now and then: every call times out, retries included
            for _ in range(3):
                time.sleep(rng.uniform(0.2, 1.0))
                flaky.outage(rng.uniform(1.0, 3.5))

        threads = [threading.Thread(target=relay) for _ in range(2)]
        threads.append(threading.Thread(target=outages))
        with consuming(bus, tap):
            for t in threads:
                t.start()
            for t in threads:
                t.join()
    published = tap.collect()
    bus.settle(quiet_passes=2)
    # Then every event reached the bus, and none was sent again after a success
    ids = {i for i, _, _ in made}
    counts = flaky.counts
    report.record(
        FAULT,
        "events in the outboxes",
        EVENTS,
        len(made),
        holds=abs(len(made) - EVENTS) <= len(story),
    )
    report.record(FAULT, "PutEvents calls", "> 0", counts["calls"], holds=counts["calls"] > 0)
    for what in (
        "entries refused",
        "calls timed out before reaching the bus",
        "calls timed out after reaching the bus",
        "outages",
    ):
        report.record(FAULT, f"injected: {what}", "> 0", counts[what], holds=counts[what] > 0)
    report.record(
        FAULT, "relay sweeps (that failed)", "any", f"{sweeps} ({failed_sweeps})", holds=True
    )
    report.record(FAULT, "outbox rows left unpublished", 0, backlog(sql))
    report.record(FAULT, "events on the bus at least once", len(made), len(ids & set(published)))
    answered = sum(1 for i in ids if flaky.succeeded[i])
    report.record(FAULT, "events answered as a success", len(made), answered)
    twice = sum(1 for i in ids if flaky.succeeded[i] > 1)
    report.record(FAULT, "events answered as a success more than once", 0, twice)
    again = sum(flaky.sent_after_success[i] for i in ids)
    report.record(FAULT, "events sent again after their success was answered", 0, again)
    assert backlog(sql) == 0
    assert ids <= set(published)
    assert answered == len(made) and twice == 0 and again == 0
