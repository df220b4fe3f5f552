"""What an operator sees: one JSON line per request (and per delivered event) with the
fields an operator needs, correlation ids checked before they are used, and never a
password, token, secret or signed URL in the output."""

from __future__ import annotations

import json
import uuid
from collections.abc import Callable
from typing import Any

import pytest

from tests.handlers.conftest import PASSWORD, Account
from tests.support import api_event, call, route_for

SECRET_LOOKING = "sk_live_51HfakeSECRETvalue0123456789"
SIGNED_URL = (
    "https://lms-content.s3.amazonaws.com/x.pdf?X-Amz-Algorithm=AWS4-HMAC-SHA256"
    "&X-Amz-Credential=AKIAFAKE%2F20261130&X-Amz-Signature=deadbeefcafe0123456789"
)


def _lines(captured: Any) -> list[dict[str, Any]]:
    """The JSON lines the functions wrote (stdout), parsed."""
    found = []
    for line in captured.out.splitlines():
        line = line.strip()
        if line.startswith("{") and '"level"' in line:
            found.append(json.loads(line))
    return found


def _requests(captured: Any) -> list[dict[str, Any]]:
    return [line for line in _lines(captured) if line.get("kind") == "request"]


def test_a_request_writes_one_line_with_what_an_operator_needs(
    register: Callable[..., Account], capfd: pytest.CaptureFixture[str]
) -> None:
    ada = register("ada@example.com")
    capfd.readouterr()
    # When one request is served
    reply = call("GET", "/me", caller=ada.caller, headers={"x-correlation-id": "trace-123"})
    assert reply.status == 200
    # Then exactly one request line says what was served, to whom it belongs and how fast
    (line,) = _requests(capfd.readouterr())
    assert line["level"] == "INFO"
    assert line["service"] == "user"
    assert line["function"] == "get_me"
    assert (line["method"], line["path"], line["status"]) == ("GET", "/me", 200)
    assert line["correlationId"] == "trace-123"
    assert line["requestId"]
    assert isinstance(line["durationMs"], float)
    # And the correlation id travels back to the caller
    assert reply.headers["X-Correlation-Id"] == "trace-123"


@pytest.mark.parametrize(
    "given",
    ["a\x00b", "x" * 129, "spaces are not allowed", "semi;colon", "<script>", "é"],
    ids=["nul", "too long", "spaces", "semicolon", "markup", "non-ascii"],
)
def test_a_malformed_correlation_id_is_replaced_never_used_raw(
    register: Callable[..., Account], capfd: pytest.CaptureFixture[str], given: str
) -> None:
    ada = register("ada@example.com")
    capfd.readouterr()
    reply = call("GET", "/me", caller=ada.caller, headers={"x-correlation-id": given})
    captured = capfd.readouterr()
    (line,) = _requests(captured)
    # A new id stands in its place, in the log line and the answer alike
    assert str(uuid.UUID(line["correlationId"])) == line["correlationId"]
    assert reply.headers["X-Correlation-Id"] == line["correlationId"]
    assert given not in captured.out + captured.err


def test_no_password_token_secret_or_signed_url_is_ever_logged(
    register: Callable[..., Account], capfd: pytest.CaptureFixture[str], admin: Account
) -> None:
    capfd.readouterr()
    # Given requests that carry a password, a bearer token, a secret-looking value and a
    # signed URL in every place a request can carry them, some refused, some failing
    register("grace@example.com", password=PASSWORD)
    login = call("POST", "/auth/login", body={"email": "grace@example.com", "password": PASSWORD})
    assert login.status == 200
    token = login.body["accessToken"]
    wrong = call("POST", "/auth/login", body={"email": "grace@example.com", "password": "nope" * 4})
    assert wrong.status == 401
    headers = {
        "authorization": f"Bearer {token}",
        "x-api-key": SECRET_LOOKING,
        "x-signed-url": SIGNED_URL,
    }
    call("PATCH", "/me/profile", caller=admin.caller, headers=headers, body={"bio": SECRET_LOOKING})
    call("PATCH", "/me/profile", caller=admin.caller, body={"avatarUrl": SIGNED_URL})
    call("PATCH", "/me/profile", caller=admin.caller, raw_body='{"bio": "' + token)  # malformed
    route, module = route_for("GET", "/courses")
    event = api_event(route, query={"cursor": SIGNED_URL}, headers=headers)
    module.handler(event, None)
    # Then none of them appears anywhere in what the functions wrote
    captured = capfd.readouterr()
    output = captured.out + captured.err
    assert _requests(captured), "the requests were logged"
    for value in (PASSWORD, token, token.split(".")[2], SECRET_LOOKING, "X-Amz-Signature"):
        assert value not in output


def test_a_delivered_event_writes_one_line_and_a_duplicate_is_counted(
    db_clean: None, capfd: pytest.CaptureFixture[str], override_env: Any
) -> None:
    from functions.enrollment import consumer
    from lms_events import course as course_events
    from lms_events.envelope import Envelope

    override_env("LMS_METRICS_FORMAT", "log")
    course_id = uuid.uuid4()
    data = course_events.CourseCreated(
        course_id=course_id,
        version=1,
        title="T",
        slug="t",
        description=None,
        status="DRAFT",
        created_by=uuid.uuid4(),
    )
    envelope = Envelope.wrap(data, aggregate_id=course_id, correlation_id="corr-1")
    event = {
        "source": "lms.course",
        "detail-type": "CourseCreated",
        "detail": json.loads(envelope.detail_json()),
    }
    capfd.readouterr()
    consumer.consumer.deliver(event)
    consumer.consumer.deliver(event)
    lines = [line for line in _lines(capfd.readouterr()) if line.get("kind") == "delivery"]
    assert [line["outcome"] for line in lines] == ["applied", "duplicate"]
    assert {line["eventId"] for line in lines} == {str(envelope.event_id)}
    assert {line["correlationId"] for line in lines} == {"corr-1"}
    assert lines[1]["metrics"] == {"InboxDuplicatesSkipped": 1}


def test_a_request_that_counts_a_metric_emits_it_as_embedded_metric_format(
    db_clean: None, capfd: pytest.CaptureFixture[str], override_env: Any
) -> None:
    # Given the metrics of a deployed function (EMF) in the stage's namespace
    override_env("LMS_METRICS_FORMAT", "emf")
    override_env("LMS_STAGE", "dev")
    capfd.readouterr()
    # When a registration succeeds
    reply = call(
        "POST",
        "/auth/register",
        body={"email": "emf@example.com", "password": PASSWORD, "displayName": "E"},
    )
    assert reply.status == 201
    # Then one EMF document counts it, with the service as its dimension
    documents = [
        json.loads(line) for line in capfd.readouterr().out.splitlines() if '"_aws"' in line
    ]
    (document,) = documents
    (directive,) = document["_aws"]["CloudWatchMetrics"]
    assert directive["Namespace"] == "LMS/dev"
    assert directive["Dimensions"] == [["service"]]
    assert document["service"] == "user"
    assert document["UsersRegistered"] == [1.0]
