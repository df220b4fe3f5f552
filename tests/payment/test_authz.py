"""Who may call each Payment route: anonymous, a student, another user, an admin."""

from __future__ import annotations

import uuid
from typing import Any

import pytest

from tests.payment.conftest import ADMIN, Gateway, create_invoice, create_plan, pay, student
from tests.support import call

pytestmark = [pytest.mark.integration]

PLAN_BODY = {"name": "P", "price": "5.00", "currency": "USD", "interval": "once"}


@pytest.fixture
def world(gateway: Gateway) -> dict[str, Any]:
    owner = student()
    plan = create_plan()
    return {"owner": owner, "plan": plan, "invoice": create_invoice(owner, plan["id"])}


def _calls(w: dict[str, Any]) -> dict[str, Any]:
    plan, invoice = w["plan"]["id"], w["invoice"]["id"]
    return {
        "create_plan": lambda c: call("POST", "/plans", caller=c, body=PLAN_BODY),
        "update_plan": lambda c: call(
            "PATCH", "/plans/{planId}", caller=c, path_params={"planId": plan}, body={"name": "Q"}
        ),
        "archive_plan": lambda c: call(
            "POST", "/plans/{planId}/archive", caller=c, path_params={"planId": plan}
        ),
        "list_plans": lambda c: call("GET", "/plans", caller=c),
        "create_invoice": lambda c: call("POST", "/invoices", caller=c, body={"planId": plan}),
        "list_my_invoices": lambda c: call("GET", "/me/invoices", caller=c),
        "get_invoice": lambda c: call(
            "GET", "/invoices/{invoiceId}", caller=c, path_params={"invoiceId": invoice}
        ),
        "pay_invoice": lambda c: pay(c, invoice, "pm_card_chargeDeclined"),
        "void_invoice": lambda c: call(
            "POST", "/invoices/{invoiceId}/void", caller=c, path_params={"invoiceId": invoice}
        ),
    }


# (route, anonymous, another user, the invoice's owner, an admin); ``owner`` is a student.
EXPECTED = [
    ("create_plan", 401, 403, 403, 201),
    ("update_plan", 401, 403, 403, 200),
    ("archive_plan", 401, 403, 403, 200),
    ("list_plans", 200, 200, 200, 200),
    ("create_invoice", 401, 201, 201, 201),
    ("list_my_invoices", 401, 200, 200, 200),
    ("get_invoice", 401, 404, 200, 200),
    ("pay_invoice", 401, 404, 402, 404),  # only its user pays it
    ("void_invoice", 401, 404, 200, 200),
]


@pytest.mark.parametrize(("route", "anonymous", "other", "owner", "admin"), EXPECTED)
def test_each_route_answers_each_caller_as_declared(
    world: dict[str, Any], route: str, anonymous: int, other: int, owner: int, admin: int
) -> None:
    attempt = _calls(world)[route]
    callers = {"anonymous": None, "other": student(), "owner": world["owner"]}
    got = {name: attempt(c).status for name, c in callers.items()}
    if route == "void_invoice":
        world["invoice"] = create_invoice(world["owner"], world["plan"]["id"])
        attempt = _calls(world)[route]
    got["admin"] = attempt(ADMIN).status
    assert got == {"anonymous": anonymous, "other": other, "owner": owner, "admin": admin}


def test_the_webhook_is_public_but_needs_the_gateways_signature(gateway: Gateway) -> None:
    from tests.payment.conftest import webhook

    assert webhook('{"id": "evt_1"}', None).status == 400
    assert webhook('{"id": "evt_1"}', f"t=1,v1={uuid.uuid4().hex}").status == 400
