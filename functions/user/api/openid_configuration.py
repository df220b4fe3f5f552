"""GET /.well-known/openid-configuration: where the issuer's keys are (for JWT authorizers)."""

from functions.user.service import SERVICE
from lms_platform import auth
from lms_platform.http import Response

api = SERVICE.endpoint(__name__)


@api.handle
def openid_configuration() -> Response:
    return Response(
        status_code=200,
        content_type="application/json",
        body=auth.openid_configuration(),
        headers={"Cache-Control": "public, max-age=300"},
    )


handler = api.handler
