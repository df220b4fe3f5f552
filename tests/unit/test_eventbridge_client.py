"""The hand-signed PutEvents client: its signature is botocore's, and it retries only
what is worth retrying."""

from __future__ import annotations

import json
import threading
from collections.abc import Iterator
from datetime import UTC, datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any, ClassVar

import pytest
from botocore.auth import SigV4Auth
from botocore.awsrequest import AWSRequest
from botocore.credentials import Credentials as BotoCredentials

from lms_platform import eventbridge
from lms_platform.eventbridge import Credentials, EventBridgeClient, PutEventsError, sign

NOW = datetime(2026, 11, 25, 21, 0, 7, tzinfo=UTC)
BODY = json.dumps({"Entries": [{"Source": "lms.user", "DetailType": "X", "Detail": "{}"}]})


def botocore_signature(url: str, creds: Credentials, monkeypatch: pytest.MonkeyPatch) -> str:
    import botocore.auth

    monkeypatch.setattr(botocore.auth, "get_current_datetime", lambda: NOW.replace(tzinfo=None))
    request = AWSRequest(
        method="POST",
        url=url,
        data=BODY.encode(),
        headers={
            "Content-Type": "application/x-amz-json-1.1",
            "X-Amz-Target": "AWSEvents.PutEvents",
        },
    )
    SigV4Auth(
        BotoCredentials(creds.access_key, creds.secret_key, creds.token), "events", "eu-west-1"
    ).add_auth(request)
    return str(request.headers["Authorization"])


@pytest.mark.parametrize(
    ("url", "token"),
    [
        ("https://events.eu-west-1.amazonaws.com/", None),
        ("https://events.eu-west-1.amazonaws.com/", "a-session-token/with+odd=chars"),
        ("http://127.0.0.1:4566/", "token"),
    ],
)
def test_the_signature_is_the_one_botocore_computes(
    url: str, token: str | None, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Given the same request, credentials and clock
    creds = Credentials("AKIDEXAMPLE", "wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY", token)
    # When both sign it
    ours = sign(
        method="POST",
        url=url,
        headers={
            "Content-Type": "application/x-amz-json-1.1",
            "X-Amz-Target": "AWSEvents.PutEvents",
        },
        body=BODY.encode(),
        region="eu-west-1",
        service="events",
        creds=creds,
        now=NOW,
    )
    # Then the Authorization headers are identical, and the token travels when there is one
    assert ours["Authorization"] == botocore_signature(url, creds, monkeypatch)
    assert ours["X-Amz-Date"] == "20261125T210007Z"
    assert ours.get("X-Amz-Security-Token") == token


class _Scripted(BaseHTTPRequestHandler):
    answers: ClassVar[list[tuple[int, dict[str, Any]]]] = []
    seen: ClassVar[list[dict[str, str]]] = []

    def do_POST(self) -> None:
        self.rfile.read(int(self.headers["Content-Length"]))
        type(self).seen.append(dict(self.headers))
        status, body = type(self).answers.pop(0)
        payload = json.dumps(body).encode()
        self.send_response(status)
        self.send_header("Content-Length", str(len(payload)))
        self.end_headers()
        self.wfile.write(payload)

    def log_message(self, *args: Any) -> None:
        pass


@pytest.fixture
def scripted_bus(monkeypatch: pytest.MonkeyPatch) -> Iterator[type[_Scripted]]:
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "testing")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "testing")
    monkeypatch.setattr(eventbridge.time, "sleep", lambda _: None)
    handler = type("Scripted", (_Scripted,), {"answers": [], "seen": []})
    server = ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    handler.url = f"http://127.0.0.1:{server.server_address[1]}"  # type: ignore[attr-defined]
    yield handler
    server.shutdown()


def test_a_throttled_or_failed_call_is_tried_again(scripted_bus: Any) -> None:
    # Given a bus that throttles, then fails, then accepts
    ok = {"FailedEntryCount": 0, "Entries": [{"EventId": "1"}]}
    scripted_bus.answers += [
        (400, {"__type": "ThrottlingException", "message": "slow down"}),
        (500, {"__type": "InternalException"}),
        (200, ok),
    ]
    # When one call is made
    answer = EventBridgeClient(scripted_bus.url, "us-east-1").put_events([{"Source": "s"}])
    # Then it took three attempts, each signed, and the last answer is returned
    assert answer == ok
    assert len(scripted_bus.seen) == 3
    assert all(h["Authorization"].startswith("AWS4-HMAC-SHA256 ") for h in scripted_bus.seen)
    assert {h["X-Amz-Target"] for h in scripted_bus.seen} == {"AWSEvents.PutEvents"}


def test_a_refused_call_is_not_tried_again(scripted_bus: Any) -> None:
    # Given a bus that refuses the request itself
    scripted_bus.answers += [(400, {"__type": "ResourceNotFoundException", "message": "no bus"})]
    # When / Then the error reaches the caller after one attempt
    with pytest.raises(PutEventsError, match="ResourceNotFoundException"):
        EventBridgeClient(scripted_bus.url, "us-east-1").put_events([{"Source": "s"}])
    assert len(scripted_bus.seen) == 1


def test_an_unreachable_endpoint_fails_after_bounded_attempts(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "testing")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "testing")
    monkeypatch.setattr(eventbridge.time, "sleep", lambda _: None)
    with pytest.raises(PutEventsError, match="did not answer"):
        EventBridgeClient("http://127.0.0.1:9", "us-east-1").put_events([{"Source": "s"}])
