"""Sign-ups on many threads (each an execution environment, with its kept connection)
while a fault hits the database, and the counts that say what they left behind: each
answer a success or a clean 503 problem with Retry-After, no user half-written, and the
next request on every environment a success."""

from __future__ import annotations

import threading
import time
import uuid
from collections import Counter
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor

from lms_platform.db import database, open_connection, params_from_url
from tests.chaos import report
from tests.support import Reply, call

THREADS = 8
# What a client waits before it tries again after a 503 (it is told >= 1 s; the test
# waits less so that the load keeps up while the fault lasts).
BACK_OFF_SECONDS = 0.05


def register() -> Reply:
    # Each from an address of its own: sign-ups are limited per address (429), and the
    # limit is not what these tests are about.
    address = ".".join(str(b) for b in uuid.uuid4().bytes[:3])
    return call(
        "POST",
        "/auth/register",
        body={
            "email": f"chaos-{uuid.uuid4().hex[:10]}@example.com",
            "password": "correct horse battery",
            "displayName": "Chaos",
        },
        source_ip=f"10.{address}",
    )


def during(
    fault: Callable[[threading.Event], None], *, requests: int | None = None
) -> tuple[list[Reply], list[Reply]]:
    """Sign-ups while ``fault`` runs in a thread of its own: until ``requests`` were
    answered (then the fault's event is set), or, without a number, until the fault is
    done. The answers, and those of one more sign-up per environment afterwards."""
    stop, lock = threading.Event(), threading.Lock()
    replies: list[Reply] = []

    def faulting() -> None:
        try:
            fault(stop)
        finally:
            if requests is None:
                stop.set()

    def signing_up(_: int) -> None:
        while not stop.is_set():
            reply = register()
            with lock:
                replies.append(reply)
                if requests is not None and len(replies) >= requests:
                    stop.set()
            if reply.status == 503:
                time.sleep(BACK_OFF_SECONDS)

    thread = threading.Thread(target=faulting)
    with ThreadPoolExecutor(THREADS) as pool:
        thread.start()
        try:
            list(pool.map(signing_up, range(THREADS)))
        finally:
            stop.set()
            thread.join()
        after = list(pool.map(lambda _: register(), range(THREADS)))
        # (each thread lets go of its connection: the pool ends with the test)
        barrier = threading.Barrier(THREADS)

        def letting_go(_: int) -> None:
            barrier.wait()
            database("lms_user").discard_connection()

        list(pool.map(letting_go, range(THREADS)))
    return replies, after


def user_count(admin_url: str) -> int:
    """Users in the User schema, on a connection of its own (one kept across a restart
    would be gone)."""
    connection = open_connection(params_from_url(admin_url))
    try:
        return int(connection.run("SELECT count(*) FROM lms_user.users")[0][0])
    finally:
        connection.close()


def half_written(admin_url: str) -> int:
    """Users without their profile or their UserRegistered in the outbox."""
    connection = open_connection(params_from_url(admin_url))
    try:
        return int(
            connection.run(
                "SELECT count(*) FROM lms_user.users u WHERE NOT EXISTS (SELECT 1"
                " FROM lms_user.profiles p WHERE p.user_id = u.id) OR NOT EXISTS (SELECT 1"
                " FROM lms_user.outbox o WHERE o.event_type = 'UserRegistered' AND"
                " o.detail->>'aggregateId' = u.id::text)"
            )[0][0]
        )
    finally:
        connection.close()


def check(
    fault: str, replies: list[Reply], after: list[Reply], admin_url: str, *, users_before: int
) -> None:
    """Record the counts of a faulted run of sign-ups (the users made since there were
    ``users_before``), and hold them."""
    made, halves = user_count(admin_url) - users_before, half_written(admin_url)
    statuses = Counter(r.status for r in replies)
    clean = [
        r
        for r in replies
        if r.status == 503
        and r.content_type == "application/problem+json"
        and int(r.headers.get("Retry-After", "0")) >= 1
    ]
    report.record(
        fault, "requests answered 201 or 503", len(replies), statuses[201] + statuses[503]
    )
    report.record(
        fault, "answers (201 / 503)", "any split", f"{statuses[201]} / {statuses[503]}", holds=True
    )
    report.record(fault, "503s that are problems with Retry-After", statuses[503], len(clean))
    # (a commit whose answer was cut is a 503 with the user wholly written: at least)
    report.record(
        fault,
        "users written (201s + requests after the fault, at least)",
        statuses[201] + THREADS,
        made,
        holds=made >= statuses[201] + THREADS,
    )
    report.record(fault, "users without their profile or their UserRegistered", 0, halves)
    report.record(
        fault,
        "next request on each environment after the fault",
        f"{THREADS}x201",
        f"{sum(r.status == 201 for r in after)}x201",
    )
    assert set(statuses) <= {201, 503}, statuses
    assert len(clean) == statuses[503] and halves == 0
    assert all(r.status == 201 for r in after), [r.body for r in after if r.status != 201]
    assert made >= statuses[201] + THREADS
