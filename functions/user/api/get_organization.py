"""GET /organizations/{organizationId}: one organization (admin)."""

import uuid

from functions.user import use_cases
from functions.user.models import Organization
from functions.user.service import SERVICE
from lms_platform.http import current_principal

api = SERVICE.endpoint(__name__)


@api.handle
def get_organization(organization_id: uuid.UUID) -> Organization:
    use_cases.require_admin(current_principal())
    return use_cases.get_organization(organization_id)


handler = api.handler
