"""POST /me/password: a new password; every other session ends (429 while locked out)."""

from functions.user import throttling, use_cases
from functions.user.models import ChangePassword, Tokens
from lms_platform.http import current_principal

api = throttling.endpoint(__name__)


@api.handle
def change_password(body: ChangePassword) -> Tokens:
    return use_cases.change_password(
        current_principal(),
        body.current_password,
        body.new_password,
        address=throttling.source_address(api),
    )


handler = api.handler
