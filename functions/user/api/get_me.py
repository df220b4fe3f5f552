"""GET /me: the caller's account, profile and roles."""

from functions.user import use_cases
from functions.user.models import User
from functions.user.service import SERVICE
from lms_platform.http import current_principal

api = SERVICE.endpoint(__name__)


@api.handle
def get_me() -> User:
    return use_cases.me(current_principal())


handler = api.handler
