"""The reconciliation job: a payment whose function died after calling the gateway is
settled by asking the gateway, and nothing is charged twice."""

from __future__ import annotations

import uuid
from typing import Any

import pytest

from functions.payment import gateway as gateway_module
from functions.payment.jobs import reconcile_payments
from tests.payment.conftest import (
    Gateway,
    create_invoice,
    create_plan,
    get_invoice,
    ok,
    pay,
    student,
)

pytestmark = [pytest.mark.integration]


def _age(admin_sql: Any, invoice_id: str, seconds: int) -> None:
    """As if the payment had been left alone for ``seconds``."""
    admin_sql.run(
        "UPDATE lms_payment.payments SET updated_at = now() - make_interval(secs => :s) "
        "WHERE invoice_id = CAST(:id AS uuid)",
        s=seconds,
        id=invoice_id,
    )


def _lose_answers_of(monkeypatch: pytest.MonkeyPatch, method: str, *, call: bool) -> None:
    """The gateway's answer to ``method`` is lost (after it acted, when ``call``)."""
    real = gateway_module.gateway()
    original = getattr(real, method)

    def lost(*args: Any, **kwargs: Any) -> Any:
        if call:
            original(*args, **kwargs)
        raise gateway_module.GatewayUnavailable("no answer")

    monkeypatch.setattr(real, method, lost)


def test_a_payment_charged_but_never_answered_is_settled_paid(
    gateway: Gateway, admin_sql: Any, monkeypatch: pytest.MonkeyPatch, event_log: Any
) -> None:
    # Given a payment the gateway charged, whose answer never came back
    me = student()
    invoice = create_invoice(me, create_plan()["id"])
    key = str(uuid.uuid4())
    _lose_answers_of(monkeypatch, "confirm_intent", call=True)
    assert pay(me, invoice["id"], key=key).status == 503
    monkeypatch.undo()
    stuck = ok(get_invoice(me, invoice["id"]))["payments"][0]
    assert stuck["status"] == "PROCESSING" and stuck["gatewayId"]

    # When the job runs before the payment is stale, it leaves it to a retry
    assert reconcile_payments.handler({}, None).get("succeeded", 0) == 0
    # And after, it asks the gateway and settles it
    _age(admin_sql, invoice["id"], 600)
    counts = reconcile_payments.handler({}, None)

    assert counts["succeeded"] == 1
    detail = ok(get_invoice(me, invoice["id"]))
    assert detail["status"] == "PAID" and detail["payments"][0]["status"] == "SUCCEEDED"
    assert len(gateway.charges(stuck["gatewayId"])) == 1
    # And the client's retry with its key learns the outcome, without a second charge
    retried = ok(pay(me, invoice["id"], key=key), 201)
    assert retried["payment"]["id"] == stuck["id"]
    assert len(gateway.charges(stuck["gatewayId"])) == 1
    # And a second run finds nothing to do
    assert reconcile_payments.handler({}, None).get("succeeded", 0) == 0


def test_a_payment_whose_intent_was_never_confirmed_is_cancelled_and_failed(
    gateway: Gateway, admin_sql: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    me = student()
    invoice = create_invoice(me, create_plan()["id"])
    _lose_answers_of(monkeypatch, "confirm_intent", call=False)
    assert pay(me, invoice["id"]).status == 503
    monkeypatch.undo()
    _age(admin_sql, invoice["id"], 600)

    counts = reconcile_payments.handler({}, None)

    assert counts["failed"] == 1
    detail = ok(get_invoice(me, invoice["id"]))
    assert detail["status"] == "OPEN"
    assert detail["payments"][0]["failureCode"] == "abandoned"
    intent = gateway.sim.state.intents[detail["payments"][0]["gatewayId"]]
    assert intent["status"] == "canceled"
    # The invoice can be paid again
    assert ok(pay(me, invoice["id"]), 201)["invoice"]["status"] == "PAID"


def test_a_payment_that_never_reached_the_gateway_is_failed(
    gateway: Gateway, admin_sql: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    me = student()
    invoice = create_invoice(me, create_plan()["id"])
    _lose_answers_of(monkeypatch, "create_intent", call=False)
    assert pay(me, invoice["id"]).status == 503
    monkeypatch.undo()
    _age(admin_sql, invoice["id"], 600)

    assert reconcile_payments.handler({}, None)["failed"] == 1
    assert ok(get_invoice(me, invoice["id"]))["payments"][0]["failureCode"] == "abandoned"
    assert gateway.events() == []


def test_an_action_never_completed_is_cancelled_after_its_time(
    gateway: Gateway, admin_sql: Any
) -> None:
    me = student()
    invoice = create_invoice(me, create_plan()["id"])
    body = ok(pay(me, invoice["id"], "pm_card_authenticationRequired"), 202)
    _age(admin_sql, invoice["id"], 600)  # stale, but the customer still has time
    assert reconcile_payments.handler({}, None).get("failed", 0) == 0

    _age(admin_sql, invoice["id"], 3 * 3600)
    counts = reconcile_payments.handler({}, None)

    assert counts["failed"] == 1
    payment = ok(get_invoice(me, invoice["id"]))["payments"][0]
    assert payment["failureCode"] == "authentication_not_completed"
    assert gateway.sim.state.intents[body["payment"]["gatewayId"]]["status"] == "canceled"


def test_expired_idempotency_keys_are_forgotten(gateway: Gateway, admin_sql: Any) -> None:
    me = student()
    invoice = create_invoice(me, create_plan()["id"])
    ok(pay(me, invoice["id"], "pm_card_chargeDeclined", key="old-key"), 402)
    admin_sql.run("UPDATE lms_payment.idempotency_keys SET expires_at = now() - interval '1 s'")

    assert reconcile_payments.handler({}, None)["keys_forgotten"] == 1
    # The key starts a new request now
    assert ok(pay(me, invoice["id"], "pm_card_visa", key="old-key"), 201)


def test_a_payment_the_gateway_does_not_know_is_left_and_counted(
    gateway: Gateway, admin_sql: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    me = student()
    invoice = create_invoice(me, create_plan()["id"])
    _lose_answers_of(monkeypatch, "confirm_intent", call=True)
    assert pay(me, invoice["id"]).status == 503
    monkeypatch.undo()
    intent_id = ok(get_invoice(me, invoice["id"]))["payments"][0]["gatewayId"]
    with gateway.sim.state.lock:
        gone = gateway.sim.state.intents.pop(intent_id)  # as if the simulator had restarted
    _age(admin_sql, invoice["id"], 600)

    try:
        counts = reconcile_payments.handler({}, None)
    finally:
        with gateway.sim.state.lock:
            gateway.sim.state.intents[intent_id] = gone

    assert counts["gateway_refused"] == 1
    assert ok(get_invoice(me, invoice["id"]))["payments"][0]["status"] == "PROCESSING"
