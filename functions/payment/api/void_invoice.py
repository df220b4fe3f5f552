"""POST /invoices/{invoiceId}/void: its user (while OPEN) or an admin voids an invoice."""

import uuid

from functions.payment import use_cases
from functions.payment.models import Invoice
from functions.payment.service import SERVICE
from lms_platform.http import current_principal

api = SERVICE.endpoint(__name__)


@api.handle
def void_invoice(invoice_id: uuid.UUID) -> Invoice:
    return use_cases.void_invoice(current_principal(), invoice_id)


handler = api.handler
