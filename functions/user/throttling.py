"""What the User service's handlers need from a request beyond the platform's endpoint:
the caller's source address (attempts are counted against it) and 429 answers that say
when to come back (``Retry-After``).

Both reach into the raw exchange, which the platform does not expose yet; they live here,
in one place, so that moving them into the platform changes this module alone.
"""

from __future__ import annotations

from typing import Any

from aws_lambda_powertools.event_handler import Response

from functions.user import lockout
from functions.user.service import SERVICE
from functions.user.use_cases import TooManyAttempts
from lms_platform.http import Endpoint, problem_response


def endpoint(module_name: str) -> Endpoint:
    """``SERVICE.endpoint(module_name)`` whose 429 answers carry ``Retry-After``."""
    api = SERVICE.endpoint(module_name)

    @api.app.exception_handler(TooManyAttempts)  # type: ignore[untyped-decorator]
    def _too_many(error: TooManyAttempts) -> Response[str]:
        response = problem_response(error.status, error.title, error.detail)
        response.headers["Retry-After"] = str(error.retry_after)
        return response

    return api


def source_address(api: Endpoint) -> str:
    """The address the request came from (API Gateway's ``requestContext.http.sourceIp``),
    as lockout counts it."""
    event: dict[str, Any] = api.app.current_event.raw_event
    http = (event.get("requestContext") or {}).get("http") or {}
    return lockout.address_key(http.get("sourceIp"))
