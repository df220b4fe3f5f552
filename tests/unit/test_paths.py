"""Path templates: what they match, and which of two wins (as API Gateway prefers)."""

from __future__ import annotations

import pytest

from functions.registry import SERVICES
from lms_platform.paths import PathTemplate, split_path


def test_a_literal_segment_shadows_a_parameter_at_the_same_place() -> None:
    order = PathTemplate("/courses/{courseId}/modules/order")
    module = PathTemplate("/courses/{courseId}/modules/{moduleId}")
    assert order.shadows(module)
    assert not module.shadows(order)
    assert module.match(split_path("/courses/c1/modules/order")) == {
        "courseId": "c1",
        "moduleId": "order",
    }


@pytest.mark.parametrize(
    ("a", "b"),
    [
        ("/courses/{courseId}/publish", "/courses/{courseId}/archive"),  # two literals differ
        ("/courses/{courseId}", "/courses/{courseId}/modules"),  # lengths differ
        ("/me/profile", "/me/enrollments"),
    ],
)
def test_templates_that_no_path_fits_both_do_not_overlap(a: str, b: str) -> None:
    assert not PathTemplate(a).overlaps(PathTemplate(b))
    assert not PathTemplate(a).shadows(PathTemplate(b))


def test_a_template_does_not_shadow_itself() -> None:
    same = PathTemplate("/users/{userId}")
    assert same.overlaps(same) and not same.shadows(same)


def test_the_regex_matches_what_match_matches() -> None:
    template = PathTemplate("/users/{userId}/roles/{role}")
    found = template.regex().match("/users/u1/roles/ADMIN")
    assert found is not None and found.groupdict() == {"userId": "u1", "role": "ADMIN"}
    assert template.regex().match("/users/u1/roles/") is None
    assert template.regex().match("/users/u1/roles/ADMIN/x") is None


def test_no_route_is_shadowed_by_another_services_route() -> None:
    # A function knows only its own service's routes (it imports no other declarations),
    # so a path that belongs to a more specific route must belong to the same service.
    routes = [(s.name, r) for s in SERVICES for r in s.routes]
    for service, route in routes:
        for other_service, other in routes:
            if other_service != service:
                assert not PathTemplate(other.path).shadows(PathTemplate(route.path)), (
                    route.key,
                    other.key,
                )
