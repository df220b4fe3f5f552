"""The whole API's OpenAPI document, generated from the route declarations and the code.

Each use case runs in a function of its own, so no single resolver knows every route.
The document is built on a fresh resolver onto which every declared route's function is
registered exactly as its own endpoint registers it (same rule, status, security), so
the parameters, bodies and responses described are the ones validation enforces.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable, Iterable
from importlib import import_module
from typing import TYPE_CHECKING, Any

from aws_lambda_powertools.event_handler import APIGatewayHttpResolver
from aws_lambda_powertools.event_handler.openapi.models import HTTPBearer, Server

from lms_platform.http import powertools_rule, register_route

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
