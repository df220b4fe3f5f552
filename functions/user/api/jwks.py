"""GET /.well-known/jwks.json: the public keys that verify access tokens."""

from functions.user.service import SERVICE
from lms_platform import auth
from lms_platform.http import Response

api = SERVICE.endpoint(__name__)


@api.handle
def jwks() -> Response:
    return Response(
        status_code=200,
        content_type="application/json",
        body=auth.jwks(),
        headers={"Cache-Control": "public, max-age=300"},
    )


handler = api.handler
