"""POST /auth/register: a new student account with its profile."""

from functions.user import throttling, use_cases
from functions.user.models import RegisterUser, User

api = throttling.endpoint(__name__)


@api.handle
def register(body: RegisterUser) -> User:
    return use_cases.register(body, address=throttling.source_address(api))


handler = api.handler
