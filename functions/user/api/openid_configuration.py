"""GET /.well-known/openid-configuration: where the issuer's keys are (for JWT authorizers)."""

from typing import Any

from aws_lambda_powertools.event_handler import Response

from functions.user.service import SERVICE
from lms_platform import auth

api = SERVICE.endpoint(__name__)


@api.handle
def openid_configuration() -> Response[dict[str, Any]]:
    return Response(
        status_code=200,
        content_type="application/json",
        body=auth.openid_configuration(),
        headers={"Cache-Control": "public, max-age=300"},
    )


handler = api.handler
