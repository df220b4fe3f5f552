"""POST /auth/register: a new student account with its profile."""

from functions.user import use_cases
from functions.user.models import RegisterUser, User
from functions.user.service import SERVICE

api = SERVICE.endpoint(__name__)


@api.handle
def register(body: RegisterUser) -> User:
    return use_cases.register(body)


handler = api.handler
