"""The database connection cut in the middle of requests (``pg_terminate_backend`` on the
service's sessions, again and again, while requests run on many threads), and the database
restarted under load: each request either succeeds or answers a clean 503 problem with
Retry-After; nothing is half-written; and the next request on the same execution
environment reconnects and succeeds."""

from __future__ import annotations

import threading
import time
from typing import Any

import pytest

from lms_platform.db import open_connection, params_from_url
from tests.chaos import registrations, report

pytestmark = [pytest.mark.integration, pytest.mark.chaos, pytest.mark.usefixtures("platform_env")]

CUTS = "pg_terminate_backend in the middle of requests"
RESTARTS = "the database restarted under load"
REQUESTS = report.size(600, 120)
RESTART_COUNT = report.size(5, 1)
UP_SECONDS = 2.0  # the load runs this long before each restart, and after each
DOWN_SECONDS = 1.0


def test_connections_cut_mid_transaction_give_success_or_a_clean_503_and_nothing_half_written(
    admin_url: str,
) -> None:
    users_before = registrations.user_count(admin_url)
    cuts = [0]

    def cutting(stop: threading.Event) -> None:
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

    # Given sessions of the User service cut while they work, when sign-ups run on several
    # threads (each an execution environment)
    replies, after = registrations.during(cutting, requests=REQUESTS)

    # Then each is a success or a clean 503, nothing is half-written, and the next request
    # on each thread (its kept connection cut or not) succeeds
    report.record(CUTS, "sessions terminated", "> 0", cuts[0], holds=cuts[0] > 0)
    registrations.check(CUTS, replies, after, admin_url, users_before=users_before)


def test_a_database_restarted_under_load_gives_success_or_a_clean_503_and_then_reconnects(
    database_server: tuple[str, Any],
) -> None:
    admin_url, server = database_server
    if server is None:
        pytest.skip("LMS_DATABASE_URL names a server these tests may not restart")
    from lms_local.postgres import restart_embedded

    # (what is not yet on disk written before the load: the restarts' own checkpoints
    # and recovery are then short, whatever the tests before this one left)
    checkpointer = open_connection(params_from_url(admin_url), socket_timeout=600)
    try:
        checkpointer.run("CHECKPOINT")
    finally:
        checkpointer.close()
    users_before = registrations.user_count(admin_url)
    postmasters, signed_up_while_up = [server.get_pid()], []

    def restarting(stop: threading.Event) -> None:
        for _ in range(RESTART_COUNT):
            time.sleep(UP_SECONDS)
            restart_embedded(server, DOWN_SECONDS)
            postmasters.append(server.get_pid())
            back = registrations.user_count(admin_url)
            time.sleep(UP_SECONDS)
            signed_up_while_up.append(registrations.user_count(admin_url) - back)

    # Given sign-ups on several threads, when the database stops (a fast shutdown: its
    # sessions ended mid-transaction), stays down a moment and starts again, more than once
    replies, after = registrations.during(restarting)

    # Then each is a success or a clean 503, nothing is half-written, and every
    # environment's next request reconnects and succeeds
    report.record(
        RESTARTS, "restarts (a new postmaster each)", RESTART_COUNT, len(set(postmasters)) - 1
    )
    report.record(
        RESTARTS,
        "restarts after which the load signed users up again",
        RESTART_COUNT,
        sum(n > 0 for n in signed_up_while_up),
    )
    registrations.check(RESTARTS, replies, after, admin_url, users_before=users_before)
    assert len(set(postmasters)) == RESTART_COUNT + 1
    assert all(n > 0 for n in signed_up_while_up), signed_up_while_up
