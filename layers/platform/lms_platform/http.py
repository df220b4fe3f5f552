"""HTTP for every service: one resolver set-up, problem documents, the caller's principal.

A route is declared once, in its service (``functions/<service>/service.py``); the use
case's module binds to that declaration with ``SERVICE.endpoint(__name__)`` and decorates
its function with ``@api.handle``. The CDK app, the local gateway and the OpenAPI
document read the same declarations.
"""

from __future__ import annotations

import base64
import json
import logging
import re
import uuid
from collections.abc import Callable
from contextvars import ContextVar
from dataclasses import dataclass, field
from http import HTTPStatus
from typing import TYPE_CHECKING, Any, TypeVar

from aws_lambda_powertools.event_handler import APIGatewayHttpResolver, Response
from aws_lambda_powertools.event_handler.openapi.exceptions import RequestValidationError
from pydantic import BaseModel, ConfigDict, field_validator
from pydantic.alias_generators import to_camel

from lms_platform import context
from lms_platform.settings import get_settings

if TYPE_CHECKING:
    from lms_platform.service import Route

logger = logging.getLogger("lms.http")

PROBLEM_JSON = "application/problem+json"
F = TypeVar("F", bound=Callable[..., Any])


class ApiModel(BaseModel):
    """Request and response bodies: camelCase on the wire, unknown fields refused."""

    model_config = ConfigDict(
        alias_generator=to_camel, populate_by_name=True, extra="forbid", str_strip_whitespace=True
    )

    @field_validator("*", mode="before")
    @classmethod
    def _refuse_nul(cls, value: Any) -> Any:
        # PostgreSQL text and jsonb cannot hold U+0000 ("\u0000" is valid JSON): refused
        # here as bad input rather than met as a database error, which would be a 500.
        if _holds_nul(value):
            raise ValueError("must not contain the NUL character (U+0000)")
        return value


def _holds_nul(value: Any) -> bool:
    if isinstance(value, str):
        return "\x00" in value
    if isinstance(value, dict):
        return any(_holds_nul(k) or _holds_nul(v) for k, v in value.items())
    if isinstance(value, list | tuple):
        return any(_holds_nul(item) for item in value)
    return False


# --- errors -------------------------------------------------------------------------------


class Problem(Exception):
    """An error a caller should see, as an RFC 9457 problem document."""

    status: int = 400
    title: str = "Bad request"

    def __init__(self, detail: str | None = None, **extensions: Any) -> None:
        super().__init__(detail or self.title)
        self.detail = detail
        self.extensions = extensions


class BadRequest(Problem):
    status, title = 400, "Bad request"


class Unauthorized(Problem):
    status, title = 401, "Unauthorized"


class Forbidden(Problem):
    status, title = 403, "Forbidden"


class NotFound(Problem):
    status, title = 404, "Not found"


class Conflict(Problem):
    status, title = 409, "Conflict"


class PayloadTooLarge(Problem):
    status, title = 413, "Payload too large"


def problem_response(
    status: int, title: str, detail: str | None = None, **extensions: Any
) -> Response[str]:
    body: dict[str, Any] = {"type": "about:blank", "title": title, "status": status}
    if detail:
        body["detail"] = detail
    body.update(extensions)
    return Response(status_code=status, content_type=PROBLEM_JSON, body=json.dumps(body))


def _field_errors(error: RequestValidationError) -> list[dict[str, Any]]:
    return [
        {
            "location": [str(part) for part in e.get("loc", ())],
            "message": e.get("msg", ""),
            "type": e.get("type", ""),
        }
        for e in error.errors()
    ]


# --- the caller ---------------------------------------------------------------------------


@dataclass(frozen=True)
class Principal:
    """The caller, from the claims of a token the gateway has verified."""

    user_id: uuid.UUID
    roles: frozenset[str] = field(default_factory=frozenset)
    email: str | None = None

    def has_role(self, role: str) -> bool:
        return role in self.roles

    @property
    def is_admin(self) -> bool:
        return "ADMIN" in self.roles


_principal: ContextVar[Principal | None] = ContextVar("principal", default=None)


def principal_from_claims(claims: dict[str, Any] | None) -> Principal | None:
    if not claims or not claims.get("sub"):
        return None
    try:
        user_id = uuid.UUID(str(claims["sub"]))
    except ValueError:
        return None
    raw = claims.get("roles", "")
    # API Gateway hands every claim to the function as a string; roles travel as a
    # space-separated list (like OAuth's ``scope``) so the string is also the value.
    roles = raw.split() if isinstance(raw, str) else [str(r) for r in raw]
    email = claims.get("email")
    return Principal(user_id=user_id, roles=frozenset(roles), email=str(email) if email else None)


def current_principal() -> Principal:
    """The authenticated caller, or 401 when the request carries no verified identity."""
    found = _principal.get()
    if found is None:
        raise Unauthorized("this operation needs a valid bearer token")
    return found


def require_role(*roles: str) -> Principal:
    caller = current_principal()
    if not caller.roles.intersection(roles):
        raise Forbidden(f"this operation needs one of the roles: {', '.join(roles)}")
    return caller


# --- the resolver -------------------------------------------------------------------------


def make_resolver() -> APIGatewayHttpResolver:
    """The resolver every service uses: validation on, every error a problem document."""
    app = APIGatewayHttpResolver(enable_validation=True)

    @app.exception_handler(RequestValidationError)  # type: ignore[untyped-decorator]
    def _invalid(error: RequestValidationError) -> Response[str]:
        errors = _field_errors(error)
        if any(e["type"] == "json_invalid" for e in errors):
            return problem_response(400, "Malformed JSON", "the request body is not valid JSON")
        return problem_response(
            422, "Invalid request", "the request does not match the expected shape", errors=errors
        )

    @app.exception_handler(Problem)  # type: ignore[untyped-decorator]
    def _problem(error: Problem) -> Response[str]:
        return problem_response(error.status, error.title, error.detail, **error.extensions)

    @app.not_found
    def _no_route(_: Exception) -> Response[str]:
        return problem_response(404, "Not found", "no such route")

    @app.exception_handler(Exception)  # type: ignore[untyped-decorator]
    def _unexpected(error: Exception) -> Response[str]:
        logger.exception("unhandled error")
        return problem_response(500, "Internal server error")

    return app


def powertools_rule(path: str) -> str:
    """``/users/{userId}`` (API Gateway) as ``/users/<user_id>`` (powertools)."""
    return re.sub(
        r"\{(\w+)\}", lambda m: "<" + re.sub(r"(?<!^)([A-Z])", r"_\1", m[1]).lower() + ">", path
    )


class Endpoint:
    """One route bound to the one function that serves it, and its Lambda entry point."""

    def __init__(self, route: Route) -> None:
        self.route = route
        self.app = make_resolver()
        self.function: Callable[..., Any] | None = None

    def handle(self, function: F) -> F:
        self.function = function
        register_route(self.app, self.route, function)
        return function

    def handler(self, event: dict[str, Any], lambda_context: Any) -> dict[str, Any]:
        """The Lambda handler: size limit, principal and correlation id, then the route."""
        refused = _unreadable_body(event) or _body_too_large(event)
        if refused is not None:
            return refused
        request = event.get("requestContext") or {}
        claims = ((request.get("authorizer") or {}).get("jwt") or {}).get("claims")
        headers = {k.lower(): v for k, v in (event.get("headers") or {}).items()}
        correlation = headers.get("x-correlation-id") or request.get("requestId")
        principal_token = _principal.set(principal_from_claims(claims))
        correlation_token = context.correlation_id.set(correlation or str(uuid.uuid4()))
        try:
            result: dict[str, Any] = self.app.resolve(event, lambda_context)
            return result
        finally:
            _principal.reset(principal_token)
            context.correlation_id.reset(correlation_token)


def register_route(app: APIGatewayHttpResolver, route: Route, function: Callable[..., Any]) -> None:
    app.route(
        rule=powertools_rule(route.path),
        method=route.method,
        summary=route.summary or None,
        tags=[route.service],
        operation_id=route.name,
        status_code=route.status,
        security=None if route.public else [{"bearerAuth": []}],
    )(function)


def _unreadable_body(event: dict[str, Any]) -> dict[str, Any] | None:
    """A 400 for a body that is not UTF-8 text: API Gateway base64-encodes bytes that are
    not, and decoding them inside the resolver would fail as an unexpected error (500)."""
    body = event.get("body")
    if not body:
        return None
    try:
        if event.get("isBase64Encoded"):
            base64.b64decode(body.encode()).decode()  # as powertools will decode it
        else:
            body.encode()  # a lone surrogate cannot be encoded
    except ValueError:  # binascii.Error, UnicodeDecodeError and UnicodeEncodeError
        return {
            "statusCode": HTTPStatus.BAD_REQUEST,
            "headers": {"Content-Type": PROBLEM_JSON},
            "body": json.dumps(
                {
                    "type": "about:blank",
                    "title": "Malformed body",
                    "status": 400,
                    "detail": "the request body is not UTF-8 text",
                }
            ),
            "isBase64Encoded": False,
        }
    return None


def _body_too_large(event: dict[str, Any]) -> dict[str, Any] | None:
    body = event.get("body")
    if not body:
        return None
    limit = get_settings().max_body_bytes
    size = len(body) * 3 // 4 if event.get("isBase64Encoded") else len(body.encode())
    if size <= limit:
        return None
    return {
        "statusCode": HTTPStatus.REQUEST_ENTITY_TOO_LARGE,
        "headers": {"Content-Type": PROBLEM_JSON},
        "body": json.dumps(
            {
                "type": "about:blank",
                "title": "Payload too large",
                "status": 413,
                "detail": f"the request body is larger than {limit} bytes",
            }
        ),
        "isBase64Encoded": False,
    }


def decode_base64url(value: str) -> bytes:
    return base64.urlsafe_b64decode(value + "=" * (-len(value) % 4))


def encode_base64url(value: bytes) -> str:
    return base64.urlsafe_b64encode(value).rstrip(b"=").decode()
