"""POST /payments/webhook: the gateway's events, signed (public: the signature is the
authentication). 200 when applied, a repeat, or a type not acted on; 400 when the
signature or its timestamp does not verify (the gateway then retries)."""

from typing import Annotated

from functions.payment import use_cases
from functions.payment.service import SERVICE
from lms_platform.http import Header, RawBody

api = SERVICE.endpoint(__name__)


@api.handle
def payment_webhook(
    payload: Annotated[str, RawBody()],
    stripe_signature: Annotated[str | None, Header("Stripe-Signature", max_length=4096)] = None,
) -> dict[str, str]:
    return use_cases.receive_webhook(payload, stripe_signature)


handler = api.handler
