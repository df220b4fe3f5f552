"""The relay killed with SIGKILL at random moments while it publishes thousands of events
from every service's outbox: in the end every event reached the bus at least once, and
each consumer applied each event it subscribes to exactly once."""

from __future__ import annotations

import os
import random
import signal
import subprocess
import sys
import time
from typing import Any

import pytest

from tests.chaos import report
from tests.chaos.conftest import Bus, Tap, applied, consuming
from tests.chaos.outboxes import backlog, by_source, fill

pytestmark = [pytest.mark.integration, pytest.mark.chaos]

FAULT = "relay SIGKILLed at random points while publishing"
EVENTS = report.size(10_000, 300)
KILLS = report.size(40, 3)


def relay_process(*args: str) -> subprocess.Popen[bytes]:
    return subprocess.Popen(
        [sys.executable, "-m", "tests.chaos.relay_process", *args],
        env=dict(os.environ),
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
    )


def finished(process: subprocess.Popen[bytes], timeout: float | None = None) -> int:
    _, err = process.communicate(timeout=timeout)
    assert process.returncode in (0, -signal.SIGKILL), err.decode()[-3000:]
    if err:
        print(err.decode()[-2000:])
    return process.returncode


def kill_relays(sql: Any, rng: random.Random) -> tuple[int, int]:
    """Relay processes started and killed with SIGKILL at random moments of their work;
    how many were killed, and what they left unpublished."""
    kills = 0
    while backlog(sql) and kills < KILLS:
        process = relay_process()
        assert process.stdout is not None
        process.stdout.readline()  # started: imports done, about to sweep
        time.sleep(rng.uniform(0.2, 3.0))
        if process.poll() is None:
            process.send_signal(signal.SIGKILL)
            kills += 1
        finished(process)
    return kills, backlog(sql)


def test_a_relay_killed_again_and_again_loses_nothing_and_doubles_no_effect(
    bus: Bus, story: list[dict[str, Any]], admin_sql_module: Any, tap: Tap
) -> None:
    sql = admin_sql_module
    tap.collect(quiet_seconds=0.3)
    tap.seen.clear()
    # Given thousands of unpublished events in several outboxes
    made = fill(sql, story, EVENTS)
    sources = by_source(made)
    # When relay processes publish them, killed at random moments and started again,
    # while the consumers read their queues
    started = time.monotonic()
    with consuming(bus, tap):
        kills, left_by_kills = kill_relays(sql, random.Random(7))
        # (a last relay, left to finish, sends whatever the last kill interrupted)
        assert finished(relay_process("--until-empty"), timeout=1800) == 0
        relayed_in = time.monotonic() - started
    published = tap.collect()
    bus.settle(quiet_passes=2)
    print(f"relayed in {relayed_in:.1f} s, all consumed in {time.monotonic() - started:.1f} s")
    # Then every event reached the bus, and every consumer applied each one once
    ids = {i for i, _, _ in made}
    report.record(
        FAULT,
        f"events in {len(sources)} outboxes ({', '.join(sorted(sources))})",
        EVENTS,
        len(made),
        holds=abs(len(made) - EVENTS) <= len(story),
    )
    report.record(FAULT, "relay processes killed with SIGKILL", "> 0", kills, holds=kills > 0)
    report.record(
        FAULT, "rows the killed relays left for the last one", "any", left_by_kills, holds=True
    )
    report.record(FAULT, "outbox rows left unpublished at the end", 0, backlog(sql))
    report.record(FAULT, "events published at least once", len(made), len(ids & set(published)))
    twice = sum(n - 1 for i, n in published.items() if i in ids)
    report.record(
        FAULT,
        "events published again after a kill (allowed: at least once)",
        ">= 0",
        twice,
        holds=True,
    )
    effects = applied(sql, bus, made)
    for name, (expected, seen) in effects.items():
        report.record(
            FAULT, f"{name}: effects applied (inbox rows with their effect)", expected, seen
        )
    assert backlog(sql) == 0
    assert ids <= set(published)
    assert all(expected == seen for expected, seen in effects.values()), effects
