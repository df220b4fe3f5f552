"""PutEvents over one kept HTTPS connection, signed with AWS Signature Version 4.

Why not boto3 here: importing boto3 and building an EventBridge client costs ~210 ms,
which a write handler paid on its first publish and which alone broke the cold-start
budget (3x the floor of a bare handler; measured by ``make bench``). PutEvents is one
JSON POST; signing it takes the standard library. The signature is checked against
botocore's own signer in the tests. Everything else that talks to AWS uses boto3.
"""

from __future__ import annotations

import hashlib
import hmac
import http.client
import json
import os
import ssl
import threading
import time
import urllib.parse
from dataclasses import dataclass
from datetime import UTC, datetime
from functools import lru_cache
from typing import Any

from lms_platform.settings import get_settings

_SERVICE = "events"
_TARGET = "AWSEvents.PutEvents"
_CONTENT_TYPE = "application/x-amz-json-1.1"
_RETRYABLE_ERRORS = frozenset({"ThrottlingException", "InternalException", "ServiceUnavailable"})
_ATTEMPTS = 3
_TIMEOUT_SECONDS = 5.0


class PutEventsError(Exception):
    """The call as a whole failed (entries that failed one by one are not this)."""


@dataclass(frozen=True)
class Credentials:
    access_key: str
    secret_key: str
    token: str | None = None


def credentials() -> Credentials:
    # On Lambda the execution role's credentials are always in the environment.
    key, secret = os.environ.get("AWS_ACCESS_KEY_ID"), os.environ.get("AWS_SECRET_ACCESS_KEY")
    if key and secret:
        return Credentials(key, secret, os.environ.get("AWS_SESSION_TOKEN") or None)
    import boto3  # elsewhere: profiles, SSO and the rest of the SDK's chain

    found = boto3.session.Session().get_credentials()
    if found is None:
        raise PutEventsError("no AWS credentials")
    frozen = found.get_frozen_credentials()
    return Credentials(str(frozen.access_key), str(frozen.secret_key), frozen.token)


def sign(
    *,
    method: str,
    url: str,
    headers: dict[str, str],
    body: bytes,
    region: str,
    service: str,
    creds: Credentials,
    now: datetime,
) -> dict[str, str]:
    """``headers`` plus X-Amz-Date, the session token and Authorization (SigV4)."""
    parts = urllib.parse.urlsplit(url)
    amz_date = now.strftime("%Y%m%dT%H%M%SZ")
    day = amz_date[:8]
    signed = {k.lower(): " ".join(v.strip().split()) for k, v in headers.items()}
    signed["host"] = parts.netloc
    signed["x-amz-date"] = amz_date
    if creds.token:
        signed["x-amz-security-token"] = creds.token
    names = sorted(signed)
    canonical = "\n".join(
        [
            method,
            urllib.parse.quote(parts.path or "/", safe="/-_.~"),
            parts.query,
            "".join(f"{name}:{signed[name]}\n" for name in names),
            ";".join(names),
            hashlib.sha256(body).hexdigest(),
        ]
    )
    scope = f"{day}/{region}/{service}/aws4_request"
    to_sign = "\n".join(
        ["AWS4-HMAC-SHA256", amz_date, scope, hashlib.sha256(canonical.encode()).hexdigest()]
    )
    key = _signing_key(creds.secret_key, day, region, service)
    signature = hmac.new(key, to_sign.encode(), hashlib.sha256).hexdigest()
    result = {**headers, "X-Amz-Date": amz_date}
    if creds.token:
        result["X-Amz-Security-Token"] = creds.token
    result["Authorization"] = (
        f"AWS4-HMAC-SHA256 Credential={creds.access_key}/{scope}, "
        f"SignedHeaders={';'.join(names)}, Signature={signature}"
    )
    return result


@lru_cache(maxsize=8)
def _signing_key(secret: str, day: str, region: str, service: str) -> bytes:
    key = hmac.new(f"AWS4{secret}".encode(), day.encode(), hashlib.sha256).digest()
    for part in (region, service, "aws4_request"):
        key = hmac.new(key, part.encode(), hashlib.sha256).digest()
    return key


class EventBridgeClient:
    """One kept connection per execution environment (thread), reopened when it drops."""

    def __init__(self, endpoint: str, region: str) -> None:
        self.endpoint = endpoint.rstrip("/") + "/"
        self.region = region
        self._local = threading.local()

    def _connection(self, timeout: float) -> http.client.HTTPConnection:
        connection: http.client.HTTPConnection | None = getattr(self._local, "connection", None)
        if connection is None:
            parts = urllib.parse.urlsplit(self.endpoint)
            if parts.scheme == "https":
                connection = http.client.HTTPSConnection(
                    parts.netloc, timeout=timeout, context=_tls_context()
                )
            else:
                connection = http.client.HTTPConnection(parts.netloc, timeout=timeout)
            self._local.connection = connection
        connection.timeout = timeout
        if connection.sock is not None:
            connection.sock.settimeout(timeout)
        return connection

    def _drop_connection(self) -> None:
        connection = getattr(self._local, "connection", None)
        if connection is not None:
            connection.close()
            self._local.connection = None

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
            headers = sign(
                method="POST",
                url=self.endpoint,
                headers={"Content-Type": _CONTENT_TYPE, "X-Amz-Target": _TARGET},
                body=body,
                region=self.region,
                service=_SERVICE,
                creds=credentials(),
                now=datetime.now(UTC),
            )
            try:
                connection = self._connection(timeout)
                connection.request(
                    "POST",
                    urllib.parse.urlsplit(self.endpoint).path or "/",
                    body=body,
                    headers=headers,
                )
                response = connection.getresponse()
                payload = response.read()
            except (OSError, http.client.HTTPException) as error:
                self._drop_connection()
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


@lru_cache(maxsize=1)
def _tls_context() -> ssl.SSLContext:
    return ssl.create_default_context()


_clients: dict[tuple[str, str], EventBridgeClient] = {}


def client() -> EventBridgeClient:
    settings = get_settings()
    endpoint = settings.aws_endpoint_url or f"https://events.{settings.aws_region}.amazonaws.com"
    key = (endpoint, settings.aws_region)
    found = _clients.get(key)
    if found is None:
        found = _clients.setdefault(key, EventBridgeClient(endpoint, settings.aws_region))
    return found
