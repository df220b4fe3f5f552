"""POST /organizations: a new organization with a unique slug (admin)."""

from functions.user import use_cases
from functions.user.models import CreateOrganization, Organization
from functions.user.service import SERVICE
from lms_platform.http import current_principal

api = SERVICE.endpoint(__name__)


@api.handle
def create_organization(body: CreateOrganization) -> Organization:
    use_cases.require_admin(current_principal())
    return use_cases.create_organization(body)


handler = api.handler
