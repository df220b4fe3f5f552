"""Paying for a plan over HTTP against ``lms run``: the gateway simulator it serves, the
Stripe library pointed at it, and the simulator's signed webhooks sent to the local
gateway's ``/payments/webhook``.

An administrator (from ``lms create-admin``) makes a plan; a student opens an invoice and
pays it with ``pm_card_visa``: 201, PAID, ``InvoicePaid`` on the bus. A second invoice is
paid with ``pm_card_authenticationRequired``: 202 with the page to complete the action;
completing it on the simulator sends a webhook that pays the invoice.
"""

from __future__ import annotations

import uuid
from typing import Any

import pytest

from tests.e2e.harness import PASSWORD, BusTap, Reply, Runtime, eventually, http, login

pytestmark = pytest.mark.e2e


def _ok(reply: Reply, status: int = 200) -> Any:
    assert reply.status == status, (reply.status, reply.body)
    return reply.body


def _admin(rt: Runtime) -> str:
    email = f"admin-{uuid.uuid4().hex[:8]}@example.com"
    made = rt.lms(
        "create-admin", "--email", email, "--display-name", "Ad Min", "--password-stdin",
        stdin=PASSWORD + "\n",
    )  # fmt: skip
    assert made.returncode == 0, made.stdout + made.stderr
    return login(rt, email)


def _student(rt: Runtime) -> tuple[str, str]:
    email = f"payer-{uuid.uuid4().hex[:8]}@example.com"
    body = {"email": email, "password": PASSWORD, "displayName": "Payer"}
    registered = _ok(http(rt, "POST", "/auth/register", body=body), 201)
    return str(registered["id"]), login(rt, email)


def test_a_student_pays_a_plan_and_the_bus_says_so(runtime: Runtime) -> None:
    tap = BusTap(runtime, ["lms.payment"])
    admin = _admin(runtime)
    student_id, student = _student(runtime)

    # An administrator makes a plan; anyone sees it
    plan = _ok(
        http(
            runtime,
            "POST",
            "/plans",
            token=admin,
            body={"name": "Monthly", "price": "12.00", "currency": "EUR", "interval": "month"},
        ),
        201,
    )
    listed = _ok(http(runtime, "GET", "/plans"))
    assert plan["id"] in [p["id"] for p in listed["items"]]

    # The student opens an invoice and pays it
    invoice = _ok(
        http(runtime, "POST", "/invoices", token=student, body={"planId": plan["id"]}), 201
    )
    key = str(uuid.uuid4())

    def pay(invoice_id: str, method: str, key: str) -> Reply:
        return http(
            runtime,
            "POST",
            f"/invoices/{invoice_id}/payments",
            token=student,
            body={"paymentMethod": method},
            headers={"Idempotency-Key": key},
        )

    paid = _ok(pay(invoice["id"], "pm_card_visa", key), 201)
    assert paid["invoice"]["status"] == "PAID" and paid["payment"]["amount"] == "12.00"
    again = pay(invoice["id"], "pm_card_visa", key)
    assert again.status == 201 and again.headers.get("idempotent-replayed") == "true"

    [event] = tap.wait_for_kind("InvoicePaid", invoiceId=invoice["id"])
    data = event["detail"]["data"]
    assert (data["userId"], data["planId"], data["planInterval"]) == (
        student_id,
        plan["id"],
        "month",
    )
    assert data["paidAt"] and data["amount"] == "12.00" and data["currency"] == "EUR"

    # A card that needs the customer's action: 202, then the action done on the simulator's
    # page; its webhook reaches the local gateway and pays the invoice
    second = _ok(
        http(runtime, "POST", "/invoices", token=student, body={"planId": plan["id"]}), 201
    )
    waiting = _ok(pay(second["id"], "pm_card_authenticationRequired", str(uuid.uuid4())), 202)
    page = waiting["payment"]["nextAction"]["redirect_to_url"]["url"]
    assert _ok(http(runtime, "GET", "", url=page)) is not None
    _ok(http(runtime, "POST", "", url=page + "?outcome=succeed"))

    settled = eventually(
        lambda: http(runtime, "GET", f"/invoices/{second['id']}", token=student),
        lambda r: r.status == 200 and r.body["status"] == "PAID",
    )
    assert _ok(settled)["payments"][0]["status"] == "SUCCEEDED"
    tap.wait_for_kind("InvoicePaid", invoiceId=second["id"])


def test_paying_opens_a_course_that_requires_a_subscription(runtime: Runtime) -> None:
    """The README's walk-through: plan, course for subscribers, 402, invoice, payment, 201."""
    admin = _admin(runtime)
    _, student = _student(runtime)
    plan = _ok(
        http(
            runtime,
            "POST",
            "/plans",
            token=admin,
            body={"name": "Members", "price": "9.90", "currency": "EUR", "interval": "month"},
        ),
        201,
    )
    course = _ok(
        http(
            runtime,
            "POST",
            "/courses",
            token=admin,
            body={"title": "Engines for Members", "requiresSubscription": True},
        ),
        201,
    )
    base = f"/courses/{course['id']}"
    module = _ok(http(runtime, "POST", f"{base}/modules", token=admin, body={"title": "G"}), 201)
    lesson = {"title": "Cogs", "type": "video"}
    _ok(
        http(runtime, "POST", f"{base}/modules/{module['id']}/lessons", token=admin, body=lesson),
        201,
    )
    assert _ok(http(runtime, "POST", f"{base}/publish", token=admin))["requiresSubscription"]

    def enroll() -> Reply:
        return http(runtime, "POST", f"{base}/enrollments", token=student)

    # Once the course has reached the Enrollment service: 402 without a subscription
    refused = eventually(enroll, lambda r: r.status != 404)
    assert refused.status == 402, refused.body
    assert refused.body["title"] == "Subscription required"

    invoice = _ok(
        http(runtime, "POST", "/invoices", token=student, body={"planId": plan["id"]}), 201
    )
    paid = http(
        runtime,
        "POST",
        f"/invoices/{invoice['id']}/payments",
        token=student,
        body={"paymentMethod": "pm_card_visa"},
        headers={"Idempotency-Key": str(uuid.uuid4())},
    )
    assert _ok(paid, 201)["invoice"]["status"] == "PAID"

    # Once InvoicePaid has reached the Enrollment service: 201
    enrolled = eventually(enroll, lambda r: r.status != 402)
    assert _ok(enrolled, 201)["courseTitle"] == "Engines for Members"
