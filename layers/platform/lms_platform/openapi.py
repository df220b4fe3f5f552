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

from lms_platform.http import Param, Response, powertools_rule, snake

if TYPE_CHECKING:
    from lms_platform.service import Route, Service

TITLE = "LMS API"
DESCRIPTION = (
    "A learning-management backend. Errors are RFC 9457 problem documents "
    "(application/problem+json); protected operations need a bearer access token "
    "from POST /auth/login."
)
SECURITY_SCHEME = "bearerAuth"


def api_version() -> str:
    """The project's version, where its metadata is installed (not inside a Lambda layer)."""
    from importlib.metadata import PackageNotFoundError, version

    try:
        return version("lms")
    except PackageNotFoundError:
        return "0.0.0"


def route_functions(services: Iterable[Service]) -> list[tuple[Route, Callable[..., Any]]]:
    """Every declared route with the function its handler module decorated."""
    found = []
    for service in services:
        for route in service.routes:
            module_name = service.handler_path(route).rsplit(".", 1)[0]
            endpoint = getattr(import_module(module_name), "api", None)
            function = getattr(endpoint, "function", None)
            if function is None:
                raise LookupError(f"{module_name} has no api.function for {route.key}")
            found.append((route, function))
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
            annotation = Annotated[base, powertools_params.Header(alias=marker.name, **kwargs)]
        elif marker is not None and marker.location == "raw_body":
            annotation = Annotated[base, powertools_params.Body(media_type="application/json")]
        elif marker is not None or not (isinstance(base, type) and hasattr(base, "model_fields")):
            if to_camel(name) != name:
                kwargs.setdefault("alias", to_camel(name))
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
    routes = route_functions(services)
    for route, function in routes:
        register_route(app, route, function)
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
