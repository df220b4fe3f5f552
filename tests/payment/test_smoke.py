from __future__ import annotations

import pytest

from tests.payment.conftest import Gateway, create_invoice, create_plan, ok, pay, student

pytestmark = [pytest.mark.integration]


def test_smoke(gateway: Gateway) -> None:
    plan = create_plan()
    me = student()
    invoice = create_invoice(me, plan["id"])
    reply = pay(me, invoice["id"])
    print(reply)
    body = ok(reply, 201)
    assert body["invoice"]["status"] == "PAID"
