"""The gateway through Stripe's official library (``stripe``), against Stripe itself or,
locally, the gateway simulator of ``lms run`` (``stripe_api_base``).

Imported only by what talks to the gateway (paying, the webhook, reconciliation): the
library and the HTTP client it loads cost a cold start ~110 ms (``make bench``), which no
other function of the service pays.

Timeouts: a route function has 10 s; a payment makes at most two gateway calls, each
bounded here (connect, read) so that both fit. The library's own retries are off: a call
that got no answer is retried by the use case with the same idempotency key (the client's
retry, or the reconciliation job), which is what makes a retry safe.
"""

from __future__ import annotations

import json
from typing import Any

import stripe

from functions.payment.gateway import (
    GatewayEvent,
    GatewayRefused,
    GatewayUnavailable,
    Intent,
    InvalidSignature,
)
from lms_platform.settings import get_settings

CONNECT_TIMEOUT_SECONDS = 1.5
READ_TIMEOUT_SECONDS = 3.5
# Stripe's own recommendation and the rule: a signed webhook older than this is
# refused, so that a captured one cannot be replayed later.
WEBHOOK_TOLERANCE_SECONDS = 300
# Payment methods that never redirect the customer (cards): redirect-based ones would need
# a return URL at confirmation.
AUTOMATIC_PAYMENT_METHODS: Any = {"enabled": True, "allow_redirects": "never"}


def keys() -> tuple[str, str, str | None]:
    """(secret key, webhook signing secret, API base): the service's secret on AWS, the
    settings locally."""
    settings = get_settings()
    if settings.secret_stripe_arn:
        from lms_platform.secrets import secret_json

        secret = secret_json(settings.secret_stripe_arn)
        return str(secret["secretKey"]), str(secret["webhookSecret"]), settings.stripe_api_base
    if not (settings.stripe_secret_key and settings.stripe_webhook_secret):
        raise RuntimeError(
            "no payment gateway keys: set LMS_SECRET_STRIPE_ARN, or LMS_STRIPE_SECRET_KEY and "
            "LMS_STRIPE_WEBHOOK_SECRET"
        )
    return settings.stripe_secret_key, settings.stripe_webhook_secret, settings.stripe_api_base


class StripeGateway:
    def __init__(self, secret_key: str, webhook_secret: str, api_base: str | None = None):
        self._webhook_secret = webhook_secret
        self._client = stripe.StripeClient(
            secret_key,
            base_addresses={"api": api_base} if api_base else None,
            max_network_retries=0,
            # A kept session: the TLS connection to the gateway outlives the request.
            http_client=stripe.RequestsClient(
                timeout=(CONNECT_TIMEOUT_SECONDS, READ_TIMEOUT_SECONDS)
            ),
        )
        self._intents = self._client.v1.payment_intents

    def create_intent(
        self, *, amount: int, currency: str, metadata: dict[str, str], idempotency_key: str
    ) -> Intent:
        return _call(
            lambda: self._intents.create(
                params={
                    "amount": amount,
                    "currency": currency.lower(),
                    "metadata": metadata,
                    "automatic_payment_methods": AUTOMATIC_PAYMENT_METHODS,
                },
                options={"idempotency_key": idempotency_key},
            )
        )

    def confirm_intent(
        self, intent_id: str, *, payment_method: str, idempotency_key: str
    ) -> Intent:
        return _call(
            lambda: self._intents.confirm(
                intent_id,
                params={"payment_method": payment_method},
                options={"idempotency_key": idempotency_key},
            )
        )

    def retrieve_intent(self, intent_id: str) -> Intent:
        return _call(lambda: self._intents.retrieve(intent_id))

    def cancel_intent(self, intent_id: str, *, idempotency_key: str) -> Intent:
        return _call(
            lambda: self._intents.cancel(intent_id, options={"idempotency_key": idempotency_key})
        )

    def verify_event(self, payload: str, signature: str | None) -> GatewayEvent:
        try:
            stripe.WebhookSignature.verify_header(
                payload, signature, self._webhook_secret, WEBHOOK_TOLERANCE_SECONDS
            )
        except stripe.SignatureVerificationError as error:
            raise InvalidSignature(str(error)) from None
        try:
            event = json.loads(payload)
            data = event["data"]["object"]
            return GatewayEvent(
                id=str(event["id"]),
                type=str(event["type"]),
                created=int(event.get("created") or 0),
                object=data if isinstance(data, dict) else {},
            )
        except (ValueError, KeyError, TypeError):
            raise InvalidSignature("a signed payload that is not an event") from None


def _call(request: Any) -> Intent:
    try:
        found = request()
    except stripe.CardError as error:
        # A decline: the intent, as it now stands, travels with the error.
        json_body: Any = error.json_body or {}
        body = json_body.get("error") or {}
        intent = body.get("payment_intent")
        if not isinstance(intent, dict):
            raise GatewayRefused(str(error), code=error.code, status=error.http_status) from None
        intent.setdefault("last_payment_error", body)
        return Intent.from_object(intent)
    except (stripe.APIConnectionError, stripe.RateLimitError, stripe.APIError) as error:
        raise GatewayUnavailable(type(error).__name__) from None
    except stripe.IdempotencyError as error:
        # The same key in use by a request still running at the gateway (409); a key reused
        # with other parameters (400) cannot happen: keys are derived from the payment.
        raise GatewayUnavailable(f"idempotency: {error}") from None
    except stripe.AuthenticationError as error:
        raise GatewayUnavailable(f"the gateway refused our key: {error}") from None
    except stripe.StripeError as error:
        raise GatewayRefused(str(error), code=error.code, status=error.http_status) from None
    return Intent.from_object(found.to_dict())
