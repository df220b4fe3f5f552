"""The database connection cut in the middle of requests (``pg_terminate_backend`` on the
service's sessions, again and again, while requests run on many threads): each request
either succeeds or answers a clean 503 problem with Retry-After; nothing is half-written;
and the next request on the same execution environment reconnects and succeeds."""

from __future__ import annotations

import threading
import time
import uuid
from collections import Counter
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import pytest

from lms_platform.db import database, open_connection, params_from_url
from tests.chaos import report
from tests.chaos.conftest import Bus
from tests.support import Reply, call, scalar

pytestmark = [pytest.mark.integration, pytest.mark.chaos]

FAULT = "pg_terminate_backend in the middle of requests"
REQUESTS = report.size(600, 120)
THREADS = 8


def register() -> Reply:
    # Each from an address of its own: sign-ups are limited per address (429), and the
    # limit is not what this test is about.
    address = ".".join(str(b) for b in uuid.uuid4().bytes[:3])
    return call(
        "POST",
        "/auth/register",
        body={
            "email": f"cut-{uuid.uuid4().hex[:10]}@example.com",
            "password": "correct horse battery",
            "displayName": "Cut",
        },
        source_ip=f"10.{address}",
    )


def test_connections_cut_mid_transaction_give_success_or_a_clean_503_and_nothing_half_written(
    bus: Bus, story: list[dict[str, Any]], admin_sql_module: Any, admin_url: str
) -> None:
    sql = admin_sql_module
    users_before = int(scalar(sql, "SELECT count(*) FROM lms_user.users"))
    stop, cuts = threading.Event(), [0]

    def cutter() -> None:
        killer = open_connection(params_from_url(admin_url))
        try:
            while not stop.is_set():
                rows = killer.run(
                    "SELECT count(*) FILTER (WHERE pg_terminate_backend(pid)) FROM"
                    " pg_stat_activity WHERE usename = 'lms_user' AND state <> 'idle'"
                )
                cuts[0] += int(rows[0][0])
                time.sleep(0.03)
        finally:
            killer.close()

    # Given sessions of the User service cut while they work
    thread = threading.Thread(target=cutter)
    thread.start()
    # When registrations run on several threads (each an execution environment)
    with ThreadPoolExecutor(THREADS) as pool:
        try:
            replies = list(pool.map(lambda _: register(), range(REQUESTS)))
        finally:
            stop.set()
            thread.join()
        # Then each is a success or a clean 503; the next request on each thread (its kept
        # connection cut or not) succeeds
        after = list(pool.map(lambda _: register(), range(THREADS)))
        # (each thread lets go of its connection: the pool ends with the test)
        barrier = threading.Barrier(THREADS)
        list(
            pool.map(
                lambda _: (barrier.wait(), database("lms_user").discard_connection()),
                range(THREADS),
            )
        )
    statuses = Counter(r.status for r in replies)
    clean = [
        r
        for r in replies
        if r.status == 503
        and r.content_type == "application/problem+json"
        and int(r.headers.get("Retry-After", "0")) >= 1
    ]
    made = int(scalar(sql, "SELECT count(*) FROM lms_user.users")) - users_before
    halves = int(
        scalar(
            sql,
            "SELECT count(*) FROM lms_user.users u WHERE NOT EXISTS (SELECT 1"
            " FROM lms_user.profiles p WHERE p.user_id = u.id) OR NOT EXISTS (SELECT 1"
            " FROM lms_user.outbox o WHERE o.event_type = 'UserRegistered' AND"
            " o.detail->>'aggregateId' = u.id::text)",
        )
    )
    report.record(FAULT, "sessions terminated", "> 0", cuts[0], holds=cuts[0] > 0)
    report.record(FAULT, "requests answered 201 or 503", REQUESTS, statuses[201] + statuses[503])
    report.record(
        FAULT, "answers (201 / 503)", "any split", f"{statuses[201]} / {statuses[503]}", holds=True
    )
    report.record(FAULT, "503s that are problems with Retry-After", statuses[503], len(clean))
    # (a commit whose answer was cut is a 503 with the user wholly written: at least)
    report.record(
        FAULT,
        "users written (201s + requests after the cuts, at least)",
        statuses[201] + THREADS,
        made,
        holds=made >= statuses[201] + THREADS,
    )
    report.record(FAULT, "users without their profile or their UserRegistered", 0, halves)
    report.record(
        FAULT,
        "next request on each environment after the cuts",
        f"{THREADS}x201",
        f"{sum(r.status == 201 for r in after)}x201",
    )
    assert set(statuses) <= {201, 503}, statuses
    assert len(clean) == statuses[503] and halves == 0
    assert all(r.status == 201 for r in after)
    assert made >= statuses[201] + THREADS
