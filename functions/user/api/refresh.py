"""POST /auth/refresh: the session's next tokens for its current refresh token."""

from functions.user import use_cases
from functions.user.models import Refresh, Tokens
from functions.user.service import SERVICE

api = SERVICE.endpoint(__name__)


@api.handle
def refresh(body: Refresh) -> Tokens:
    return use_cases.refresh(body.refresh_token)


handler = api.handler
