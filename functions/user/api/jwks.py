"""GET /.well-known/jwks.json: the public keys that verify access tokens."""

from typing import Any

from aws_lambda_powertools.event_handler import Response

from functions.user.service import SERVICE
from lms_platform import auth

api = SERVICE.endpoint(__name__)


@api.handle
def jwks() -> Response[dict[str, Any]]:
    return Response(
        status_code=200,
        content_type="application/json",
        body=auth.jwks(),
        headers={"Cache-Control": "public, max-age=300"},
    )


handler = api.handler
