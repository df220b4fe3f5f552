"""POST /auth/logout: end the session of a refresh token (204 whatever the token)."""

from aws_lambda_powertools.event_handler import Response

from functions.user import use_cases
from functions.user.models import Logout
from functions.user.service import SERVICE

api = SERVICE.endpoint(__name__)


@api.handle
def logout(body: Logout) -> Response[None]:
    use_cases.logout(body.refresh_token)
    return Response(status_code=204)


handler = api.handler
