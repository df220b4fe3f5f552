"""POST /auth/login: an access token for a right email and password."""

from functions.user import use_cases
from functions.user.models import AccessToken, Login
from functions.user.service import SERVICE

api = SERVICE.endpoint(__name__)


@api.handle
def login(body: Login) -> AccessToken:
    return use_cases.login(body.email, body.password)


handler = api.handler
