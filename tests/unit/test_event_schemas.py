"""The checked-in JSON Schemas are the models' own, and describe what producers send."""

from __future__ import annotations

import json
import shutil
import uuid
from pathlib import Path

import pytest
from pydantic import ValidationError

from lms_events import catalog
from lms_events import user as events
from lms_events.envelope import Envelope, EventData

try:  # cfn-lint brings jsonschema in; without it the models themselves check the detail
    import jsonschema
except ImportError:  # pragma: no cover - depends on the installed extras
    jsonschema = None

USER_ID = uuid.UUID("0b6e3f2c-6f6e-4a4f-9d3b-2f9a0d7f1c11")
ADMIN_ID = uuid.UUID("5c1d4f0e-3b7a-4c3e-8f51-7d0e2a9b6c44")

SAMPLES: dict[type[EventData], EventData] = {
    events.UserRegistered: events.UserRegistered(
        user_id=USER_ID, email="a@example.com", display_name="Ada", roles=["STUDENT"]
    ),
    events.ProfileUpdated: events.ProfileUpdated(
        user_id=USER_ID, display_name="Ada L.", avatar_url=None, bio="Counts things"
    ),
    events.RoleAssigned: events.RoleAssigned(user_id=USER_ID, role="INSTRUCTOR", assigned_by=None),
    events.RoleRevoked: events.RoleRevoked(user_id=USER_ID, role="INSTRUCTOR", revoked_by=ADMIN_ID),
    events.UserStatusChanged: events.UserStatusChanged(
        user_id=USER_ID, status="SUSPENDED", changed_by=ADMIN_ID
    ),
}


def _violations(event: type[EventData], detail: dict[str, object]) -> list[str]:
    """What is wrong with ``detail`` according to the checked-in schema of ``event``."""
    schema = json.loads(catalog.schema_path(event).read_text())
    if jsonschema is None:
        try:
            Envelope[event].model_validate(detail)  # type: ignore[valid-type]
        except ValidationError as error:
            return [str(e["loc"]) for e in error.errors()]
        return []
    cls = jsonschema.validators.validator_for(schema)
    cls.check_schema(schema)
    return [error.message for error in cls(schema).iter_errors(detail)]


def test_the_checked_in_schemas_are_fresh() -> None:
    # When the schemas are generated from the models now
    # Then every checked-in file is identical (run `make schemas` after changing an event)
    assert catalog.stale_schemas() == []


def test_a_changed_schema_file_is_reported_stale(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Given a copy of the schemas where one file was edited by hand
    shutil.copytree(catalog.SCHEMA_DIR, tmp_path / "schemas")
    monkeypatch.setattr(catalog, "SCHEMA_DIR", tmp_path / "schemas")
    edited = catalog.schema_path(events.RoleAssigned)
    edited.write_text(edited.read_text().replace('"role"', '"rank"'))
    missing = catalog.schema_path(events.RoleRevoked)
    missing.unlink()
    # When freshness is checked, Then exactly the edited and the missing file are stale
    stale = [p for p in catalog.stale_schemas() if p.parent.name == "lms.user"]
    assert sorted(stale) == sorted([edited, missing])


def test_every_user_event_has_a_sample_here() -> None:
    # A new User service event joins the schema checks below by getting a sample
    assert set(SAMPLES) == set(events.EVENTS)
    assert set(events.EVENTS) <= set(catalog.ALL_EVENTS)


@pytest.mark.parametrize("event", events.EVENTS, ids=lambda e: e.event_type)
def test_a_detail_a_producer_sends_validates_against_its_schema(event: type[EventData]) -> None:
    # Given the detail a producer publishes for this event
    detail = json.loads(Envelope.wrap(SAMPLES[event], aggregate_id=USER_ID).detail_json())
    # When it is checked against the checked-in schema, Then it is valid
    assert _violations(event, detail) == []


@pytest.mark.parametrize("event", events.EVENTS, ids=lambda e: e.event_type)
def test_a_detail_without_its_data_fields_violates_the_schema(event: type[EventData]) -> None:
    # Given a detail whose data lost a required field
    detail = json.loads(Envelope.wrap(SAMPLES[event], aggregate_id=USER_ID).detail_json())
    detail["data"].pop("userId")
    # Then the schema refuses it (the schema describes the data, not just the envelope)
    assert any("userId" in violation for violation in _violations(event, detail))


@pytest.mark.parametrize("event", catalog.ALL_EVENTS, ids=lambda e: f"{e.source}:{e.event_type}")
def test_a_schema_names_its_event_and_version(event: type[EventData]) -> None:
    schema = json.loads(catalog.schema_path(event).read_text())
    version = f"v{event.event_version}"
    assert schema["$id"] == f"urn:lms:event:{event.source}:{event.event_type}:{version}"
    assert catalog.schema_path(event).name == f"{event.event_type}.v{event.event_version}.json"
