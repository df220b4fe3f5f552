"""The OpenAPI document: one Problem schema, and per operation every error it can answer,
derived from the route's declaration; nothing of Powertools' own validation shapes."""

from __future__ import annotations

import importlib
import json
from typing import Any

import pytest

from functions.registry import SERVICES
from lms_platform.openapi import build_document
from lms_platform.service import Route, Service

PROBLEM = {"$ref": "#/components/schemas/Problem"}
ROUTES: list[tuple[Service, Route]] = [(s, r) for s in SERVICES for r in s.routes]


@pytest.fixture(scope="module")
def document() -> dict[str, Any]:
    return build_document(SERVICES, server_url="http://127.0.0.1:3000")


def _binder(service: Service, route: Route) -> Any:
    module = importlib.import_module(service.handler_path(route).rsplit(".", 1)[0])
    return module.api.binder


def test_the_document_is_valid_openapi_3_1(document: dict[str, Any]) -> None:
    from openapi_spec_validator import validate

    assert document["openapi"].startswith("3.1")
    validate(document)


def test_powertools_validation_shapes_are_gone(document: dict[str, Any]) -> None:
    text = json.dumps(document)
    for name in ("HTTPValidationError", "ResponseValidationError", '"ValidationError"'):
        assert name not in text


def test_one_problem_schema_with_typed_field_errors(document: dict[str, Any]) -> None:
    schemas = document["components"]["schemas"]
    problem = schemas["Problem"]
    assert set(problem["required"]) == {"type", "title", "status"}
    assert problem["properties"]["errors"]["items"] == {"$ref": "#/components/schemas/FieldError"}
    assert set(schemas["FieldError"]["required"]) == {"location", "message", "type"}
    assert schemas["GatewayMessage"]["required"] == ["message"]


@pytest.mark.parametrize(("service", "route"), ROUTES, ids=[r.key for _, r in ROUTES])
def test_every_operation_declares_what_its_route_implies(
    document: dict[str, Any], service: Service, route: Route
) -> None:
    operation = document["paths"][route.path][route.method.lower()]
    responses = operation["responses"]
    binder = _binder(service, route)
    codes = {int(code) for code in responses}
    # The success answer, and the errors every operation can meet
    assert route.status in codes
    assert {400, 429, 503} <= codes
    assert responses["400"]["content"]["application/problem+json"]["schema"] == PROBLEM
    # A protected operation: API Gateway's 401 message, as its first-listed reading too
    if not route.public:
        content = responses["401"]["content"]
        assert content["application/json"]["schema"] == {
            "$ref": "#/components/schemas/GatewayMessage"
        }
        assert PROBLEM in content["application/problem+json"]["schema"]["anyOf"]
        assert operation["security"] == [{"bearerAuth": []}]
    else:
        assert (401 in codes) == (401 in route.errors)
    # Path parameters may name nothing; a body may be too large or not JSON; input may be wrong
    assert (404 in codes) == ("{" in route.path or 404 in route.errors)
    has_body = binder.body_model is not None
    assert (413 in codes) == has_body and (415 in codes) == has_body
    assert (422 in codes) == binder.takes_input
    # And what the use case declares
    assert set(route.errors) <= codes
    assert (405 in codes) == binder.shadowed


def test_the_routes_a_literal_path_shadows_declare_405_with_allow(document: dict[str, Any]) -> None:
    item = document["paths"]["/courses/{courseId}/modules/{moduleId}"]
    for method in ("patch", "delete"):
        answer = item[method]["responses"]["405"]
        assert answer["headers"]["Allow"]["required"] is True
    assert "405" not in document["paths"]["/courses/{courseId}/modules/order"]["put"]["responses"]


def test_path_parameters_carry_the_api_names(document: dict[str, Any]) -> None:
    for path, item in document["paths"].items():
        for operation in item.values():
            named = {p["name"] for p in operation.get("parameters", []) if p["in"] == "path"}
            assert named == {part[1:-1] for part in path.split("/") if part.startswith("{")}
