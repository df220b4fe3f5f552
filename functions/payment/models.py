"""The Payment service's request and response bodies (camelCase on the wire).

Amounts are decimal strings with exactly their currency's decimals (``"19.90"`` USD,
``"1000"`` JPY); a JSON number is refused, so that no amount ever passes through a float.
"""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Annotated, Any, Literal

from pydantic import Field, StringConstraints, ValidationInfo, field_validator, model_validator

from functions.payment import money
from lms_platform.http import ApiModel

PlanInterval = Literal["month", "year", "once"]
PlanStatus = Literal["ACTIVE", "ARCHIVED"]
InvoiceStatus = Literal["OPEN", "PAID", "VOID"]
PaymentStatus = Literal["PROCESSING", "REQUIRES_ACTION", "SUCCEEDED", "FAILED"]

AmountText = Annotated[
    str,
    StringConstraints(pattern=r"^[0-9]{1,9}(\.[0-9]{1,4})?$"),
    Field(description="a decimal string, at most the currency's decimals", examples=["19.90"]),
]
CurrencyCode = Annotated[
    str,
    StringConstraints(pattern=r"^[A-Z]{3}$"),
    Field(description="ISO 4217, upper case", examples=["USD"]),
]
Name = Annotated[str, StringConstraints(min_length=1, max_length=120)]
Feature = Annotated[str, StringConstraints(min_length=1, max_length=200)]
Features = Annotated[list[Feature], Field(max_length=50)]


def _supported(currency: str) -> str:
    try:
        money.exponent(currency)
    except money.MoneyError as error:
        raise ValueError(str(error)) from None
    return currency


def _amount_in(price: str, currency: str | None) -> str:
    if currency is None:
        return price  # the currency's own error is reported
    try:
        money.parse_amount(price, currency)
    except money.MoneyError as error:
        raise ValueError(str(error)) from None
    return price


# --- requests -----------------------------------------------------------------------------


class CreatePlan(ApiModel):
    name: Name
    # Before ``price``: the price is checked against the currency's minor units.
    currency: CurrencyCode
    price: AmountText
    interval: PlanInterval
    # A lambda, not ``list``: pydantic reads a default factory's signature, and a builtin's
    # is parsed from text by a regex compiled on first use (~20 ms of a cold start).
    features: Features = Field(default_factory=lambda: [])

    _currency = field_validator("currency")(_supported)

    @field_validator("price")
    @classmethod
    def _price_fits_currency(cls, price: str, info: ValidationInfo) -> str:
        return _amount_in(price, info.data.get("currency"))


class UpdatePlan(ApiModel):
    """Changes apply to invoices made afterwards; an invoice keeps what it was made with."""

    name: Name | None = None
    currency: CurrencyCode | None = None
    price: AmountText | None = None
    interval: PlanInterval | None = None
    features: Features | None = None

    @field_validator("currency")
    @classmethod
    def _currency_supported(cls, currency: str | None) -> str | None:
        return None if currency is None else _supported(currency)

    @model_validator(mode="after")
    def _something_to_change(self) -> UpdatePlan:
        if not self.model_fields_set or all(
            getattr(self, name) is None for name in self.model_fields_set
        ):
            raise ValueError("name at least one field to change")
        return self


class CreateInvoice(ApiModel):
    plan_id: uuid.UUID


class PayInvoice(ApiModel):
    # A gateway payment method id: Stripe's test ones (pm_card_visa ...) or one made by
    # Stripe.js in the client.
    payment_method: Annotated[
        str,
        StringConstraints(pattern=r"^[A-Za-z0-9_]{3,255}$"),
        Field(examples=["pm_card_visa"]),
    ]


# --- responses ----------------------------------------------------------------------------


class Plan(ApiModel):
    id: uuid.UUID
    name: str
    price: str
    currency: str
    interval: PlanInterval
    features: list[str]
    status: PlanStatus
    created_at: datetime
    updated_at: datetime


class PlanPage(ApiModel):
    items: list[Plan]
    next_cursor: str | None


class Payment(ApiModel):
    id: uuid.UUID
    invoice_id: uuid.UUID
    status: PaymentStatus
    amount: str
    currency: str
    payment_method: str
    gateway_id: str | None
    gateway_status: str | None
    failure_code: str | None
    decline_code: str | None
    failure_message: str | None
    # What the customer must do (REQUIRES_ACTION), as the gateway describes it: with
    # Stripe.js, ``handleNextAction`` with the client secret; locally, a page of the
    # simulator to open.
    next_action: dict[str, Any] | None
    created_at: datetime
    updated_at: datetime


class Invoice(ApiModel):
    id: uuid.UUID
    user_id: uuid.UUID
    plan_id: uuid.UUID
    plan_name: str
    plan_interval: PlanInterval
    amount: str
    currency: str
    status: InvoiceStatus
    due_at: datetime
    paid_at: datetime | None
    voided_at: datetime | None
    created_at: datetime
    updated_at: datetime


class InvoiceDetail(Invoice):
    """An invoice with every attempt to pay it, newest first."""

    payments: list[Payment]


class InvoicePage(ApiModel):
    items: list[Invoice]
    next_cursor: str | None


class PaymentOutcome(ApiModel):
    """The answer of ``POST /invoices/{invoiceId}/payments`` (201 paid, 202 action needed)."""

    payment: Payment
    invoice: Invoice
    # With Stripe.js: ``stripe.handleNextAction({clientSecret})`` when an action is needed.
    client_secret: str | None = None
