"""GET /invoices/{invoiceId}: one invoice and its payments (its user, admins)."""

import uuid

from functions.payment import use_cases
from functions.payment.models import InvoiceDetail
from functions.payment.service import SERVICE
from lms_platform.http import current_principal

api = SERVICE.endpoint(__name__)


@api.handle
def get_invoice(invoice_id: uuid.UUID) -> InvoiceDetail:
    return use_cases.get_invoice(current_principal(), invoice_id)


handler = api.handler
