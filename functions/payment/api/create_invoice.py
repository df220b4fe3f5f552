"""POST /invoices: an OPEN invoice of a plan for the caller."""

from functions.payment import use_cases
from functions.payment.models import CreateInvoice, Invoice
from functions.payment.service import SERVICE
from lms_platform.http import current_principal

api = SERVICE.endpoint(__name__)


@api.handle
def create_invoice(body: CreateInvoice) -> Invoice:
    return use_cases.create_invoice(current_principal(), body)


handler = api.handler
