"""The Payment service: plans, invoices, and payments through the gateway (Stripe)."""

from __future__ import annotations

from lms_events import payment as events
from lms_platform.service import Job, Route, Service

SERVICE = Service(
    name="payment",
    routes=(
        Route("POST", "/plans", "create_plan", status=201, summary="Create a plan (admins)"),
        Route(
            "GET",
            "/plans",
            "list_plans",
            public=True,
            summary="The active plans, newest first, a page at a time",
        ),
        Route("PATCH", "/plans/{planId}", "update_plan", summary="Change a plan (admins)"),
        Route(
            "POST",
            "/plans/{planId}/archive",
            "archive_plan",
            summary="Archive a plan: no new invoices for it (admins)",
        ),
        Route(
            "POST",
            "/invoices",
            "create_invoice",
            status=201,
            summary="An invoice for a plan, due in 7 days",
        ),
        Route(
            "GET",
            "/me/invoices",
            "list_my_invoices",
            summary="The caller's invoices, newest first",
        ),
        Route(
            "GET",
            "/invoices/{invoiceId}",
            "get_invoice",
            summary="One invoice with its payments (its user, admins)",
        ),
        Route(
            "POST",
            "/invoices/{invoiceId}/void",
            "void_invoice",
            summary="Void an open invoice (its user, admins)",
        ),
        Route(
            "POST",
            "/invoices/{invoiceId}/payments",
            "pay_invoice",
            status=201,
            secrets=("stripe",),
            summary="Pay an invoice (Idempotency-Key required): 201 paid, 202 action needed, "
            "402 declined",
        ),
        Route(
            "POST",
            "/payments/webhook",
            "payment_webhook",
            public=True,
            secrets=("stripe",),
            summary="The gateway's signed events (Stripe webhooks)",
        ),
    ),
    publishes=events.EVENTS,
    jobs=(
        Job(
            "reconcile_payments",
            every_minutes=5,
            summary="Settle payments left without an answer by asking the gateway; forget "
            "expired idempotency keys",
            secrets=("stripe",),
        ),
    ),
    secrets=("stripe",),
)
