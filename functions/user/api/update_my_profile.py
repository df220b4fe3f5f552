"""PATCH /me/profile: change the caller's display name, avatar or bio."""

from functions.user import use_cases
from functions.user.models import UpdateProfile, User
from functions.user.service import SERVICE
from lms_platform.http import current_principal

api = SERVICE.endpoint(__name__)


@api.handle
def update_my_profile(body: UpdateProfile) -> User:
    return use_cases.update_profile(current_principal(), body)


handler = api.handler
