"""POST /auth/logout: end the session of a refresh token (204 whatever the token)."""

from functions.user import use_cases
from functions.user.models import Logout
from functions.user.service import SERVICE

api = SERVICE.endpoint(__name__)


@api.handle
def logout(body: Logout) -> None:
    use_cases.logout(body.refresh_token)


handler = api.handler
