"""POST /me/password: a new password; every other session ends (429 while locked out)."""

from functions.user import lockout, use_cases
from functions.user.models import ChangePassword, Tokens
from functions.user.service import SERVICE
from lms_platform.http import current_principal, current_request

api = SERVICE.endpoint(__name__)


@api.handle
def change_password(body: ChangePassword) -> Tokens:
    return use_cases.change_password(
        current_principal(),
        body.current_password,
        body.new_password,
        address=lockout.address_key(current_request().source_ip),
    )


handler = api.handler
