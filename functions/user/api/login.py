"""POST /auth/login: tokens for a right email and password (429 while locked out)."""

from functions.user import throttling, use_cases
from functions.user.models import Login, Tokens

api = throttling.endpoint(__name__)


@api.handle
def login(body: Login) -> Tokens:
    return use_cases.login(body.email, body.password, address=throttling.source_address(api))


handler = api.handler
