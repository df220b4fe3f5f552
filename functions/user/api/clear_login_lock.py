"""DELETE /users/{userId}/login-lock: lift a user's lock after failed logins (admin)."""

import uuid

from functions.user import use_cases
from functions.user.service import SERVICE
from lms_platform.http import current_principal

api = SERVICE.endpoint(__name__)


@api.handle
def clear_login_lock(user_id: uuid.UUID) -> None:
    use_cases.require_admin(current_principal())
    use_cases.clear_login_lock(user_id)


handler = api.handler
