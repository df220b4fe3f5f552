"""Paying an invoice through the real handler, the Stripe library and the gateway
simulator over HTTP: outcomes, events, and Stripe's idempotency semantics."""

from __future__ import annotations

import time
import uuid
from typing import Any

import pytest

from functions.payment import gateway as gateway_module
from tests.payment.conftest import (
    Gateway,
    create_invoice,
    create_plan,
    get_invoice,
    ok,
    pay,
    student,
)
from tests.support import scalar

pytestmark = [pytest.mark.integration]


def observed(event_log: Any, **counts: int) -> None:
    deadline = time.monotonic() + 5
    while True:
        event_log.drain(wait_seconds=0.1)
        if all(len(event_log.of_type(k)) >= n for k, n in counts.items()):
            return
        assert time.monotonic() < deadline, {k: len(event_log.of_type(k)) for k in counts}


def test_a_card_that_succeeds_pays_the_invoice_once_and_says_so(
    gateway: Gateway, event_log: Any, admin_sql: Any
) -> None:
    # Given an invoice of a 19.90 USD monthly plan
    me = student()
    plan = create_plan("19.90", "USD", "month")
    invoice = create_invoice(me, plan["id"])

    # When its user pays it with a card that succeeds
    reply = pay(me, invoice["id"], "pm_card_visa")

    # Then 201: the payment SUCCEEDED, the invoice PAID with its paid_at
    body = ok(reply, 201)
    assert "idempotent-replayed" not in {k.lower() for k in reply.headers}
    assert body["payment"]["status"] == "SUCCEEDED"
    assert body["payment"]["amount"] == "19.90" and body["payment"]["currency"] == "USD"
    assert body["invoice"]["status"] == "PAID" and body["invoice"]["paidAt"] is not None
    # And the gateway charged 1990 cents once, for the PaymentIntent the payment names
    intent_id = body["payment"]["gatewayId"]
    charges = gateway.charges(intent_id)
    assert [(c["amount"], c["currency"]) for c in charges] == [(1990, "usd")]
    # And InvoicePaid carries what a subscription needs: user, plan, interval, paid_at
    observed(event_log, InvoiceCreated=1, InvoicePaid=1)
    paid = event_log.of_type("InvoicePaid")[0]["detail"]["data"]
    assert paid["invoiceId"] == invoice["id"] and paid["userId"] == me["sub"]
    assert paid["planId"] == plan["id"] and paid["planInterval"] == "month"
    assert paid["paidAt"] and paid["amount"] == "19.90" and paid["currency"] == "USD"
    assert paid["paymentId"] == body["payment"]["id"]
    # And the stored amount is numeric, never a float
    kind = scalar(
        admin_sql,
        "SELECT pg_typeof(amount)::text FROM lms_payment.invoices WHERE id = CAST(:id AS uuid)",
        id=invoice["id"],
    )
    assert kind == "numeric"


def test_a_zero_decimal_currency_is_charged_in_whole_units(gateway: Gateway) -> None:
    me = student()
    invoice = create_invoice(me, create_plan("1500", "JPY", "year")["id"])
    assert invoice["amount"] == "1500"

    body = ok(pay(me, invoice["id"]), 201)

    assert [c["amount"] for c in gateway.charges(body["payment"]["gatewayId"])] == [1500]
    assert body["payment"]["amount"] == "1500"


def test_a_declined_card_is_402_with_its_decline_code_then_another_card_pays(
    gateway: Gateway, event_log: Any
) -> None:
    me = student()
    invoice = create_invoice(me, create_plan()["id"])

    declined = pay(me, invoice["id"], "pm_card_chargeDeclinedInsufficientFunds")

    assert declined.status == 402
    assert declined.content_type == "application/problem+json"
    assert declined.body["declineCode"] == "insufficient_funds"
    assert declined.body["failureCode"] == "card_declined"
    assert ok(get_invoice(me, invoice["id"]))["status"] == "OPEN"
    observed(event_log, PaymentFailed=1)
    failed = event_log.of_type("PaymentFailed")[0]["detail"]["data"]
    assert failed["declineCode"] == "insufficient_funds"
    assert failed["invoiceId"] == invoice["id"]

    # When another card (with another key) pays
    paid = ok(pay(me, invoice["id"], "pm_card_visa"), 201)

    # Then the invoice is paid; both attempts are listed, newest first
    assert paid["invoice"]["status"] == "PAID"
    detail = ok(get_invoice(me, invoice["id"]))
    assert [p["status"] for p in detail["payments"]] == ["SUCCEEDED", "FAILED"]
    assert detail["payments"][1]["declineCode"] == "insufficient_funds"
    total = sum(len(gateway.charges(p["gatewayId"])) for p in detail["payments"])
    assert total == 1


def test_an_action_needed_is_202_and_the_webhook_settles_it(
    gateway: Gateway, event_log: Any
) -> None:
    me = student()
    invoice = create_invoice(me, create_plan()["id"])

    reply = pay(me, invoice["id"], "pm_card_authenticationRequired")

    body = ok(reply, 202)
    assert body["payment"]["status"] == "REQUIRES_ACTION"
    assert body["payment"]["nextAction"]["type"] == "redirect_to_url"
    assert body["clientSecret"].startswith(body["payment"]["gatewayId"])
    assert body["invoice"]["status"] == "OPEN"
    # A second payment while this one waits for the customer is refused
    assert pay(me, invoice["id"], "pm_card_visa").status == 409

    # When the customer completes the action and the gateway's webhooks arrive
    gateway.sim.authenticate(body["payment"]["gatewayId"], succeed=True)
    replies = gateway.deliver_new()

    # Then the invoice is PAID, once
    assert all(r.status == 200 for r in replies)
    detail = ok(get_invoice(me, invoice["id"]))
    assert detail["status"] == "PAID" and detail["payments"][0]["status"] == "SUCCEEDED"
    observed(event_log, InvoicePaid=1)
    assert len(gateway.charges(body["payment"]["gatewayId"])) == 1


def test_a_failed_action_leaves_the_invoice_open(gateway: Gateway) -> None:
    me = student()
    invoice = create_invoice(me, create_plan()["id"])
    body = ok(pay(me, invoice["id"], "pm_card_authenticationRequired"), 202)

    gateway.sim.authenticate(body["payment"]["gatewayId"], succeed=False)
    gateway.deliver_new()

    detail = ok(get_invoice(me, invoice["id"]))
    assert detail["status"] == "OPEN"
    assert detail["payments"][0]["status"] == "FAILED"
    assert detail["payments"][0]["failureCode"] == "payment_intent_authentication_failure"
    assert ok(pay(me, invoice["id"]), 201)["invoice"]["status"] == "PAID"


# --- idempotency ----------------------------------------------------------------------------


def test_the_same_key_and_request_replays_the_first_answer(gateway: Gateway) -> None:
    me = student()
    invoice = create_invoice(me, create_plan()["id"])
    key = str(uuid.uuid4())
    first = pay(me, invoice["id"], key=key)

    again = pay(me, invoice["id"], key=key)

    assert again.status == first.status == 201
    assert again.body == first.body
    assert again.headers.get("Idempotent-Replayed") == "true"
    assert len(gateway.charges(first.body["payment"]["gatewayId"])) == 1


def test_a_failure_is_replayed_too(gateway: Gateway) -> None:
    me = student()
    invoice = create_invoice(me, create_plan()["id"])
    key = str(uuid.uuid4())
    first = pay(me, invoice["id"], "pm_card_chargeDeclined", key=key)

    again = pay(me, invoice["id"], "pm_card_chargeDeclined", key=key)

    assert first.status == again.status == 402
    assert again.body == first.body and again.body["declineCode"] == "generic_decline"
    assert again.headers.get("Idempotent-Replayed") == "true"
    assert len(gateway.events("payment_intent.payment_failed")) == 1


def test_the_same_key_with_another_request_is_422_and_changes_nothing(
    gateway: Gateway, admin_sql: Any
) -> None:
    me = student()
    plan = create_plan()
    invoice, other = create_invoice(me, plan["id"]), create_invoice(me, plan["id"])
    key = str(uuid.uuid4())
    ok(pay(me, invoice["id"], "pm_card_chargeDeclined", key=key), 402)

    other_body = pay(me, invoice["id"], "pm_card_visa", key=key)
    other_invoice = pay(me, other["id"], "pm_card_chargeDeclined", key=key)

    assert other_body.status == other_invoice.status == 422
    assert other_body.body["title"] == "Idempotency key reused"
    assert ok(get_invoice(me, invoice["id"]))["status"] == "OPEN"
    assert ok(get_invoice(me, other["id"]))["payments"] == []
    assert scalar(admin_sql, "SELECT count(*) FROM lms_payment.payments") == 1


def test_another_user_may_use_the_same_key(gateway: Gateway) -> None:
    plan = create_plan()
    ada, bob = student(), student()
    key = "shared-key-1"
    assert ok(pay(ada, create_invoice(ada, plan["id"])["id"], key=key), 201)
    assert ok(pay(bob, create_invoice(bob, plan["id"])["id"], key=key), 201)


def test_the_key_header_is_required_and_checked(gateway: Gateway) -> None:
    from tests.support import call

    me = student()
    invoice = create_invoice(me, create_plan()["id"])

    def attempt(headers: dict[str, str]) -> Any:
        return call(
            "POST",
            "/invoices/{invoiceId}/payments",
            caller=me,
            path_params={"invoiceId": invoice["id"]},
            body={"paymentMethod": "pm_card_visa"},
            headers=headers,
        )

    missing = attempt({})
    too_long = attempt({"Idempotency-Key": "k" * 256})
    spaced = attempt({"Idempotency-Key": "has space"})

    for reply in (missing, too_long, spaced):
        assert reply.status == 422, reply.body
        assert reply.body["errors"][0]["location"] == ["header", "Idempotency-Key"]
    assert ok(get_invoice(me, invoice["id"]))["payments"] == []


def test_a_paid_invoice_is_never_paid_again_whatever_the_key(gateway: Gateway) -> None:
    me = student()
    invoice = create_invoice(me, create_plan()["id"])
    ok(pay(me, invoice["id"]), 201)

    again = pay(me, invoice["id"], key=str(uuid.uuid4()))

    assert again.status == 409 and again.body["title"] == "Invoice already paid"
    assert len(gateway.events("payment_intent.succeeded")) == 1


def test_a_void_invoice_or_someone_elses_cannot_be_paid(gateway: Gateway) -> None:
    from tests.support import call

    me, other = student(), student()
    plan = create_plan()
    voided = create_invoice(me, plan["id"])
    ok(
        call(
            "POST", "/invoices/{invoiceId}/void", caller=me, path_params={"invoiceId": voided["id"]}
        )
    )
    theirs = create_invoice(other, plan["id"])

    assert pay(me, voided["id"]).status == 409
    assert pay(me, theirs["id"]).status == 404
    assert pay(me, str(uuid.uuid4())).status == 404
    assert gateway.events() == []


def test_a_gateway_that_does_not_answer_is_503_and_the_same_key_later_charges_once(
    gateway: Gateway, monkeypatch: pytest.MonkeyPatch
) -> None:
    me = student()
    invoice = create_invoice(me, create_plan()["id"])
    key = str(uuid.uuid4())
    real = gateway_module.gateway()
    confirm = real.confirm_intent

    def confirmed_but_answer_lost(*args: Any, **kwargs: Any) -> Any:
        confirm(*args, **kwargs)  # the gateway charges...
        raise gateway_module.GatewayUnavailable("read timed out")  # ...the answer is lost

    monkeypatch.setattr(real, "confirm_intent", confirmed_but_answer_lost)
    lost = pay(me, invoice["id"], key=key)
    monkeypatch.undo()

    assert lost.status == 503 and lost.headers.get("Retry-After") == "2"
    assert ok(get_invoice(me, invoice["id"]))["payments"][0]["status"] == "PROCESSING"

    retried = pay(me, invoice["id"], key=key)

    body = ok(retried, 201)
    assert body["invoice"]["status"] == "PAID"
    assert "Idempotent-Replayed" not in retried.headers  # the first had no final answer
    assert len(gateway.charges(body["payment"]["gatewayId"])) == 1
    assert len(gateway.events("payment_intent.succeeded")) == 1
