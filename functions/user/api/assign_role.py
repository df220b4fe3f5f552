"""PUT /users/{userId}/roles/{role}: give a user a role (admin; a repeat changes nothing)."""

import uuid

from functions.user import use_cases
from functions.user.models import Role, User
from functions.user.service import SERVICE
from lms_platform.http import current_principal

api = SERVICE.endpoint(__name__)


@api.handle
def assign_role(user_id: uuid.UUID, role: Role) -> User:
    caller = current_principal()
    use_cases.require_admin(caller)
    return use_cases.assign_role(caller, user_id, role)


handler = api.handler
