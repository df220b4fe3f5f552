"""POST /auth/register: a new student account with its profile."""

from functions.user import lockout, use_cases
from functions.user.models import RegisterUser, User
from functions.user.service import SERVICE
from lms_platform.http import current_request

api = SERVICE.endpoint(__name__)


@api.handle
def register(body: RegisterUser) -> User:
    return use_cases.register(body, address=lockout.address_key(current_request().source_ip))


handler = api.handler
