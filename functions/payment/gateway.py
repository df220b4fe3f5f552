"""The payment gateway as the Payment service sees it: PaymentIntents created, confirmed,
read and cancelled, each write under an idempotency key, and signed webhook events.

The one adapter is Stripe's (``functions.payment.stripe_gateway``, the official ``stripe``
library); locally ``lms run`` points it at its gateway simulator, which speaks the same
subset of Stripe's HTTP API. The adapter is built on first use, so a function that never
talks to the gateway never imports the library.

What a call's failure means decides what the use cases may do next:

- ``GatewayUnavailable``: no answer (network, timeout, the gateway's own 5xx or rate
  limit, a key in use by a concurrent request). Whether the gateway acted is unknown;
  the same call with the same idempotency key later is safe and tells.
- ``GatewayRefused``: the gateway answered that it will not do this (an unknown payment
  method, a malformed request). Nothing was charged.
- A declined card is not an exception: the intent comes back with its
  ``last_payment_error`` (``decline_code``), as Stripe's own objects carry it.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from functools import lru_cache
from typing import Any, Protocol

# PaymentIntent statuses (Stripe's names).
SUCCEEDED = "succeeded"
REQUIRES_ACTION = "requires_action"
PROCESSING = "processing"
REQUIRES_PAYMENT_METHOD = "requires_payment_method"
REQUIRES_CONFIRMATION = "requires_confirmation"
CANCELED = "canceled"

# Gateway events the service applies; every other type is acknowledged and ignored.
INTENT_EVENTS = frozenset(
    {
        "payment_intent.succeeded",
        "payment_intent.payment_failed",
        "payment_intent.requires_action",
        "payment_intent.processing",
        "payment_intent.canceled",
    }
)


class GatewayUnavailable(Exception):
    """No usable answer: what the gateway did is unknown (ask again with the same key)."""


class GatewayRefused(Exception):
    """The gateway refused the request; nothing was charged."""

    def __init__(self, message: str, *, code: str | None, status: int | None) -> None:
        super().__init__(message)
        self.code = code
        self.status = status


class InvalidSignature(Exception):
    """A webhook whose signature, or whose timestamp, does not verify."""


@dataclass(frozen=True)
class Intent:
    """A PaymentIntent as the service needs it."""

    id: str
    status: str
    amount: int  # minor units of the currency
    currency: str  # lower case, as Stripe writes it
    metadata: dict[str, str] = field(default_factory=dict)
    # From ``last_payment_error`` after a failed confirmation.
    failure_code: str | None = None
    decline_code: str | None = None
    failure_message: str | None = None
    # What the customer must do next (``requires_action``), as the gateway describes it.
    next_action: dict[str, Any] | None = None
    client_secret: str | None = None

    @property
    def failed(self) -> bool:
        """Confirmed and refused (Stripe puts a failed intent back to requires_payment_method
        with the error), or cancelled."""
        return self.status == CANCELED or (
            self.status == REQUIRES_PAYMENT_METHOD and self.failure_code is not None
        )

    @property
    def unconfirmed(self) -> bool:
        """Created but never confirmed: nothing was or will be charged until it is."""
        return self.status == REQUIRES_CONFIRMATION or (
            self.status == REQUIRES_PAYMENT_METHOD and self.failure_code is None
        )

    @classmethod
    def from_object(cls, data: dict[str, Any]) -> Intent:
        """From a PaymentIntent's JSON (an API answer or a webhook's ``data.object``)."""
        error = data.get("last_payment_error") or {}
        metadata = data.get("metadata") or {}
        return cls(
            id=str(data["id"]),
            status=str(data["status"]),
            amount=int(data.get("amount") or 0),
            currency=str(data.get("currency") or ""),
            metadata={str(k): str(v) for k, v in metadata.items()},
            failure_code=error.get("code"),
            decline_code=error.get("decline_code"),
            failure_message=error.get("message"),
            next_action=data.get("next_action"),
            client_secret=data.get("client_secret"),
        )


@dataclass(frozen=True)
class GatewayEvent:
    """A verified webhook event."""

    id: str
    type: str
    created: int
    object: dict[str, Any]


class Gateway(Protocol):
    def create_intent(
        self, *, amount: int, currency: str, metadata: dict[str, str], idempotency_key: str
    ) -> Intent: ...

    def confirm_intent(
        self, intent_id: str, *, payment_method: str, idempotency_key: str
    ) -> Intent: ...

    def retrieve_intent(self, intent_id: str) -> Intent: ...

    def cancel_intent(self, intent_id: str, *, idempotency_key: str) -> Intent: ...

    def verify_event(self, payload: str, signature: str | None) -> GatewayEvent: ...


@lru_cache(maxsize=1)
def gateway() -> Gateway:
    """This execution environment's gateway, with its keys (made on first use)."""
    from functions.payment.stripe_gateway import StripeGateway, keys

    return StripeGateway(*keys())


def reset_gateway() -> None:
    """Forget the gateway (tests and the local runtime change its settings)."""
    gateway.cache_clear()
