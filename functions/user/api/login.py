"""POST /auth/login: tokens for a right email and password (429 while locked out)."""

from functions.user import lockout, use_cases
from functions.user.models import Login, Tokens
from functions.user.service import SERVICE
from lms_platform.http import current_request

api = SERVICE.endpoint(__name__)


@api.handle
def login(body: Login) -> Tokens:
    return use_cases.login(
        body.email, body.password, address=lockout.address_key(current_request().source_ip)
    )


handler = api.handler
