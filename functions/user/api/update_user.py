"""PATCH /users/{userId}: activate or suspend a user (admin)."""

import uuid

from functions.user import use_cases
from functions.user.models import UpdateUser, User
from functions.user.service import SERVICE
from lms_platform.http import current_principal

api = SERVICE.endpoint(__name__)


@api.handle
def update_user(user_id: uuid.UUID, body: UpdateUser) -> User:
    caller = current_principal()
    use_cases.require_admin(caller)
    return use_cases.set_status(caller, user_id, body.status)


handler = api.handler
