"""The Payment service: plans, invoices, and payments through the gateway (Stripe)."""

from __future__ import annotations

from lms_events import payment as events
from lms_platform.service import Job, Route, Service

# What a plan's fields must also be, beyond their documented shape.
CURRENCY_RULE = "a currency the gateway does not take"
PRICE_RULE = "a price of more decimals than its currency has, zero, or above the gateway's largest"

SERVICE = Service(
    name="payment",
    # The official Stripe client (pyproject's `payment` group): in this service's layer only.
    dependencies=("payment",),
    routes=(
        Route(
            "POST",
            "/plans",
            "create_plan",
            status=201,
            summary="Create a plan (admins)",
            errors=(403, 409),
            rules=(
                CURRENCY_RULE,
                PRICE_RULE,
            ),
        ),
        Route(
            "GET",
            "/plans",
            "list_plans",
            public=True,
            summary="The active plans, newest first, a page at a time",
        ),
        Route(
            "PATCH",
            "/plans/{planId}",
            "update_plan",
            summary="Change a plan (admins)",
            errors=(403, 409),
            rules=(
                CURRENCY_RULE,
                PRICE_RULE,
                "nothing to change",
            ),
        ),
        Route(
            "POST",
            "/plans/{planId}/archive",
            "archive_plan",
            summary="Archive a plan: no new invoices for it (admins)",
            errors=(403,),
        ),
        Route(
            "POST",
            "/invoices",
            "create_invoice",
            status=201,
            summary="An invoice for a plan, due in 7 days",
            errors=(404, 409),
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
            errors=(403, 409),
        ),
        Route(
            "POST",
            "/invoices/{invoiceId}/payments",
            "pay_invoice",
            status=201,
            secrets=("stripe",),
            summary="Pay an invoice (Idempotency-Key required): 201 paid, 202 action needed, "
            "402 declined",
            errors=(402, 403, 409),
            answers=((202, "The customer must act (nextAction); a webhook settles it"),),
            rules=("an Idempotency-Key used with another request",),
        ),
        Route(
            "POST",
            "/payments/webhook",
            "payment_webhook",
            public=True,
            secrets=("stripe",),
            summary="The gateway's signed events (Stripe webhooks)",
            rules=("a Stripe-Signature that does not verify, or older than 5 minutes (400)",),
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
