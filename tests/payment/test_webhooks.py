"""The gateway's webhooks: the library's signature check with a 5-minute tolerance, each
event applied once, unknown types acknowledged, and no event moves a PAID invoice back."""

from __future__ import annotations

import copy
import time
import uuid
from typing import Any

import pytest

from lms_local.gateway_simulator import sign
from tests.payment.conftest import (
    Gateway,
    create_invoice,
    create_plan,
    get_invoice,
    ok,
    pay,
    student,
    webhook,
)
from tests.support import row_counts

pytestmark = [pytest.mark.integration]

TABLES = ("lms_payment.payments", "lms_payment.invoices", "lms_payment.gateway_events")


def _waiting_payment(gateway: Gateway) -> tuple[dict[str, Any], dict[str, Any], str]:
    """An invoice whose payment waits for the customer's action: (caller, invoice, intent)."""
    me = student()
    invoice = create_invoice(me, create_plan()["id"])
    body = ok(pay(me, invoice["id"], "pm_card_authenticationRequired"), 202)
    gateway.deliver_new()
    return me, invoice, body["payment"]["gatewayId"]


def _status(me: dict[str, Any], invoice: dict[str, Any]) -> tuple[str, str]:
    detail = ok(get_invoice(me, invoice["id"]))
    return detail["status"], detail["payments"][0]["status"]


def test_a_bad_signature_is_refused_and_changes_nothing(gateway: Gateway, admin_sql: Any) -> None:
    me, invoice, intent = _waiting_payment(gateway)
    gateway.sim.authenticate(intent, succeed=True)
    event = gateway.events("payment_intent.succeeded")[-1]
    payload, signature = gateway.sim.signed(event)
    before = row_counts(admin_sql, *TABLES)

    forged = webhook(payload, signature.replace("v1=", "v1=0"))
    tampered = webhook(payload.replace('"succeeded"', '"succeeded" '), signature)
    unsigned = webhook(payload, None)
    other_secret = webhook(payload, sign(payload, "whsec_other"))

    for reply in (forged, tampered, unsigned, other_secret):
        assert reply.status == 400, reply.body
        assert reply.content_type == "application/problem+json"
    assert row_counts(admin_sql, *TABLES) == before
    assert _status(me, invoice) == ("OPEN", "REQUIRES_ACTION")


def test_an_event_signed_more_than_five_minutes_ago_is_refused(gateway: Gateway) -> None:
    me, invoice, intent = _waiting_payment(gateway)
    gateway.sim.authenticate(intent, succeed=True)
    event = gateway.events("payment_intent.succeeded")[-1]

    old = gateway.deliver(event, timestamp=int(time.time()) - 301)

    assert old.status == 400
    assert _status(me, invoice) == ("OPEN", "REQUIRES_ACTION")
    # The same event freshly signed (the gateway's retry) is applied
    assert ok(gateway.deliver(event))["outcome"] == "applied"
    assert _status(me, invoice) == ("PAID", "SUCCEEDED")


def test_an_event_delivered_twice_is_applied_once(
    gateway: Gateway, event_log: Any, admin_sql: Any
) -> None:
    me, invoice, intent = _waiting_payment(gateway)
    gateway.sim.authenticate(intent, succeed=True)
    event = gateway.events("payment_intent.succeeded")[-1]

    first = ok(gateway.deliver(event))
    second = ok(gateway.deliver(event))

    assert (first["outcome"], second["outcome"]) == ("applied", "duplicate")
    assert _status(me, invoice) == ("PAID", "SUCCEEDED")
    paid = admin_sql.run(
        "SELECT count(*) FROM lms_payment.outbox WHERE event_type = 'InvoicePaid'"
    )[0][0]
    assert paid == 1


def test_an_unknown_type_or_payment_is_acknowledged_and_ignored(
    gateway: Gateway, admin_sql: Any
) -> None:
    unknown_type = {
        "id": "evt_" + uuid.uuid4().hex,
        "type": "customer.created",
        "created": int(time.time()),
        "data": {"object": {"id": "cus_123", "object": "customer"}},
    }
    not_ours = {
        "id": "evt_" + uuid.uuid4().hex,
        "type": "payment_intent.succeeded",
        "created": int(time.time()),
        "data": {"object": {"id": "pi_elsewhere", "status": "succeeded", "amount": 100}},
    }

    assert ok(gateway.deliver(unknown_type))["outcome"] == "ignored"
    assert ok(gateway.deliver(not_ours))["outcome"] == "unknown_payment"
    assert row_counts(admin_sql, "lms_payment.payments")["lms_payment.payments"] == 0


def test_events_out_of_order_never_move_a_paid_invoice_back(gateway: Gateway) -> None:
    # Given a payment that succeeded, its success applied
    me, invoice, intent = _waiting_payment(gateway)
    gateway.sim.authenticate(intent, succeed=True)
    gateway.deliver_new()
    assert _status(me, invoice) == ("PAID", "SUCCEEDED")
    succeeded = gateway.events("payment_intent.succeeded")[-1]

    # When older news arrives late: a failure and a requires_action of the same intent
    failed = copy.deepcopy(succeeded)
    failed["id"] = "evt_" + uuid.uuid4().hex
    failed["type"] = "payment_intent.payment_failed"
    failed["data"]["object"].update(
        status="requires_payment_method",
        last_payment_error={"code": "card_declined", "decline_code": "generic_decline"},
    )
    action = copy.deepcopy(succeeded)
    action["id"] = "evt_" + uuid.uuid4().hex
    action["type"] = "payment_intent.requires_action"
    action["data"]["object"]["status"] = "requires_action"

    outcomes = [ok(gateway.deliver(e))["outcome"] for e in (failed, action)]

    # Then nothing changes
    assert outcomes == ["stale", "stale"]
    assert _status(me, invoice) == ("PAID", "SUCCEEDED")


def test_a_success_after_a_failure_of_the_same_intent_pays(gateway: Gateway) -> None:
    # A failure applied first, then the success the gateway reports later (the customer
    # retried the authentication): the money was taken, so the success wins.
    me, invoice, intent = _waiting_payment(gateway)
    gateway.sim.authenticate(intent, succeed=True)
    succeeded = gateway.events("payment_intent.succeeded")[-1]
    failed = copy.deepcopy(succeeded)
    failed["id"] = "evt_" + uuid.uuid4().hex
    failed["type"] = "payment_intent.payment_failed"
    failed["data"]["object"].update(
        status="requires_payment_method",
        last_payment_error={"code": "payment_intent_authentication_failure"},
    )

    ok(gateway.deliver(failed))
    assert _status(me, invoice) == ("OPEN", "FAILED")
    ok(gateway.deliver(succeeded))

    assert _status(me, invoice) == ("PAID", "SUCCEEDED")


def test_webhooks_and_the_synchronous_answer_agree_whatever_comes_first(
    gateway: Gateway,
) -> None:
    # The gateway's webhook for an immediate success arrives after the answer: no change
    me = student()
    invoice = create_invoice(me, create_plan()["id"])
    ok(pay(me, invoice["id"]), 201)

    replies = gateway.deliver_new()

    assert [r.body["outcome"] for r in replies] == ["stale"]
    assert _status(me, invoice) == ("PAID", "SUCCEEDED")
