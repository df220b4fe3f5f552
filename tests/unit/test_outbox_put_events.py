"""PutEvents from the outbox, against moto: batches of ten, success read entry by entry."""

from __future__ import annotations

import json
import uuid
from collections.abc import Iterator
from typing import Any

import pytest

from lms_platform import aws, eventbridge
from lms_platform.outbox import PUT_EVENTS_MAX_ENTRIES, put_events

Entry = tuple[uuid.UUID, str, str, str]


@pytest.fixture
def bus(env: pytest.MonkeyPatch, moto_endpoint: str) -> Iterator[str]:
    """An event bus of this test's own in the moto server, and the settings pointing at it."""
    name = f"unit-{uuid.uuid4().hex[:8]}"
    env.setenv("AWS_ENDPOINT_URL", moto_endpoint)
    env.setenv("AWS_ACCESS_KEY_ID", "testing")
    env.setenv("AWS_SECRET_ACCESS_KEY", "testing")
    env.setenv("AWS_DEFAULT_REGION", "us-east-1")
    env.setenv("LMS_EVENT_BUS_NAME", name)
    aws.client("events").create_event_bus(Name=name)
    yield name
    aws.client("events").delete_event_bus(Name=name)


@pytest.fixture
def put_events_calls(
    bus: str, monkeypatch: pytest.MonkeyPatch
) -> Iterator[list[list[dict[str, Any]]]]:
    """The Entries of every PutEvents call the real (moto-bound) client makes."""
    calls: list[list[dict[str, Any]]] = []
    real = eventbridge.client()
    send = real.put_events

    def record(entries: list[dict[str, Any]], **options: Any) -> dict[str, Any]:
        calls.append(list(entries))
        return send(entries, **options)

    monkeypatch.setattr(real, "put_events", record)
    yield calls


def _entries(count: int) -> list[Entry]:
    return [
        (uuid.uuid4(), "lms.user", "UserRegistered", json.dumps({"n": n})) for n in range(count)
    ]


def _failing_entries(real_put_events: Any, failing: set[int]) -> Any:
    """The real PutEvents, except that the answer marks the entries at these positions of
    each call as failed, as EventBridge does when it errs on some entries of a call."""

    def put_events(entries: list[dict[str, Any]], **options: Any) -> dict[str, Any]:
        response = real_put_events(entries, **options)
        for position in failing:
            if position < len(response["Entries"]):
                response["Entries"][position] = {
                    "ErrorCode": "InternalFailure",
                    "ErrorMessage": "simulated failure of one entry",
                }
        response["FailedEntryCount"] = sum(1 for e in response["Entries"] if "ErrorCode" in e)
        return response

    return put_events


def test_twenty_three_entries_go_out_in_three_calls_of_at_most_ten(
    bus: str, put_events_calls: list[list[dict[str, Any]]]
) -> None:
    # Given 23 events to publish
    entries = _entries(23)
    # When they are put on the bus
    accepted = put_events(entries)
    # Then three calls were made, none over EventBridge's limit of ten, in order
    assert [len(call) for call in put_events_calls] == [10, 10, 3]
    assert PUT_EVENTS_MAX_ENTRIES == 10
    sent = [e for call in put_events_calls for e in call]
    assert [json.loads(e["Detail"]) for e in sent] == [{"n": n} for n in range(23)]
    assert {e["EventBusName"] for e in sent} == {bus}
    assert {(e["Source"], e["DetailType"]) for e in sent} == {("lms.user", "UserRegistered")}
    # And every entry counts as accepted
    assert accepted == [event_id for event_id, *_ in entries]


def test_exactly_ten_entries_are_one_call(put_events_calls: list[list[dict[str, Any]]]) -> None:
    put_events(_entries(10))
    assert [len(call) for call in put_events_calls] == [10]


def test_nothing_to_send_makes_no_call(put_events_calls: list[list[dict[str, Any]]]) -> None:
    assert put_events([]) == []
    assert put_events_calls == []


def test_only_the_entries_the_bus_accepted_count_as_published(
    bus: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Given a bus that fails the third entry of every call while accepting the call itself
    real = eventbridge.client()
    monkeypatch.setattr(real, "put_events", _failing_entries(real.put_events, {2}))
    entries = _entries(12)
    # When 12 entries are put (two calls: entries 3 and 13 are each call's third)
    accepted = put_events(entries)
    # Then all but the two failed ones are reported published, the failed ones left out
    ids = [event_id for event_id, *_ in entries]
    assert accepted == [i for n, i in enumerate(ids) if n not in (2, 12)]


def test_a_bus_that_does_not_exist_fails_the_call(bus: str, env: pytest.MonkeyPatch) -> None:
    # Given settings naming a bus that is not there
    from lms_platform.settings import reset_settings

    env.setenv("LMS_EVENT_BUS_NAME", "no-such-bus")
    reset_settings()
    # When / Then the error reaches the caller (the outbox keeps the rows for the relay)
    with pytest.raises(Exception, match="does not exist"):
        put_events(_entries(1))


def test_a_call_that_fails_as_a_whole_keeps_the_ids_accepted_before_it(
    bus: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Given a bus whose second call never answers (the client gives up on it)
    real = eventbridge.client()
    send, calls = real.put_events, []

    def second_fails(entries: list[dict[str, Any]], **options: Any) -> dict[str, Any]:
        calls.append(entries)
        if len(calls) == 2:
            raise eventbridge.PutEventsError("PutEvents did not answer")
        return send(entries, **options)

    monkeypatch.setattr(real, "put_events", second_fails)
    entries = _entries(25)
    # When 25 entries are put (three calls of at most ten)
    accepted = put_events(entries)
    # Then the first call's ten are reported published (the caller marks them and never
    # sends them again), and sending stopped at the failed call
    assert accepted == [event_id for event_id, *_ in entries[:10]]
    assert len(calls) == 2


def test_a_first_call_that_fails_as_a_whole_raises(
    bus: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Given a bus that does not answer at all
    real = eventbridge.client()

    def never(entries: list[dict[str, Any]], **options: Any) -> dict[str, Any]:
        raise eventbridge.PutEventsError("PutEvents did not answer")

    monkeypatch.setattr(real, "put_events", never)
    # When / Then the caller learns that nothing went out
    with pytest.raises(eventbridge.PutEventsError):
        put_events(_entries(3))


def test_a_relay_sweep_publishes_within_less_than_the_idle_transaction_timeout() -> None:
    # Given the time the server lets a transaction sit idle (the relay's holds its rows
    # locked while it publishes), When / Then the relay's publishing budget is well under it
    from lms_platform.migrations import ROLE_LIMITS
    from lms_platform.outbox import RELAY_PUBLISH_BUDGET_SECONDS

    idle = float(ROLE_LIMITS["idle_in_transaction_session_timeout"].removesuffix("s"))
    assert idle / 2 >= RELAY_PUBLISH_BUDGET_SECONDS
