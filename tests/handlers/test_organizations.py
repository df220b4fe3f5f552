"""Organizations (admin): create, list, get, update; slugs unique and well-formed."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest

from tests.handlers.conftest import Account
from tests.support import call, scalar

SETTINGS = {"theme": {"primary": "#123456"}, "features": ["grading", "forums"], "seats": 250}
UNKNOWN = "5c1d4f0e-3b7a-4c3e-8f51-7d0e2a9b6c44"


def _create(admin: Account, **body: Any) -> Any:
    return call("POST", "/organizations", caller=admin.caller, body=body)


def _update(admin: Account, organization_id: str, **body: Any) -> Any:
    return call(
        "PATCH",
        "/organizations/{organizationId}",
        caller=admin.caller,
        path_params={"organizationId": organization_id},
        body=body,
    )


def _get(admin: Account, organization_id: str) -> Any:
    return call(
        "GET",
        "/organizations/{organizationId}",
        caller=admin.caller,
        path_params={"organizationId": organization_id},
    )


def test_an_admin_creates_an_organization_and_reads_it_back(admin: Account) -> None:
    # When an organization with nested settings is created
    created = _create(admin, name="Acme University", slug="acme-u", settings=SETTINGS)
    # Then it is 201 with camelCase fields, and the settings come back as sent
    assert created.status == 201
    assert set(created.body) == {"id", "name", "slug", "settings", "createdAt", "updatedAt"}
    assert created.body["name"] == "Acme University"
    assert created.body["slug"] == "acme-u"
    assert created.body["settings"] == SETTINGS
    # And reading it gives the same organization
    fetched = _get(admin, created.body["id"])
    assert fetched.status == 200
    assert fetched.body == created.body


def test_settings_default_to_an_empty_object(admin: Account) -> None:
    assert _create(admin, name="Plain", slug="plain").body["settings"] == {}


def test_a_taken_slug_is_409_on_create_and_changes_nothing(admin: Account, admin_sql: Any) -> None:
    _create(admin, name="Acme", slug="acme")
    reply = _create(admin, name="Other Acme", slug="acme")
    assert reply.status == 409
    assert reply.body["title"] == "Slug already in use"
    assert admin_sql.run("SELECT name FROM lms_user.organizations") == [["Acme"]]


@pytest.mark.parametrize(
    "slug", ["Acme", "acme u", "-acme", "acme-", "ac--me", "a", "acme_u", "é-cole", "x" * 65]
)
def test_a_malformed_slug_is_422_and_changes_nothing(
    admin: Account, admin_sql: Any, slug: str
) -> None:
    reply = _create(admin, name="Acme", slug=slug)
    assert reply.status == 422
    assert any(e["location"][-1] == "slug" for e in reply.body["errors"])
    assert scalar(admin_sql, "SELECT count(*) FROM lms_user.organizations") == 0


def test_organizations_are_listed_in_offset_pages(admin: Account) -> None:
    slugs = [f"org-{n}" for n in range(5)]
    for slug in slugs:
        _create(admin, name=slug.upper(), slug=slug)
    first = call("GET", "/organizations", caller=admin.caller, query={"limit": "3"}).body
    second = call(
        "GET", "/organizations", caller=admin.caller, query={"limit": "3", "offset": "3"}
    ).body
    assert [o["slug"] for o in first["items"] + second["items"]] == slugs
    assert (first["nextOffset"], second["nextOffset"]) == (3, None)
    assert call("GET", "/organizations", caller=admin.caller, query={"limit": "101"}).status == 422


def test_an_update_changes_only_what_is_sent(admin: Account) -> None:
    org = _create(admin, name="Acme", slug="acme", settings=SETTINGS).body
    # When only the name changes
    renamed = _update(admin, org["id"], name="Acme Corp")
    assert renamed.status == 200
    assert (renamed.body["name"], renamed.body["slug"]) == ("Acme Corp", "acme")
    assert renamed.body["settings"] == SETTINGS
    # When the settings and slug change, Then the new settings replace the old ones
    changed = _update(admin, org["id"], slug="acme-corp", settings={"seats": 10})
    assert (changed.body["slug"], changed.body["settings"]) == ("acme-corp", {"seats": 10})
    assert _get(admin, org["id"]).body == changed.body


def test_a_taken_slug_is_409_on_update_and_changes_nothing(admin: Account) -> None:
    _create(admin, name="Acme", slug="acme")
    other = _create(admin, name="Globex", slug="globex").body
    reply = _update(admin, other["id"], slug="acme", name="Renamed")
    assert reply.status == 409
    assert reply.body["title"] == "Slug already in use"
    after = _get(admin, other["id"]).body
    assert (after["slug"], after["name"]) == ("globex", "Globex")


def test_a_malformed_slug_on_update_is_422_and_changes_nothing(admin: Account) -> None:
    org = _create(admin, name="Acme", slug="acme").body
    reply = _update(admin, org["id"], slug="Not A Slug")
    assert reply.status == 422
    assert _get(admin, org["id"]).body["slug"] == "acme"


def test_an_unknown_organization_is_404(
    admin: Account, snapshot: Callable[[], dict[str, int]]
) -> None:
    before = snapshot()
    assert _get(admin, UNKNOWN).status == 404
    assert _update(admin, UNKNOWN, name="Ghost").status == 404
    assert snapshot() == before
