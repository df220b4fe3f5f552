"""HTTP helpers: route rules for powertools and the caller's principal from gateway claims."""

from __future__ import annotations

import inspect
import re
import uuid

import pytest

from functions.registry import SERVICES
from lms_platform.http import Principal, powertools_rule, principal_from_claims
from tests.support import route_for

USER_ID = uuid.UUID("0b6e3f2c-6f6e-4a4f-9d3b-2f9a0d7f1c11")


@pytest.mark.parametrize(
    ("gateway", "powertools"),
    [
        ("/me", "/me"),
        ("/users/{userId}", "/users/<user_id>"),
        ("/users/{userId}/roles/{role}", "/users/<user_id>/roles/<role>"),
        ("/organizations/{organizationId}", "/organizations/<organization_id>"),
        ("/courses/{courseId}/lessons/{lessonId}", "/courses/<course_id>/lessons/<lesson_id>"),
        ("/.well-known/jwks.json", "/.well-known/jwks.json"),
    ],
)
def test_gateway_path_parameters_become_snake_case_powertools_parameters(
    gateway: str, powertools: str
) -> None:
    # Given an API Gateway route path, When it is turned into a powertools rule
    # Then each {camelCase} parameter becomes <snake_case> and the rest is untouched
    assert powertools_rule(gateway) == powertools


@pytest.mark.parametrize("route", [r for s in SERVICES for r in s.routes], ids=lambda r: r.key)
def test_every_declared_path_parameter_reaches_its_handler_by_name(route: object) -> None:
    # Given a declared route and the function bound to it
    _, module = route_for(route.method, route.path)  # type: ignore[attr-defined]
    function = module.api.function
    assert function is not None, "the module declares the route but handles nothing"
    # When its powertools rule is made
    names = re.findall(r"<(\w+)>", powertools_rule(route.path))  # type: ignore[attr-defined]
    # Then every path parameter is an argument of the handler function
    assert set(names) <= set(inspect.signature(function).parameters)


def test_string_claims_from_api_gateway_give_the_principal() -> None:
    # Given claims as API Gateway hands them over: every value a string
    claims = {"sub": str(USER_ID), "roles": "ADMIN STUDENT", "email": "a@example.com"}
    # When the principal is read from them
    principal = principal_from_claims(claims)
    # Then user id, roles and email are all there
    assert principal == Principal(
        user_id=USER_ID, roles=frozenset({"ADMIN", "STUDENT"}), email="a@example.com"
    )
    assert principal.is_admin
    assert principal.has_role("STUDENT")
    assert not principal.has_role("INSTRUCTOR")


def test_roles_given_as_a_list_are_read_the_same_way() -> None:
    # Given claims whose roles are a JSON list (a verifier that keeps types)
    principal = principal_from_claims({"sub": str(USER_ID), "roles": ["INSTRUCTOR"]})
    # Then the roles are the list's items
    assert principal is not None
    assert principal.roles == frozenset({"INSTRUCTOR"})
    assert not principal.is_admin


def test_a_token_without_roles_gives_a_principal_without_roles() -> None:
    principal = principal_from_claims({"sub": str(USER_ID)})
    assert principal is not None
    assert principal.roles == frozenset()
    assert principal.email is None


@pytest.mark.parametrize(
    "claims",
    [None, {}, {"roles": "ADMIN"}, {"sub": ""}, {"sub": "not-a-uuid", "roles": "ADMIN"}],
    ids=["no claims", "empty", "no sub", "empty sub", "sub not a uuid"],
)
def test_claims_without_a_usable_subject_give_no_principal(claims: dict | None) -> None:
    # Given claims that do not name a user
    # When / Then there is no principal, so the request is treated as anonymous (401)
    assert principal_from_claims(claims) is None
