"""GET /organizations: organizations in creation order, an offset page at a time (admin)."""

from typing import Annotated

from functions.user import use_cases
from functions.user.models import OrganizationPage
from functions.user.service import SERVICE
from lms_platform.http import Query, current_principal

api = SERVICE.endpoint(__name__)


@api.handle
def list_organizations(
    limit: Annotated[int, Query(ge=1, le=use_cases.MAX_PAGE_SIZE)] = 20,
    offset: Annotated[int, Query(ge=0, le=use_cases.MAX_OFFSET)] = 0,
) -> OrganizationPage:
    use_cases.require_admin(current_principal())
    return use_cases.list_organizations(limit=limit, offset=offset)


handler = api.handler
