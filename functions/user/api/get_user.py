"""GET /users/{userId}: one user (admin)."""

import uuid

from functions.user import use_cases
from functions.user.models import User
from functions.user.service import SERVICE
from lms_platform.http import current_principal

api = SERVICE.endpoint(__name__)


@api.handle
def get_user(user_id: uuid.UUID) -> User:
    use_cases.require_admin(current_principal())
    return use_cases.get_user(user_id)


handler = api.handler
