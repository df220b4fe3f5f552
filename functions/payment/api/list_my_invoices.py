"""GET /me/invoices: the caller's invoices, newest first, optionally by status."""

from typing import Annotated

from functions.payment import use_cases
from functions.payment.models import InvoicePage, InvoiceStatus
from functions.payment.service import SERVICE
from lms_platform.http import Query, current_principal
from lms_platform.pagination import DEFAULT_LIMIT, CursorParam, Limit

api = SERVICE.endpoint(__name__)


@api.handle
def list_my_invoices(
    limit: Limit = DEFAULT_LIMIT,
    cursor: CursorParam = None,
    status: Annotated[InvoiceStatus | None, Query()] = None,
) -> InvoicePage:
    return use_cases.my_invoices(current_principal(), status=status, limit=limit, cursor=cursor)


handler = api.handler
