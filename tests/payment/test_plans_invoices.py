"""Plans (admins) and invoices (their users): money as decimal strings in the currency's
minor units, keyset pages, voids, and the events."""

from __future__ import annotations

import time
from typing import Any

import pytest

from tests.payment.conftest import ADMIN, Gateway, create_invoice, create_plan, ok, student
from tests.support import call, row_counts

pytestmark = [pytest.mark.integration]


def observed(event_log: Any, **counts: int) -> None:
    deadline = time.monotonic() + 5
    while True:
        event_log.drain(wait_seconds=0.1)
        if all(len(event_log.of_type(k)) >= n for k, n in counts.items()):
            return
        assert time.monotonic() < deadline


@pytest.mark.parametrize(
    ("price", "currency", "field"),
    [
        ("10.5", "JPY", "price"),  # JPY has no minor units
        ("19.999", "USD", "price"),
        ("0", "USD", "price"),
        ("1000000.00", "USD", "price"),  # over the gateway's 8 digits of cents
        ("1e3", "USD", "price"),
        ("19.90", "usd", "currency"),
        ("19.90", "XYZ", "currency"),
        ("19.90", "KWD", "currency"),  # three decimals: not served
    ],
)
def test_a_price_that_does_not_fit_its_currency_is_422_naming_the_field(
    db_clean: None, admin_sql: Any, price: str, currency: str, field: str
) -> None:
    reply = call(
        "POST",
        "/plans",
        caller=ADMIN,
        body={"name": "P", "price": price, "currency": currency, "interval": "month"},
    )
    assert reply.status == 422, reply.body
    assert ["body", field] in [e["location"] for e in reply.body["errors"]]
    assert row_counts(admin_sql, "lms_payment.plans")["lms_payment.plans"] == 0


def test_a_price_as_a_json_number_is_refused(db_clean: None) -> None:
    reply = call(
        "POST",
        "/plans",
        caller=ADMIN,
        body={"name": "P", "price": 19.9, "currency": "USD", "interval": "month"},
    )
    assert reply.status == 422


def test_amounts_keep_exactly_their_currencys_decimals(db_clean: None) -> None:
    assert create_plan("19.9", "USD")["price"] == "19.90"
    assert create_plan("1500", "JPY")["price"] == "1500"
    assert create_plan("1500.00", "JPY")["price"] == "1500"


def test_plans_are_listed_newest_first_in_pages_without_archived_ones(db_clean: None) -> None:
    made = [create_plan(name=f"P{i}", features=[f"f{i}"]) for i in range(5)]
    ok(call("POST", "/plans/{planId}/archive", caller=ADMIN, path_params={"planId": made[2]["id"]}))

    seen, cursor = [], None
    while True:
        query = {"limit": "2", **({"cursor": cursor} if cursor else {})}
        page = ok(call("GET", "/plans", query=query))
        seen += [p["id"] for p in page["items"]]
        cursor = page["nextCursor"]
        if cursor is None:
            break

    assert seen == [p["id"] for p in reversed(made) if p["id"] != made[2]["id"]]


def test_a_plan_change_applies_to_later_invoices_only(db_clean: None) -> None:
    me = student()
    plan = create_plan("10.00", "EUR", "month")
    before = create_invoice(me, plan["id"])

    changed = ok(
        call(
            "PATCH",
            "/plans/{planId}",
            caller=ADMIN,
            path_params={"planId": plan["id"]},
            body={"price": "12.50", "interval": "year"},
        )
    )
    after = create_invoice(me, plan["id"])

    assert (changed["price"], changed["interval"]) == ("12.50", "year")
    assert (before["amount"], before["planInterval"]) == ("10.00", "month")
    assert (after["amount"], after["planInterval"]) == ("12.50", "year")


def test_changing_the_currency_checks_the_kept_price(db_clean: None) -> None:
    plan = create_plan("10.50", "USD")
    reply = call(
        "PATCH",
        "/plans/{planId}",
        caller=ADMIN,
        path_params={"planId": plan["id"]},
        body={"currency": "JPY"},
    )
    assert reply.status == 422
    assert reply.body["errors"][0]["location"] == ["body", "price"]
    empty = call(
        "PATCH", "/plans/{planId}", caller=ADMIN, path_params={"planId": plan["id"]}, body={}
    )
    assert empty.status == 422


def test_an_archived_plan_takes_no_new_invoice(db_clean: None) -> None:
    plan = create_plan()
    for _ in range(2):  # a repeat changes nothing
        archived = ok(
            call(
                "POST", "/plans/{planId}/archive", caller=ADMIN, path_params={"planId": plan["id"]}
            )
        )
        assert archived["status"] == "ARCHIVED"
    reply = call("POST", "/invoices", caller=student(), body={"planId": plan["id"]})
    assert reply.status == 404


def test_an_invoice_is_open_due_in_seven_days_and_announced(db_clean: None, event_log: Any) -> None:
    me = student()
    invoice = create_invoice(me, create_plan("19.90", "USD", "month")["id"])

    assert invoice["status"] == "OPEN" and invoice["amount"] == "19.90"
    assert invoice["userId"] == me["sub"] and invoice["paidAt"] is None
    from datetime import datetime, timedelta

    due = datetime.fromisoformat(invoice["dueAt"]) - datetime.fromisoformat(invoice["createdAt"])
    assert abs(due - timedelta(days=7)) < timedelta(seconds=1)
    observed(event_log, InvoiceCreated=1)
    data = event_log.of_type("InvoiceCreated")[0]["detail"]["data"]
    assert (data["invoiceId"], data["amount"], data["planInterval"]) == (
        invoice["id"],
        "19.90",
        "month",
    )


def test_my_invoices_are_mine_newest_first_by_status(gateway: Gateway) -> None:
    me, other = student(), student()
    plan = create_plan()
    mine = [create_invoice(me, plan["id"]) for _ in range(5)]
    create_invoice(other, plan["id"])
    ok(
        call(
            "POST",
            "/invoices/{invoiceId}/void",
            caller=me,
            path_params={"invoiceId": mine[1]["id"]},
        )
    )

    seen, cursor = [], None
    while True:
        query = {"limit": "2", **({"cursor": cursor} if cursor else {})}
        page = ok(call("GET", "/me/invoices", caller=me, query=query))
        seen += [i["id"] for i in page["items"]]
        cursor = page["nextCursor"]
        if cursor is None:
            break
    voided = ok(call("GET", "/me/invoices", caller=me, query={"status": "VOID"}))

    assert seen == [i["id"] for i in reversed(mine)]
    assert [i["id"] for i in voided["items"]] == [mine[1]["id"]]


def test_voiding_is_for_its_user_while_open_and_admins_and_is_announced(
    gateway: Gateway, event_log: Any
) -> None:
    from tests.payment.conftest import pay

    me, other = student(), student()
    plan = create_plan()
    invoice = create_invoice(me, plan["id"])

    def void(caller: dict[str, Any], invoice_id: str) -> Any:
        return call(
            "POST",
            "/invoices/{invoiceId}/void",
            caller=caller,
            path_params={"invoiceId": invoice_id},
        )

    assert void(other, invoice["id"]).status == 404
    voided = ok(void(me, invoice["id"]))
    assert voided["status"] == "VOID" and voided["voidedAt"]
    assert ok(void(me, invoice["id"]))["voidedAt"] == voided["voidedAt"]  # a repeat
    by_admin = ok(void(ADMIN, create_invoice(me, plan["id"])["id"]))
    assert by_admin["status"] == "VOID"
    paid = create_invoice(me, plan["id"])
    ok(pay(me, paid["id"]), 201)
    assert void(ADMIN, paid["id"]).status == 409
    observed(event_log, InvoiceVoided=2)
    voided_by = {e["detail"]["data"]["voidedBy"] for e in event_log.of_type("InvoiceVoided")}
    assert voided_by == {me["sub"], ADMIN["sub"]}
