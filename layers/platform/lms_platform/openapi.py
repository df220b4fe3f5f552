"""The whole API's OpenAPI document, generated from the route declarations and the code.

Each use case runs in a function of its own, so no single resolver knows every route.
The document is built by Powertools on a fresh resolver onto which every declared route's
function is registered with its own signature (the parameter markers of
``lms_platform.http`` turned into Powertools' own), so the parameters, bodies and
responses described are the ones each function's binder validates.
"""

from __future__ import annotations

import functools
import inspect
import json
import re
import typing
from collections.abc import Callable, Iterable
from importlib import import_module
from typing import TYPE_CHECKING, Annotated, Any

from aws_lambda_powertools.event_handler import APIGatewayHttpResolver
from aws_lambda_powertools.event_handler.openapi import params as powertools_params
from aws_lambda_powertools.event_handler.openapi.models import HTTPBearer, Server
from pydantic.alias_generators import to_camel

from lms_platform.http import PROBLEM_JSON, Param, Response, powertools_rule, snake
from lms_platform.settings import get_settings

if TYPE_CHECKING:
    from lms_platform.http import Binder, Endpoint
    from lms_platform.service import Route, Service

TITLE = "LMS API"
DESCRIPTION = (
    "A learning-management backend. Errors are RFC 9457 problem documents "
    "(application/problem+json, the Problem schema; a 422 lists what is wrong in `errors`), "
    "except what API Gateway answers itself: a missing or bad token (401), throttling (429) "
    'and a function that timed out (503), as {"message": ...} (the GatewayMessage schema). '
    "Protected operations need a bearer access token from POST /auth/login. Request bodies "
    "are application/json and strictly typed: a number is a JSON number, a boolean a JSON "
    "boolean. Text never holds U+0000 (NUL), which the database cannot store."
)
SECURITY_SCHEME = "bearerAuth"


def api_version() -> str:
    """The project's version, where its metadata is installed (not inside a Lambda layer)."""
    from importlib.metadata import PackageNotFoundError, version

    try:
        return version("lms")
    except PackageNotFoundError:
        return "0.0.0"


def route_endpoints(services: Iterable[Service]) -> list[tuple[Route, Endpoint]]:
    """Every declared route with the endpoint its handler module bound to it."""
    found = []
    for service in services:
        for route in service.routes:
            module_name = service.handler_path(route).rsplit(".", 1)[0]
            endpoint: Endpoint | None = getattr(import_module(module_name), "api", None)
            if endpoint is None or endpoint.function is None or endpoint.binder is None:
                raise LookupError(f"{module_name} has no api.function for {route.key}")
            found.append((route, endpoint))
    return found


def register_route(app: APIGatewayHttpResolver, route: Route, function: Callable[..., Any]) -> None:
    """Register ``function`` on a Powertools resolver as the route's own binder reads it."""
    app.route(
        rule=powertools_rule(route.path),
        method=route.method,
        summary=route.summary or None,
        tags=[route.service],
        operation_id=route.name,
        status_code=route.status,
        security=None if route.public else [{"bearerAuth": []}],
    )(_as_powertools(route, function))


def _as_powertools(route: Route, function: Callable[..., Any]) -> Callable[..., Any]:
    """``function`` with a signature Powertools reads: ``http.Query``/``http.Path``/
    ``http.Header`` as its own ``Query``/``Path``/``Header`` (query parameters under their
    camelCase API names, headers under theirs), a raw body as a JSON body of any shape, a
    ``Response`` return as a JSON object."""
    hints = typing.get_type_hints(function, include_extras=True)
    path_names = {snake(n) for n in re.findall(r"\{(\w+)\}", route.path)}
    parameters = []
    for name, parameter in inspect.signature(function).parameters.items():
        annotation = hints.get(name, str)
        base, marker = annotation, None
        if typing.get_origin(annotation) is Annotated:
            base, *metadata = typing.get_args(annotation)
            marker = next((m for m in metadata if isinstance(m, Param)), None)
        kwargs = dict(marker.kwargs) if marker else {}
        if name in path_names:
            annotation = Annotated[base, powertools_params.Path(**kwargs)]
        elif marker is not None and marker.location == "header":
            kwargs.setdefault("alias", marker.name or name.replace("_", "-"))
            annotation = Annotated[base, powertools_params.Header(**kwargs)]
        elif marker is not None and marker.location == "raw_body":
            annotation = Annotated[base, powertools_params.Body(media_type="application/json")]
        elif marker is not None or not (isinstance(base, type) and hasattr(base, "model_fields")):
            wire = (marker.name if marker is not None else None) or to_camel(name)
            if wire != name:
                kwargs.setdefault("alias", wire)
            annotation = Annotated[base, powertools_params.Query(**kwargs)]
        parameters.append(parameter.replace(annotation=annotation))
    returned = hints.get("return", Any)
    if returned is Response:
        returned = dict[str, Any]

    @functools.wraps(function)
    def registered(*args: Any, **kwargs: Any) -> Any:
        return function(*args, **kwargs)

    registered.__signature__ = inspect.Signature(parameters, return_annotation=returned)  # type: ignore[attr-defined]
    registered.__annotations__ = {
        **{p.name: p.annotation for p in parameters},
        "return": returned,
    }
    return registered


def build_document(
    services: Iterable[Service],
    *,
    server_url: str | None = None,
    version: str | None = None,
) -> dict[str, Any]:
    """The OpenAPI 3.1 document of every route of ``services``, as a JSON-ready dict."""
    app = APIGatewayHttpResolver(enable_validation=True)
    routes = route_endpoints(services)
    for route, endpoint in routes:
        assert endpoint.function is not None
        register_route(app, route, endpoint.function)
    text = app.get_openapi_json_schema(
        title=TITLE,
        version=version or api_version(),
        description=DESCRIPTION,
        servers=[Server(url=server_url)] if server_url else None,
        security_schemes={
            SECURITY_SCHEME: HTTPBearer(
                bearerFormat="JWT",
                description="An access token from POST /auth/login (RS256, short-lived)",
            )
        },
    )
    document: dict[str, Any] = json.loads(text)
    _use_declared_paths(document, [route for route, _ in routes])
    _declare_errors(document, routes)
    return document


def _use_declared_paths(document: dict[str, Any], routes: list[Route]) -> None:
    """Paths as clients call them (``/users/{userId}``), not as powertools names them
    internally (``/users/{user_id}``); path parameters renamed to match."""
    paths: dict[str, Any] = document.get("paths", {})
    for route in routes:
        internal = re.sub(r"<(\w+)>", r"{\1}", powertools_rule(route.path))
        if internal == route.path or internal not in paths:
            continue
        renames = dict(
            zip(
                re.findall(r"\{(\w+)\}", internal),
                re.findall(r"\{(\w+)\}", route.path),
                strict=True,
            )
        )
        item = paths.pop(internal)
        for operation in item.values():
            for parameter in operation.get("parameters", []) if isinstance(operation, dict) else []:
                if parameter.get("in") == "path":
                    parameter["name"] = renames.get(parameter["name"], parameter["name"])
        paths.setdefault(route.path, {}).update(item)
    # In the order the services declare them, which is the order a reader expects.
    ordered = {route.path: paths[route.path] for route in routes if route.path in paths}
    document["paths"] = {**ordered, **paths}


# --- errors -----------------------------------------------------------------------------------

PROBLEM = {
    "type": "object",
    "title": "Problem",
    "description": "An RFC 9457 problem document: what went wrong, for a person and a program.",
    "required": ["type", "title", "status"],
    "properties": {
        "type": {
            "type": "string",
            "description": "A URI naming the kind of problem (about:blank: the status says it)",
        },
        "title": {"type": "string", "description": "A short summary of the kind of problem"},
        "status": {"type": "integer", "minimum": 400, "maximum": 599},
        "detail": {"type": "string", "description": "What went wrong with this request"},
        "instance": {"type": "string"},
        "errors": {
            "type": "array",
            "description": "422: every field or parameter that is wrong",
            "items": {"$ref": "#/components/schemas/FieldError"},
        },
    },
    "additionalProperties": True,
}
FIELD_ERROR = {
    "type": "object",
    "title": "FieldError",
    "required": ["location", "message", "type"],
    "properties": {
        "location": {
            "type": "array",
            "items": {"type": "string"},
            "description": 'Where: ["body", "displayName"], ["path", "userId"], ["query", "limit"]',
        },
        "message": {"type": "string"},
        "type": {
            "type": "string",
            "description": "A machine-readable kind (missing, int_type ...)",
        },
    },
    "additionalProperties": False,
}
GATEWAY_MESSAGE = {
    "type": "object",
    "title": "GatewayMessage",
    "description": "An answer of API Gateway itself, before or instead of the function.",
    "required": ["message"],
    "properties": {"message": {"type": "string"}},
}
# Powertools' own validation error shapes, which this API never sends.
_POWERTOOLS_SCHEMAS = ("HTTPValidationError", "ValidationError", "ResponseValidationError")

_PROBLEM_CONTENT = {PROBLEM_JSON: {"schema": {"$ref": "#/components/schemas/Problem"}}}
_GATEWAY_CONTENT = {"application/json": {"schema": {"$ref": "#/components/schemas/GatewayMessage"}}}
# Where the function or API Gateway may answer (401, 429, 503), each with its own media
# type. Client generators read one media type per status, the first: that one is the
# union, so a generated client parses either body instead of failing on the other.
_EITHER_CONTENT = {
    PROBLEM_JSON: {
        "schema": {
            "anyOf": [
                {"$ref": "#/components/schemas/Problem"},
                {"$ref": "#/components/schemas/GatewayMessage"},
            ]
        }
    },
    **_GATEWAY_CONTENT,
}
_RETRY_AFTER = {
    "Retry-After": {
        "description": "Seconds to wait before trying again",
        "schema": {"type": "integer", "minimum": 1},
    }
}


def error_responses(route: Route, binder: Binder) -> dict[int, dict[str, Any]]:
    """Every error status an operation can answer, with its body and headers: what its
    declaration implies (public or not, a body, path parameters, any input) and what its
    use case declares in ``Route.errors``."""
    declared = set(route.errors)
    has_path = "{" in route.path
    has_body = binder.body_model is not None
    limit = get_settings().max_body_bytes
    found: dict[int, dict[str, Any]] = {
        400: {
            "description": "Bad request: malformed JSON, a body that is not UTF-8 text, a "
            "malformed cursor, a parameter holding U+0000",
            "content": _PROBLEM_CONTENT,
        }
    }
    if not route.public:
        found[401] = {
            "description": "No valid bearer token: API Gateway's JWT authorizer answers "
            '{"message": "Unauthorized"}; the function, a problem document',
            "content": _EITHER_CONTENT,
        }
    elif 401 in declared:
        found[401] = {"description": "Unauthorized", "content": _PROBLEM_CONTENT}
    if 402 in declared:
        found[402] = {
            "description": "Payment required: the payment was refused (a card declined: "
            "`declineCode` and `failureCode` say why), or what was asked needs a current "
            "subscription",
            "content": _PROBLEM_CONTENT,
        }
    if 403 in declared:
        found[403] = {"description": "The caller may not do this", "content": _PROBLEM_CONTENT}
    if has_path or 404 in declared:
        found[404] = {
            "description": "Not found, or not visible to the caller",
            "content": _PROBLEM_CONTENT,
        }
    if binder.shadowed:
        found[405] = {
            "description": "The path is a more specific route's, which has other methods",
            "headers": {
                "Allow": {
                    "description": "The methods the path has",
                    "required": True,
                    "schema": {"type": "string"},
                }
            },
            "content": _PROBLEM_CONTENT,
        }
    if 409 in declared:
        found[409] = {
            "description": "Conflict with the current state",
            "content": _PROBLEM_CONTENT,
        }
    if has_body:
        found[413] = {
            "description": f"The body is larger than {limit} bytes",
            "content": _PROBLEM_CONTENT,
        }
        found[415] = {
            "description": "The body is not application/json (in UTF-8)",
            "content": _PROBLEM_CONTENT,
        }
    if binder.takes_input or 422 in declared:
        found[422] = {
            "description": "A parameter or a field is wrong: `errors` says which"
            + "".join(f"; or {rule}" for rule in route.rules),
            "content": _PROBLEM_CONTENT,
        }
    found[429] = {
        "description": "Too many requests: API Gateway's throttling "
        '({"message": "Too Many Requests"})'
        + ("; or the operation's own limit, a problem document" if 429 in declared else ""),
        "headers": _RETRY_AFTER,
        "content": _EITHER_CONTENT if 429 in declared else _GATEWAY_CONTENT,
    }
    found[503] = {
        "description": "Try again shortly: the database did not answer in time (a problem "
        'document), or the function timed out ({"message": "Service Unavailable"})',
        "headers": _RETRY_AFTER,
        "content": _EITHER_CONTENT,
    }
    unknown = declared - {401, 402, 403, 404, 409, 422, 429}
    if unknown:
        raise ValueError(f"{route.key} declares errors this document cannot describe: {unknown}")
    return found


def _declare_errors(document: dict[str, Any], routes: list[tuple[Route, Endpoint]]) -> None:
    schemas: dict[str, Any] = document.setdefault("components", {}).setdefault("schemas", {})
    for name in _POWERTOOLS_SCHEMAS:
        schemas.pop(name, None)
    schemas.update(
        {"Problem": PROBLEM, "FieldError": FIELD_ERROR, "GatewayMessage": GATEWAY_MESSAGE}
    )
    for route, endpoint in routes:
        assert endpoint.binder is not None
        operation = document["paths"][route.path][route.method.lower()]
        responses = {
            code: answer
            for code, answer in operation.get("responses", {}).items()
            if not code.startswith(("4", "5"))
        }
        if route.status == 204:
            # No body at all (Powertools would describe the handler's None as JSON null).
            responses = {"204": {"description": route.summary or "Done; no content"}}
        for status, description in route.answers:
            responses[str(status)] = {
                "description": description,
                "content": {"application/json": {"schema": {"type": "object"}}},
            }
        for status, answer in error_responses(route, endpoint.binder).items():
            responses[str(status)] = answer
        operation["responses"] = dict(sorted(responses.items()))
        if route.rules:
            operation["x-rules"] = list(route.rules)
