"""Payment fixtures: the gateway simulator over HTTP (the Stripe library pointed at it),
plans and invoices made through the real routes, webhooks delivered as the gateway sends
them (signed) to the webhook route's handler."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from typing import Any

import pytest

from lms_local.gateway_simulator import GatewaySimulator
from tests.support import Reply, as_caller, call

ADMIN = as_caller(uuid.uuid4(), "ADMIN", "STUDENT", email="admin@example.com")


def student() -> dict[str, Any]:
    return as_caller(uuid.uuid4(), "STUDENT", email="student@example.com")


def ok(reply: Reply, status: int = 200) -> Any:
    assert reply.status == status, (reply.status, reply.body)
    return reply.body


@dataclass
class Gateway:
    """The simulator, and the webhooks it made, delivered on demand."""

    sim: GatewaySimulator
    start: int = 0  # events before this test are not its own
    sent: int = 0

    def events(self, kind: str | None = None) -> list[dict[str, Any]]:
        """The events the gateway made during this test (each change of an intent)."""
        with self.sim.state.lock:
            mine = self.sim.state.events[self.start :]
        return [e for e in mine if kind is None or e["type"] == kind]

    def deliver(self, event: dict[str, Any], *, timestamp: int | None = None) -> Reply:
        payload, signature = self.sim.signed(event, timestamp)
        return webhook(payload, signature)

    def deliver_new(self) -> list[Reply]:
        """Every event made since the last call, in order."""
        fresh = self.events()[self.sent - self.start :]
        self.sent += len(fresh)
        return [self.deliver(e) for e in fresh]

    def charges(self, intent_id: str) -> list[dict[str, Any]]:
        return self.sim.charges_for(intent_id)


@pytest.fixture
def gateway(simulator: GatewaySimulator, db_clean: None) -> Gateway:
    made = len(simulator.state.events)
    return Gateway(simulator, start=made, sent=made)


def webhook(payload: str, signature: str | None) -> Reply:
    headers = {"stripe-signature": signature} if signature is not None else {}
    return call("POST", "/payments/webhook", raw_body=payload, headers=headers)


def create_plan(
    price: str = "19.90", currency: str = "USD", interval: str = "month", **extra: Any
) -> dict[str, Any]:
    body = {"name": "Pro", "price": price, "currency": currency, "interval": interval, **extra}
    return ok(call("POST", "/plans", caller=ADMIN, body=body), 201)  # type: ignore[no-any-return]


def create_invoice(caller: dict[str, Any], plan_id: str) -> dict[str, Any]:
    return ok(call("POST", "/invoices", caller=caller, body={"planId": plan_id}), 201)  # type: ignore[no-any-return]


def pay(
    caller: dict[str, Any] | None,
    invoice_id: str,
    payment_method: str = "pm_card_visa",
    key: str | None = None,
) -> Reply:
    headers = {"idempotency-key": key or str(uuid.uuid4())}
    return call(
        "POST",
        "/invoices/{invoiceId}/payments",
        caller=caller,
        path_params={"invoiceId": invoice_id},
        body={"paymentMethod": payment_method},
        headers=headers,
    )


def get_invoice(caller: dict[str, Any], invoice_id: str) -> Reply:
    return call(
        "GET", "/invoices/{invoiceId}", caller=caller, path_params={"invoiceId": invoice_id}
    )
