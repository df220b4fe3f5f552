"""PATCH /organizations/{organizationId}: rename, re-slug or change settings (admin)."""

import uuid

from functions.user import use_cases
from functions.user.models import Organization, UpdateOrganization
from functions.user.service import SERVICE
from lms_platform.http import current_principal

api = SERVICE.endpoint(__name__)


@api.handle
def update_organization(organization_id: uuid.UUID, body: UpdateOrganization) -> Organization:
    use_cases.require_admin(current_principal())
    return use_cases.update_organization(organization_id, body)


handler = api.handler
