"""PutEvents over one kept HTTPS connection, signed with AWS Signature Version 4
(``lms_platform.sigv4``).

Why not boto3 here: importing boto3 and building an EventBridge client costs ~210 ms,
which a write handler paid on its first publish and which alone broke the cold-start
budget (3x the floor of a bare handler; measured by ``make bench``). PutEvents is one
JSON POST; signing it takes the standard library. The signature is checked against
botocore's own signer in the tests.
"""

from __future__ import annotations

import http.client
import json
import time
import urllib.parse
from datetime import UTC, datetime
from typing import Any

from lms_platform.settings import get_settings
from lms_platform.sigv4 import Credentials, KeptConnection, NoCredentials, credentials, sign

__all__ = ["Credentials", "EventBridgeClient", "PutEventsError", "client", "sign"]

_SERVICE = "events"
_TARGET = "AWSEvents.PutEvents"
_CONTENT_TYPE = "application/x-amz-json-1.1"
_RETRYABLE_ERRORS = frozenset({"ThrottlingException", "InternalException", "ServiceUnavailable"})
_ATTEMPTS = 3
_TIMEOUT_SECONDS = 5.0


class PutEventsError(Exception):
    """The call as a whole failed (entries that failed one by one are not this)."""


class EventBridgeClient:
    """One kept connection per execution environment (thread), reopened when it drops."""

    def __init__(self, endpoint: str, region: str) -> None:
        self.endpoint = endpoint.rstrip("/") + "/"
        self.region = region
        parts = urllib.parse.urlsplit(self.endpoint)
        self._kept = KeptConnection(parts.scheme, parts.netloc)

    def put_events(
        self, entries: list[dict[str, Any]], *, budget: float | None = None
    ) -> dict[str, Any]:
        """One PutEvents call, retried on throttling and server errors. ``budget`` (seconds)
        bounds the whole, retries and back-off included: a request that publishes after
        its commit must answer within its own timeout, and leaves the rest to the relay."""
        body = json.dumps({"Entries": entries}).encode()
        deadline = None if budget is None else time.monotonic() + budget
        for attempt in range(1, _ATTEMPTS + 1):
            timeout = _TIMEOUT_SECONDS
            if deadline is not None:
                timeout = min(timeout, deadline - time.monotonic())
                if timeout <= 0.05:
                    raise PutEventsError("PutEvents did not answer within its time budget")
            try:
                creds = credentials()
            except NoCredentials as error:
                raise PutEventsError(str(error)) from error
            headers = sign(
                method="POST",
                url=self.endpoint,
                headers={"Content-Type": _CONTENT_TYPE, "X-Amz-Target": _TARGET},
                body=body,
                region=self.region,
                service=_SERVICE,
                creds=creds,
                now=datetime.now(UTC),
            )
            try:
                connection = self._kept.get(timeout)
                connection.request(
                    "POST",
                    urllib.parse.urlsplit(self.endpoint).path or "/",
                    body=body,
                    headers=headers,
                )
                response = connection.getresponse()
                payload = response.read()
            except (OSError, http.client.HTTPException) as error:
                self._kept.drop()
                if attempt == _ATTEMPTS:
                    raise PutEventsError(f"PutEvents did not answer: {error}") from error
            else:
                answer: dict[str, Any] = json.loads(payload) if payload else {}
                if response.status == 200:
                    return answer
                kind = str(answer.get("__type", "")).rsplit("#", 1)[-1]
                retry = response.status >= 500 or kind in _RETRYABLE_ERRORS
                if not retry or attempt == _ATTEMPTS:
                    raise PutEventsError(f"PutEvents answered {response.status}: {answer}")
            pause = 0.05 * 2**attempt
            if deadline is not None and time.monotonic() + pause >= deadline:
                raise PutEventsError("PutEvents did not answer within its time budget")
            time.sleep(pause)
        raise AssertionError("unreachable")


_clients: dict[tuple[str, str], EventBridgeClient] = {}


def client() -> EventBridgeClient:
    settings = get_settings()
    endpoint = settings.aws_endpoint_url or f"https://events.{settings.aws_region}.amazonaws.com"
    key = (endpoint, settings.aws_region)
    found = _clients.get(key)
    if found is None:
        found = _clients.setdefault(key, EventBridgeClient(endpoint, settings.aws_region))
    return found
