"""Fifty payments of one invoice at once, through the real handler on fifty threads (each
its own database connection, as fifty Lambda environments): one charge, one PAID."""

from __future__ import annotations

import threading
import uuid
from collections import Counter
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import pytest

from lms_platform.db import database
from tests.payment.conftest import (
    Gateway,
    create_invoice,
    create_plan,
    get_invoice,
    ok,
    pay,
    student,
)
from tests.support import Reply, scalar

pytestmark = [pytest.mark.integration]

N = 50


def _at_once(attempt: Any) -> list[Reply]:
    barrier = threading.Barrier(N)

    def one(i: int) -> Reply:
        barrier.wait()
        try:
            return attempt(i)  # type: ignore[no-any-return]
        finally:
            database("lms_payment").discard_connection()

    with ThreadPoolExecutor(max_workers=N) as pool:
        return list(pool.map(one, range(N)))


def test_fifty_requests_with_one_key_charge_once_and_replay_or_refuse_the_rest(
    gateway: Gateway, admin_sql: Any
) -> None:
    # Given an open invoice
    me = student()
    invoice = create_invoice(me, create_plan()["id"])
    key = str(uuid.uuid4())

    # When fifty requests with the same key and body arrive together
    replies = _at_once(lambda _: pay(me, invoice["id"], key=key))

    # Then one is the first answer (201), every other a replay of it or "in progress" (409)
    statuses = Counter(r.status for r in replies)
    assert set(statuses) <= {201, 409}, statuses
    first = [r for r in replies if r.status == 201 and "Idempotent-Replayed" not in r.headers]
    replayed = [r for r in replies if r.headers.get("Idempotent-Replayed") == "true"]
    in_flight = [r for r in replies if r.status == 409]
    assert len(first) == 1
    assert len(replayed) + len(in_flight) == N - 1
    assert all(r.body == first[0].body for r in replayed)
    assert all(r.body["title"] == "Idempotency key in use" for r in in_flight)
    # And one charge, one payment, one PAID
    intent_id = first[0].body["payment"]["gatewayId"]
    assert len(gateway.charges(intent_id)) == 1
    assert len(gateway.events("payment_intent.succeeded")) == 1
    assert scalar(admin_sql, "SELECT count(*) FROM lms_payment.payments") == 1
    assert ok(get_invoice(me, invoice["id"]))["status"] == "PAID"


def test_fifty_requests_with_fifty_keys_charge_once_and_refuse_the_rest(
    gateway: Gateway, admin_sql: Any
) -> None:
    me = student()
    invoice = create_invoice(me, create_plan()["id"])
    charges_before = len(gateway.sim.state.charges)

    replies = _at_once(lambda _: pay(me, invoice["id"], key=str(uuid.uuid4())))

    statuses = Counter(r.status for r in replies)
    assert statuses == {201: 1, 409: N - 1}, statuses
    assert {r.body["title"] for r in replies if r.status == 409} <= {
        "Payment in progress",
        "Invoice already paid",
    }
    assert len(gateway.events("payment_intent.succeeded")) == 1
    assert len(gateway.sim.state.charges) - charges_before == 1
    assert scalar(admin_sql, "SELECT count(*) FROM lms_payment.payments") == 1
    assert ok(get_invoice(me, invoice["id"]))["status"] == "PAID"
