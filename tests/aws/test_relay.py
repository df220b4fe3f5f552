"""The scheduled relay (``lms_platform.relay_handler``) of one service on AWS: what the
outbox still holds past the grace period goes to the bus."""

from __future__ import annotations

from typing import Any

import pytest

from lms_platform import relay_handler
from tests.aws.conftest import BUS, BusLog, LambdaEnv, Stack
from tests.support import call

pytestmark = pytest.mark.integration


def _unpublished(stack: Stack) -> list[list[Any]]:
    with stack.aurora.postgres.admin(stack.database) as admin:
        return admin.run(
            "SELECT event_type, detail->>'aggregateId' FROM lms_user.outbox"
            " WHERE published_at IS NULL"
        )


def _backdate_outbox(stack: Stack, seconds: int) -> None:
    with stack.aurora.postgres.admin(stack.database) as admin:
        admin.run(
            "UPDATE lms_user.outbox SET occurred_at = occurred_at - make_interval(secs => :s)",
            s=seconds,
        )


@pytest.fixture
def registered_but_unpublished(deployed: Stack, lambda_env: LambdaEnv) -> str:
    """A user registered while the bus refused the event: its outbox row is committed and
    unpublished. The User functions' environment stays set; the id of the user."""
    lambda_env.set(**deployed.function_env("user"), LMS_EVENT_BUS_NAME="no-such-bus")
    reply = call(
        "POST",
        "/auth/register",
        body={
            "email": "ada@example.com",
            "password": "correct horse battery",
            "displayName": "Ada",
        },
    )
    assert reply.status == 201, reply.body
    assert _unpublished(deployed) == [["UserRegistered", reply.body["id"]]]
    lambda_env.set(LMS_EVENT_BUS_NAME=BUS)  # the bus takes events again
    return str(reply.body["id"])


def test_relay_publishes_an_event_left_in_the_outbox_past_the_grace_period(
    deployed: Stack, lambda_env: LambdaEnv, registered_but_unpublished: str, bus_log: BusLog
) -> None:
    # Given the unpublished UserRegistered row is older than the grace period
    _backdate_outbox(deployed, 120)
    # When the scheduled relay of the User service runs
    result = relay_handler.handler({}, None)
    # Then it reports one event published, the bus has it, and the row is marked
    assert result["published"] == 1
    (event,) = bus_log.drain(expect=1)
    assert event["source"] == "lms.user"
    assert event["detail-type"] == "UserRegistered"
    assert event["detail"]["aggregateId"] == registered_but_unpublished
    assert _unpublished(deployed) == []
    # And a second run has nothing left to send
    assert relay_handler.handler({}, None)["published"] == 0


def test_relay_leaves_a_row_younger_than_the_grace_period_alone(
    deployed: Stack, registered_but_unpublished: str, bus_log: BusLog
) -> None:
    # Given the unpublished row was written just now (the default grace is a minute)
    # When the relay runs
    result = relay_handler.handler({}, None)
    # Then it sends nothing: the request that wrote the row may still be publishing it
    # and reports the row it leaves
    assert result["published"] == 0
    assert result["unpublished"] == 1
    assert bus_log.drain(expect=1, wait_seconds=0.5) == []
    assert len(_unpublished(deployed)) == 1


def test_relay_with_no_grace_period_sends_the_row_at_once(
    deployed: Stack, lambda_env: LambdaEnv, registered_but_unpublished: str, bus_log: BusLog
) -> None:
    # Given LMS_RELAY_GRACE_SECONDS=0
    lambda_env.set(LMS_RELAY_GRACE_SECONDS="0")
    # When the relay runs
    result = relay_handler.handler({}, None)
    # Then the fresh row is sent
    assert result["published"] == 1
    assert [e["detail-type"] for e in bus_log.drain(expect=1)] == ["UserRegistered"]


def test_relay_without_lms_service_raises_and_sends_nothing(
    deployed: Stack, lambda_env: LambdaEnv, registered_but_unpublished: str
) -> None:
    # Given an old unpublished row, and a relay whose environment names no service
    _backdate_outbox(deployed, 120)
    lambda_env.unset("LMS_SERVICE")
    # When it runs
    with pytest.raises(RuntimeError, match="LMS_SERVICE"):
        relay_handler.handler({}, None)
    # Then the row is still waiting
    assert len(_unpublished(deployed)) == 1
