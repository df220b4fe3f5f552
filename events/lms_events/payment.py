"""Events of the Payment service (EventBridge source ``lms.payment``).

Amounts are decimal strings in the currency's own minor units ("19.90" USD, "1000" JPY),
never floats. ``InvoicePaid`` carries what a consumer needs to know what the payment buys
without calling back: the user, the plan, the plan's interval as of the invoice, and when
it was paid (a monthly plan covers a month from ``paidAt``, a yearly one a year, ``once``
for ever).
"""

from __future__ import annotations

import uuid
from datetime import datetime
from decimal import Decimal
from typing import ClassVar, Literal

from pydantic import Field

from lms_events.envelope import EventData

PlanInterval = Literal["month", "year", "once"]


class PaymentEvent(EventData):
    source: ClassVar[str] = "lms.payment"

    invoice_id: uuid.UUID
    user_id: uuid.UUID


class InvoiceCreated(PaymentEvent):
    plan_id: uuid.UUID
    plan_interval: PlanInterval
    amount: Decimal = Field(gt=0)
    currency: str = Field(pattern=r"^[A-Z]{3}$")
    due_at: datetime
    created_at: datetime


class InvoicePaid(PaymentEvent):
    plan_id: uuid.UUID
    plan_interval: PlanInterval
    amount: Decimal = Field(gt=0)
    currency: str = Field(pattern=r"^[A-Z]{3}$")
    paid_at: datetime
    payment_id: uuid.UUID


class PaymentFailed(PaymentEvent):
    payment_id: uuid.UUID
    amount: Decimal = Field(gt=0)
    currency: str = Field(pattern=r"^[A-Z]{3}$")
    # The gateway's reasons: ``card_declined`` / ``insufficient_funds`` ..., or ours for a
    # payment given up (``authentication_not_completed``, ``abandoned``).
    failure_code: str | None
    decline_code: str | None
    failed_at: datetime


class InvoiceVoided(PaymentEvent):
    voided_by: uuid.UUID
    voided_at: datetime


EVENTS: tuple[type[PaymentEvent], ...] = (InvoiceCreated, InvoicePaid, PaymentFailed, InvoiceVoided)
