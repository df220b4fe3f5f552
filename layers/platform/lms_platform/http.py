"""HTTP for every service: the request path of a route's function, problem documents, the
caller's principal.

A route is declared once, in its service (``functions/<service>/service.py``); the use
case's module binds to that declaration with ``SERVICE.endpoint(__name__)`` and decorates
its function with ``@api.handle``. The CDK app, the local gateway and the OpenAPI document
read the same declarations.

Each function serves exactly one route, so nothing here routes: API Gateway already has.
What the function's signature asks for is bound from the API Gateway v2 event once per
call -- path and query parameters by their API names (``userId``), validated by one
pydantic model built when the module is imported; the body, a pydantic model, parsed and
validated from the JSON text by pydantic itself -- and the result is serialized as its
declared type. Why not Powertools' ``APIGatewayHttpResolver``: importing it and its OpenAPI
machinery cost ~100 ms of every cold start and its per-request routing, event wrappers,
revalidation and JSON encoding ~100 us of CPU per warm request; together they broke the
budget of DESIGN.md §8 (3x the floor) once every function also logged a line per request
(``make bench`` prints both). The OpenAPI document is still made by Powertools, from the
same signatures (``lms_platform.openapi``), off the request path.
"""

from __future__ import annotations

import base64
import inspect
import json
import logging
import math
import re
import sys
import typing
import urllib.parse
import uuid
from collections.abc import Callable, Iterable
from contextvars import ContextVar
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Annotated, Any, TypeVar

from pydantic import (
    AfterValidator,
    BaseModel,
    ConfigDict,
    Field,
    TypeAdapter,
    ValidationError,
    WithJsonSchema,
    create_model,
)
from pydantic.alias_generators import to_camel
from pydantic_core import PydanticCustomError

from lms_platform import context, observability
from lms_platform.errors import Unavailable
from lms_platform.paths import PathTemplate
from lms_platform.settings import get_settings

if TYPE_CHECKING:
    from lms_platform.service import Route

PROBLEM_JSON = "application/problem+json"
JSON = "application/json"
F = TypeVar("F", bound=Callable[..., Any])


class ApiModel(BaseModel):
    """Request and response bodies: camelCase on the wire, unknown fields refused.

    A request body is validated strictly (``Binder``): a number must be a JSON number and a
    boolean a JSON boolean. JSON has one kind of number, though, and JSON Schema calls 7.0
    an integer, so a whole number written with a fraction is taken where an integer is.
    Text is taken as sent, never trimmed: what the API document says is valid (a length, a
    pattern) is what the API accepts.
    """

    model_config = ConfigDict(alias_generator=to_camel, populate_by_name=True, extra="forbid")


# Free-form JSON (an organization's settings ...) is bounded like everything else a caller
# sends: PostgreSQL's jsonb, Python's json module and every client must be able to hold it.
JSON_MAX_DEPTH = 32
JSON_MAX_VALUES = 10_000
_LARGEST_NUMBER = int(sys.float_info.max)  # what a JSON parser that reads doubles can hold


def _bounded_json(value: dict[str, Any]) -> dict[str, Any]:
    count = 0
    stack: list[tuple[Any, int]] = [(value, 1)]
    while stack:
        item, depth = stack.pop()
        count += 1
        if count > JSON_MAX_VALUES:
            raise PydanticCustomError(
                "json_too_large", "holds more than {limit} values", {"limit": JSON_MAX_VALUES}
            )
        if isinstance(item, dict | list):
            if depth > JSON_MAX_DEPTH:
                raise PydanticCustomError(
                    "json_too_deep",
                    "is nested deeper than {limit} levels",
                    {"limit": JSON_MAX_DEPTH},
                )
            if isinstance(item, dict):
                for key, inner in item.items():
                    _json_text(key)
                    stack.append((inner, depth + 1))
            else:
                stack.extend((inner, depth + 1) for inner in item)
        elif isinstance(item, str):
            _json_text(item)
        elif isinstance(item, bool) or item is None:
            continue
        elif isinstance(item, int):
            if abs(item) > _LARGEST_NUMBER:
                raise PydanticCustomError("json_number", "holds a number too large for JSON")
        elif isinstance(item, float):
            if not math.isfinite(item):  # NaN, Infinity, or 1e400 read as Infinity
                raise PydanticCustomError("json_number", "holds a number that is not finite")
        else:
            raise PydanticCustomError("json_type", "holds a value that is not JSON")
    return value


def _json_text(text: str) -> None:
    if "\x00" in text:
        raise PydanticCustomError("json_text", "holds text with U+0000 (NUL)")
    if not text.isascii():
        try:
            text.encode()
        except UnicodeEncodeError:
            raise PydanticCustomError("json_text", "holds text that is not Unicode") from None


JsonObject = Annotated[
    dict[str, Any],
    AfterValidator(_bounded_json),
    WithJsonSchema(
        {
            "type": "object",
            "additionalProperties": True,
            "description": (
                f"Free-form JSON: at most {JSON_MAX_DEPTH} levels deep and {JSON_MAX_VALUES:,} "
                "values, finite numbers, text without U+0000."
            ),
        }
    ),
]
"""A JSON object of a caller's choosing, bounded in depth and size, with finite numbers and
text PostgreSQL can store. Every free-form JSON field of a body is one."""


# --- parameters -------------------------------------------------------------------------------


@dataclass(frozen=True)
class Param:
    """Where a handler argument comes from (``in``) and its constraints, as pydantic's
    ``Field`` takes them: ``Annotated[int, Query(ge=1, le=100)]``."""

    location: str  # "query" | "path" | "header" | "raw_body"
    constraints: tuple[tuple[str, Any], ...] = ()
    # A header's name on the wire (``Idempotency-Key``); matched without regard to case.
    name: str | None = None

    @property
    def kwargs(self) -> dict[str, Any]:
        return dict(self.constraints)


def Query(name: str | None = None, **constraints: Any) -> Any:
    """A query parameter: named like the argument in camelCase, or by ``name`` (a word
    Python keeps for itself: ``from_: Annotated[str, Query("from")]``)."""
    return Param("query", tuple(sorted(constraints.items())), name)


def Path(**constraints: Any) -> Any:
    return Param("path", tuple(sorted(constraints.items())))


def Header(name: str | None = None, **constraints: Any) -> Any:
    """A request header: by its name (``Header("Idempotency-Key")``), or named like the
    argument with hyphens (``idempotency_key`` is ``Idempotency-Key``). API Gateway passes
    header names in lower case; the name is matched without regard to case, and a header
    that is missing where the argument has no default is a 422 naming it."""
    return Param("header", tuple(sorted(constraints.items())), name)


def RawBody() -> Any:
    """The request body as the exact text the client sent (``Annotated[str, RawBody()]``),
    neither parsed nor validated: for a signature computed over the bytes (webhooks). An
    empty body is the empty string."""
    return Param("raw_body")


@dataclass
class Response:
    """A handler's answer when a model is not enough: a status, headers, a JSON body."""

    status_code: int = 200
    body: Any = None
    headers: dict[str, str] = field(default_factory=dict)
    content_type: str = "application/json"


# --- errors -------------------------------------------------------------------------------------


class Problem(Exception):
    """An error a caller should see, as an RFC 9457 problem document."""

    status: int = 400
    title: str = "Bad request"
    headers: dict[str, str] = {}  # noqa: RUF012 (read-only class default)

    def __init__(self, detail: str | None = None, **extensions: Any) -> None:
        super().__init__(detail or self.title)
        self.detail = detail
        self.extensions = extensions


class BadRequest(Problem):
    status, title = 400, "Bad request"


class MalformedJson(BadRequest):
    title = "Malformed JSON"


class MalformedBody(BadRequest):
    title = "Malformed body"


class Unauthorized(Problem):
    status, title = 401, "Unauthorized"


class Forbidden(Problem):
    status, title = 403, "Forbidden"


class NotFound(Problem):
    status, title = 404, "Not found"


class Conflict(Problem):
    status, title = 409, "Conflict"


class MethodNotAllowed(Problem):
    status, title = 405, "Method not allowed"

    def __init__(self, detail: str | None = None, *, allow: str, **extensions: Any) -> None:
        super().__init__(detail, **extensions)
        self.headers = {"Allow": allow}


class PaymentRequired(Problem):
    """The payment was refused (a card declined: the reason travels as extension members,
    ``declineCode``), or what was asked needs a current subscription."""

    status, title = 402, "Payment required"


class PayloadTooLarge(Problem):
    status, title = 413, "Payload too large"


class UnsupportedMediaType(Problem):
    status, title = 415, "Unsupported media type"


class TooManyRequests(Problem):
    status, title = 429, "Too many requests"

    def __init__(self, detail: str | None = None, *, retry_after: int, **extensions: Any):
        super().__init__(detail, **extensions)
        self.headers = {"Retry-After": str(max(1, retry_after))}


class ServiceUnavailable(Problem):
    status, title = 503, "Service unavailable"

    def __init__(self, detail: str | None = None, *, retry_after: int = 1, **extensions: Any):
        super().__init__(detail, **extensions)
        self.headers = {"Retry-After": str(max(1, retry_after))}


def problem_body(status: int, title: str, detail: str | None = None, **extensions: Any) -> str:
    body: dict[str, Any] = {"type": "about:blank", "title": title, "status": status}
    if detail:
        body["detail"] = detail
    body.update(extensions)
    return json.dumps(body)


def problem_result(
    status: int,
    title: str,
    detail: str | None = None,
    *,
    headers: dict[str, str] | None = None,
    **extensions: Any,
) -> dict[str, Any]:
    """A problem document as the Lambda result API Gateway turns into the HTTP answer."""
    return {
        "statusCode": status,
        "headers": {"Content-Type": PROBLEM_JSON, **(headers or {})},
        "body": problem_body(status, title, detail, **extensions),
        "isBase64Encoded": False,
    }


class Invalid(Exception):
    """The request does not match what the handler takes: its field errors."""

    def __init__(self, errors: list[dict[str, Any]]) -> None:
        super().__init__("invalid request")
        self.errors = errors


def _field_errors(error: ValidationError, prefix: tuple[str, ...] = ()) -> list[dict[str, Any]]:
    return [
        {
            "location": [*prefix, *(str(part) for part in e.get("loc", ()))],
            "message": e.get("msg", ""),
            "type": e.get("type", ""),
        }
        for e in error.errors(include_url=False, include_context=False, include_input=False)
    ]


# --- the caller ---------------------------------------------------------------------------------


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


@dataclass(frozen=True)
class RequestInfo:
    """What a use case may need of the request beyond its parameters."""

    source_ip: str | None
    request_id: str | None


_request: ContextVar[RequestInfo | None] = ContextVar("request", default=None)


def current_request() -> RequestInfo:
    return _request.get() or RequestInfo(source_ip=None, request_id=None)


# --- binding a request to a handler --------------------------------------------------------------


def snake(name: str) -> str:
    return re.sub(r"(?<!^)([A-Z])", r"_\1", name).lower()


def powertools_rule(path: str) -> str:
    """``/users/{userId}`` (API Gateway) as ``/users/<user_id>`` (the handler's names)."""
    return re.sub(r"\{(\w+)\}", lambda m: "<" + snake(m[1]) + ">", path)


def _split_annotation(annotation: Any) -> tuple[Any, Param | None]:
    if typing.get_origin(annotation) is Annotated:
        base, *metadata = typing.get_args(annotation)
        markers = [m for m in metadata if isinstance(m, Param)]
        return base, markers[0] if markers else None
    return annotation, None


def _is_body(annotation: Any) -> bool:
    return isinstance(annotation, type) and issubclass(annotation, BaseModel)


@dataclass(frozen=True)
class _Parameter:
    name: str  # the handler's argument
    alias: str  # the API's name (userId, limit, Idempotency-Key)
    location: str  # "path" | "query" | "header"


class Binder:
    """Turns an API Gateway v2 event into the handler's arguments, and its result into the
    Lambda result. Built once per handler, at import."""

    def __init__(
        self, route: Route, function: Callable[..., Any], siblings: Iterable[Route] = ()
    ) -> None:
        self.route = route
        hints = typing.get_type_hints(function, include_extras=True)
        signature = inspect.signature(function)
        path_names = {snake(n): n for n in re.findall(r"\{(\w+)\}", route.path)}
        self.parameters: list[_Parameter] = []
        self.body_name: str | None = None
        self.body_model: type[BaseModel] | None = None
        self.raw_body_name: str | None = None
        fields: dict[str, Any] = {}
        for name, parameter in signature.parameters.items():
            annotation = hints.get(name, str)
            base, marker = _split_annotation(annotation)
            if marker is None and name not in path_names and _is_body(base):
                self.body_name, self.body_model = name, base
                continue
            if marker is not None and marker.location == "raw_body":
                self.raw_body_name = name
                continue
            location = "path" if name in path_names else (marker.location if marker else "query")
            if location == "header":
                named = marker.name if marker is not None else None
                alias = named or name.replace("_", "-")
            else:
                named = marker.name if marker is not None else None
                alias = path_names.get(name) or named or to_camel(name)
            constraints = marker.kwargs if marker else {}
            default = ... if parameter.default is inspect.Parameter.empty else parameter.default
            fields[name] = (base, Field(default, alias=alias, **constraints))
            self.parameters.append(_Parameter(name, alias, location))
        self.params_model: type[BaseModel] | None = (
            create_model(
                f"{function.__name__}_parameters",
                __config__=ConfigDict(extra="ignore"),
                **fields,
            )
            if fields
            else None
        )
        self._locations = {p.alias: p.location for p in self.parameters}
        self._has_headers = any(p.location == "header" for p in self.parameters)
        returned = hints.get("return", Any)
        self.returns_response = returned is Response or (
            isinstance(returned, type) and issubclass(returned, Response)
        )
        self.result_adapter: TypeAdapter[Any] | None = (
            None
            if self.returns_response or returned in (None, type(None))
            else TypeAdapter(returned)
        )
        template = PathTemplate(route.path)
        self._path = template.regex()
        # The service's routes whose literal segments win over this route's parameters
        # (``/courses/{courseId}/modules/order`` over ``.../modules/{moduleId}``). API
        # Gateway still sends this function a request for such a path when the literal
        # route lacks its method; the path answers only its own methods, so that is a 405.
        methods: dict[str, set[str]] = {}
        for sibling in siblings:
            methods.setdefault(sibling.path, set()).add(sibling.method)
        self._shadowed_by = [
            (PathTemplate(path).regex(), ", ".join(sorted(found)))
            for path, found in methods.items()
            if PathTemplate(path).shadows(template)
        ]

    @property
    def shadowed(self) -> bool:
        """Whether some paths this route matches belong to a more specific route (405)."""
        return bool(self._shadowed_by)

    @property
    def takes_input(self) -> bool:
        return self.params_model is not None or self.body_model is not None

    def matches(self, event: dict[str, Any]) -> re.Match[str] | None:
        return self._path.match(_request_path(event))

    def refuse(self, event: dict[str, Any]) -> Problem | None:
        """What is wrong with the request before its content is read: a path that belongs
        to another route (405), a body that is too large (413), not JSON (415) or not text
        (400). Before binding, and so before the use case decides who may do what."""
        if self._shadowed_by:
            path = _request_path(event)
            for pattern, allow in self._shadowed_by:
                if pattern.match(path):
                    return MethodNotAllowed(f"{path} allows {allow}", allow=allow)
        body = event.get("body")
        if not body:
            return None
        text = True
        if event.get("isBase64Encoded"):
            size = len(body) * 3 // 4
        else:
            try:
                size = len(body.encode())
            except UnicodeEncodeError:  # a lone surrogate
                size, text = len(body.encode("utf-8", "surrogatepass")), False
        limit = self.route.max_body_bytes or get_settings().max_body_bytes
        if size > limit:
            return PayloadTooLarge(f"the request body is larger than {limit} bytes")
        if self.body_model is None and self.raw_body_name is None:
            return None  # a route that takes no body ignores one
        content_type = (event.get("headers") or {}).get("content-type")
        if (
            self.body_model is not None
            and content_type is not None
            and content_type != JSON
            and not is_json(content_type)
        ):
            return UnsupportedMediaType(f"the request body must be {JSON} (in UTF-8)")
        if event.get("isBase64Encoded"):
            # API Gateway base64-encodes a body that is not UTF-8 text (or not of a text
            # type); decoding it later would fail as an unexpected error.
            try:
                base64.b64decode(body.encode(), validate=False).decode()
            except ValueError:  # binascii.Error and UnicodeDecodeError
                text = False
        if not text:
            return MalformedBody("the request body is not UTF-8 text")
        return None

    def bind(self, event: dict[str, Any], found: re.Match[str]) -> dict[str, Any]:
        arguments: dict[str, Any] = {}
        errors: list[dict[str, Any]] = []
        query = event.get("queryStringParameters") or {}
        if query:
            _refuse_unstorable_parameters(query, "query")
        if self.params_model is not None:
            path = event.get("pathParameters") or {
                k: urllib.parse.unquote(v) for k, v in found.groupdict().items()
            }
            _refuse_unstorable_parameters(path, "path")
            sources = {
                "path": path,
                "query": query,
                # Header names are case-insensitive (API Gateway passes them in lower case).
                "header": {str(k).lower(): v for k, v in (event.get("headers") or {}).items()},
            }
            raw = {
                p.alias: sources[p.location].get(
                    p.alias.lower() if p.location == "header" else p.alias
                )
                for p in self.parameters
            }
            raw = {k: v for k, v in raw.items() if v is not None}
            try:
                validated = self.params_model.model_validate(raw)
            except ValidationError as error:
                for e in _field_errors(error):
                    alias = e["location"][0] if e["location"] else ""
                    e["location"] = [self._locations.get(alias, "query"), *e["location"]]
                    errors.append(e)
            else:
                arguments.update({p.name: getattr(validated, p.name) for p in self.parameters})
        if self.body_model is not None:
            try:
                arguments[self.body_name or "body"] = self._body(event)
            except Invalid as invalid:
                errors.extend(invalid.errors)
        if self.raw_body_name is not None:
            arguments[self.raw_body_name] = _body_text(event)
        if errors:
            raise Invalid(errors)
        return arguments

    def _body(self, event: dict[str, Any]) -> BaseModel:
        assert self.body_model is not None
        text = _body_text(event)
        if not text.strip():
            raise Invalid([{"location": ["body"], "message": "a JSON body is required",
                            "type": "missing"}])  # fmt: skip
        if "\\u0000" in text:
            # PostgreSQL text and jsonb cannot hold U+0000 (valid JSON as "\u0000"):
            # refused as bad input, naming the field, rather than met as a database error.
            _refuse_nul(text)
        try:
            # Strict: a number is a JSON number and a boolean a JSON boolean ("7", true and
            # false are not 7, 1 and 0); in JSON mode ids, timestamps and decimals still come
            # as text. (No "before" validator may run on the fields: pydantic hands such a
            # validator a Python value and then judges it by Python's strict rules, where a
            # timestamp or a decimal given as text is refused.)
            return self.body_model.model_validate_json(text, strict=True)
        except ValidationError as error:
            if _whole_number_refused(error):
                # JSON Schema calls 7.0 an integer: taken where an integer is, once more
                # with whole numbers written as such (rare: the common path parses once).
                return self._body_whole(text)
            for e in error.errors(include_url=False, include_context=False, include_input=False):
                if e.get("type") == "json_invalid":
                    # The parser's reason and place ("recursion limit exceeded at line 1
                    # column 202"): JSON nested too deep or a number too long is refused
                    # here, whole, before any field is looked at.
                    reason = str(e.get("msg", "")).removeprefix("Invalid JSON: ")
                    raise MalformedJson(f"the request body is not valid JSON: {reason}") from None
            raise Invalid(_field_errors(error, ("body",))) from None

    def _body_whole(self, text: str) -> BaseModel:
        assert self.body_model is not None
        try:
            data = json.loads(text, parse_float=_whole_or_float)
            return self.body_model.model_validate_json(json.dumps(data), strict=True)
        except (ValueError, RecursionError) as error:
            if isinstance(error, ValidationError):
                raise Invalid(_field_errors(error, ("body",))) from None
            raise MalformedJson("the request body is not valid JSON") from None

    def result(self, value: Any) -> dict[str, Any]:
        route = self.route
        if isinstance(value, Response):
            body = value.body
            text = body if isinstance(body, str) else ("" if body is None else _dumps(body))
            return {
                "statusCode": value.status_code,
                "headers": {"Content-Type": value.content_type, **value.headers},
                "body": text,
                "isBase64Encoded": False,
            }
        if self.result_adapter is None:
            return {"statusCode": route.status, "headers": {}, "body": "", "isBase64Encoded": False}
        return {
            "statusCode": route.status,
            "headers": {"Content-Type": "application/json"},
            "body": self.result_adapter.dump_json(value, by_alias=True).decode(),
            "isBase64Encoded": False,
        }


def _request_path(event: dict[str, Any]) -> str:
    path = event.get("rawPath") or ((event.get("requestContext") or {}).get("http") or {}).get(
        "path", ""
    )
    return str(path)


def is_json(content_type: str) -> bool:
    """Whether a ``Content-Type`` names JSON: ``application/json`` or a ``+json`` type, in any
    letter case, in UTF-8 (the only encoding JSON has, RFC 8259) if a charset is named."""
    media, _, parameters = content_type.partition(";")
    media = media.strip().lower()
    if media != JSON and not (media.startswith("application/") and media.endswith("+json")):
        return False
    for parameter in parameters.split(";"):
        name, _, value = parameter.partition("=")
        if name.strip().lower() == "charset" and value.strip().strip('"').lower() not in (
            "utf-8",
            "utf8",
        ):
            return False
    return True


def _refuse_unstorable_parameters(values: dict[str, str], location: str) -> None:
    """PostgreSQL text can hold neither U+0000 nor a lone surrogate: refused as bad input,
    not met as a database error."""
    for name, value in values.items():
        if "\x00" in value or "\x00" in name:
            shown = f" {name}" if "\x00" not in name else ""
            raise BadRequest(f"the {location} parameter{shown} contains U+0000 (NUL)")
        if not value.isascii():
            try:
                value.encode()
            except UnicodeEncodeError:
                raise BadRequest(f"a {location} parameter is not Unicode text") from None


def _whole_number_refused(error: ValidationError) -> bool:
    return any(
        e.get("type") == "int_type"
        and type(e.get("input")) is float
        and float(e["input"]).is_integer()
        for e in error.errors(include_url=False, include_context=False)
    )


def _whole_or_float(text: str) -> float | int:
    value = float(text)
    return int(value) if value.is_integer() else value


def _body_text(event: dict[str, Any]) -> str:
    """The body as text (API Gateway base64-encodes what it does not take for text; a body
    that is not UTF-8 was refused with a 400 before binding)."""
    text = event.get("body") or ""
    if event.get("isBase64Encoded") and text:
        return base64.b64decode(text).decode()
    return str(text)


def _refuse_nul(text: str) -> None:
    try:
        data = json.loads(text)
    except (ValueError, RecursionError):
        return  # malformed: pydantic says so
    found = _nul_path(data, ())
    if found is not None:
        # Named by the body's field that holds it (a free-form object is one field).
        raise Invalid(
            [
                {
                    "location": ["body", *found[:1]],
                    "message": "must not contain the NUL character (U+0000)",
                    "type": "value_error",
                }
            ]
        )


def _nul_path(value: Any, at: tuple[str, ...]) -> tuple[str, ...] | None:
    if isinstance(value, str):
        return at if "\x00" in value else None
    if isinstance(value, dict):
        for key, item in value.items():
            if "\x00" in key:
                return (*at, key.replace("\x00", ""))
            found = _nul_path(item, (*at, key))
            if found is not None:
                return found
    if isinstance(value, list):
        for index, item in enumerate(value):
            found = _nul_path(item, (*at, str(index)))
            if found is not None:
                return found
    return None


def _dumps(value: Any) -> str:
    if isinstance(value, BaseModel):
        return value.model_dump_json(by_alias=True)
    return json.dumps(value, separators=(",", ":"), default=str)


# --- the endpoint ---------------------------------------------------------------------------------


class Endpoint:
    """One route bound to the one function that serves it, and its Lambda entry point."""

    def __init__(self, route: Route, siblings: Iterable[Route] = ()) -> None:
        self.route = route
        self._siblings = tuple(siblings)
        self.function: Callable[..., Any] | None = None
        self.binder: Binder | None = None
        self._function_name = f"{route.service}.{route.name}"
        self._warm = False
        # Answers that depend on who asks are never stored by a cache on the way.
        self._no_store = not route.public or route.no_store

    def handle(self, function: F) -> F:
        self.function = function
        self.binder = Binder(self.route, function, self._siblings)
        return function

    def handler(self, event: dict[str, Any], lambda_context: Any) -> dict[str, Any]:
        """The Lambda handler: limits, caller and correlation id, the use case, one log line."""
        request = event.get("requestContext") or {}
        http = request.get("http") or {}
        headers = event.get("headers") or {}
        correlation = (
            observability.valid_correlation_id(
                headers.get("x-correlation-id") or headers.get("X-Correlation-Id")
            )
            or observability.new_correlation_id()
        )
        invocation = observability.Invocation(
            "request",
            self.route.service,
            self.route.name,
            fields={
                "method": http.get("method") or self.route.method,
                "path": self.route.path,
                "requestId": request.get("requestId"),
                "correlationId": correlation,
            },
            cold_start=not self._warm,
        )
        self._warm = True
        if lambda_context is not None:
            invocation.fields["functionRequestId"] = getattr(lambda_context, "aws_request_id", None)
        claims = ((request.get("authorizer") or {}).get("jwt") or {}).get("claims")
        principal_token = _principal.set(principal_from_claims(claims))
        correlation_token = context.correlation_id.set(correlation)
        request_token = _request.set(RequestInfo(http.get("sourceIp"), request.get("requestId")))
        status = 500
        try:
            with invocation:
                result = self._serve(event)
            status = int(result["statusCode"])
            if self._no_store:
                result["headers"]["Cache-Control"] = "no-store"
            result["headers"]["X-Correlation-Id"] = correlation
            return result
        finally:
            _principal.reset(principal_token)
            context.correlation_id.reset(correlation_token)
            _request.reset(request_token)
            invocation.finish(logging.ERROR if status >= 500 else logging.INFO, status=status)

    def _serve(self, event: dict[str, Any]) -> dict[str, Any]:
        binder = self.binder
        assert binder is not None and self.function is not None, f"{self.route.key} has no handler"
        found = binder.matches(event)
        if found is None:
            return problem_result(404, "Not found", "no such route")
        try:
            refused = binder.refuse(event)
            if refused is not None:
                raise refused
            arguments = binder.bind(event, found)
            if observability.tracing():
                return binder.result(self._traced(arguments))
            return binder.result(self.function(**arguments))
        except Invalid as invalid:
            return problem_result(
                422,
                "Invalid request",
                "the request does not match the expected shape",
                errors=invalid.errors,
            )
        except Problem as problem:
            return problem_result(
                problem.status,
                problem.title,
                problem.detail,
                headers=problem.headers,
                **problem.extensions,
            )
        except Unavailable as unavailable:
            observability.log_error(
                self.route.service, "database unavailable", route=self.route.key
            )
            return problem_result(
                503,
                "Service unavailable",
                unavailable.public_detail,
                headers={"Retry-After": str(unavailable.retry_after)},
            )
        except Exception:
            observability.log_error(self.route.service, "unhandled error", route=self.route.key)
            return problem_result(500, "Internal server error")

    def _traced(self, arguments: dict[str, Any]) -> Any:
        assert self.function is not None
        tracer = observability.tracer(self.route.service)
        with tracer.provider.in_subsegment(f"## {self.route.name}") as subsegment:
            subsegment.put_annotation("route", self.route.key)
            return self.function(**arguments)


def decode_base64url(value: str) -> bytes:
    return base64.urlsafe_b64decode(value + "=" * (-len(value) % 4))


def encode_base64url(value: bytes) -> str:
    return base64.urlsafe_b64encode(value).rstrip(b"=").decode()
