"""The event envelope: producers wrap a model, the JSON is camelCase, consumers parse it back."""

from __future__ import annotations

import json
import uuid
from datetime import UTC, datetime, timedelta

import pytest
from pydantic import ValidationError

from lms_events.envelope import Envelope
from lms_events.user import RoleAssigned, UserRegistered

USER_ID = uuid.UUID("0b6e3f2c-6f6e-4a4f-9d3b-2f9a0d7f1c11")


def _registered() -> UserRegistered:
    return UserRegistered(
        user_id=USER_ID, email="a@example.com", display_name="Ada", roles=["STUDENT"]
    )


def test_wrapping_fills_the_envelope_from_the_event_model() -> None:
    # Given event data, When it is wrapped for an aggregate within a request
    before = datetime.now(UTC)
    envelope = Envelope.wrap(_registered(), aggregate_id=USER_ID, correlation_id="req-1")
    # Then the envelope names the event, its version and source, and when it happened
    assert envelope.event_type == "UserRegistered"
    assert envelope.event_version == 1
    assert envelope.source == "lms.user"
    assert envelope.aggregate_id == str(USER_ID)
    assert envelope.correlation_id == "req-1"
    assert envelope.event_id.version == 4
    assert before <= envelope.occurred_at <= datetime.now(UTC)
    assert envelope.occurred_at.utcoffset() == timedelta(0)


def test_every_wrap_is_a_new_event_id() -> None:
    ids = {Envelope.wrap(_registered(), aggregate_id=USER_ID).event_id for _ in range(20)}
    assert len(ids) == 20


def test_the_detail_json_is_camel_case_all_the_way_down() -> None:
    # When the envelope is serialized as EventBridge's Detail
    detail = json.loads(Envelope.wrap(_registered(), aggregate_id=USER_ID).detail_json())
    # Then envelope and data keys are camelCase, with no snake_case left
    assert set(detail) == {
        "eventId",
        "eventType",
        "eventVersion",
        "occurredAt",
        "aggregateId",
        "correlationId",
        "data",
    }
    assert set(detail["data"]) == {"userId", "email", "displayName", "roles", "version"}
    assert detail["data"]["userId"] == str(USER_ID)


def test_a_consumer_parses_the_detail_back_into_the_same_model() -> None:
    # Given the JSON a producer published
    sent = Envelope.wrap(_registered(), aggregate_id=USER_ID, correlation_id="req-1")
    # When the consumer parses it with the event's model
    received = Envelope[UserRegistered].model_validate_json(sent.detail_json())
    # Then it is equal to what was sent, with typed data
    assert received == sent
    assert isinstance(received.data, UserRegistered)
    assert received.data.user_id == USER_ID
    assert received.occurred_at == sent.occurred_at


def test_a_detail_of_another_event_does_not_parse_as_this_one() -> None:
    # Given a UserRegistered detail, When it is parsed as RoleAssigned
    detail = Envelope.wrap(_registered(), aggregate_id=USER_ID).detail_json()
    # Then validation fails (role is missing) rather than producing a half-empty event
    with pytest.raises(ValidationError):
        Envelope[RoleAssigned].model_validate_json(detail)


def test_an_event_version_below_one_is_refused() -> None:
    payload = json.loads(Envelope.wrap(_registered(), aggregate_id=USER_ID).detail_json())
    payload["eventVersion"] = 0
    with pytest.raises(ValidationError):
        Envelope[UserRegistered].model_validate(payload)


def test_an_envelope_is_immutable() -> None:
    envelope = Envelope.wrap(_registered(), aggregate_id=USER_ID)
    with pytest.raises(ValidationError):
        envelope.event_type = "Other"  # type: ignore[misc]
