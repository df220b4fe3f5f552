"""POST /invoices/{invoiceId}/payments: pay an invoice once, whatever the retries.

The answer is kept for the ``Idempotency-Key`` and replayed (``Idempotent-Replayed:
true``) to a retry of the same request; see ``functions.payment.idempotency``.
"""

import uuid

from functions.payment import use_cases
from functions.payment.idempotency import IdempotencyKey
from functions.payment.models import PayInvoice
from functions.payment.service import SERVICE
from lms_platform.http import Response, current_principal

api = SERVICE.endpoint(__name__)


@api.handle
def pay_invoice(
    invoice_id: uuid.UUID, idempotency_key: IdempotencyKey, body: PayInvoice
) -> Response:
    return use_cases.pay(current_principal(), invoice_id, idempotency_key, body)


handler = api.handler
