"""The product as a user runs it: ``lms run`` in a process of its own, spoken to over HTTP.

A student registers, logs in and reads ``/me``; ``lms create-admin`` makes an
administrator; the administrator makes the student an instructor, which the student's
next token shows; the bus carried UserRegistered and RoleAssigned with the right data.
Bad input and bad tokens are refused the documented way, and Ctrl-C stops everything.
"""

from __future__ import annotations

import json
import os
import secrets
import signal
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

pytestmark = pytest.mark.e2e

# Read at import, before any fixture of the session sets its own value: a server the
# person running the tests provided (the runtime gets a fresh database on it).
GIVEN_DATABASE_URL = os.environ.get("LMS_DATABASE_URL")
START_TIMEOUT = 90.0
PASSWORD = "correct horse battery staple"


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _lms_command() -> list[str]:
    script = Path(sys.executable).parent / "lms"
    if script.exists():
        return [str(script)]
    return [sys.executable, "-m", "lms_local.cli"]


def _require_outside_dependencies() -> None:
    """Skip (never pass) when what the project cannot provide itself is missing."""
    pytest.importorskip("moto.server", reason="moto[server] is not installed")
    if not GIVEN_DATABASE_URL:
        import importlib.util

        if importlib.util.find_spec("pgserver") is None:
            pytest.skip("no embedded PostgreSQL (pgserver) for this Python and no LMS_DATABASE_URL")


def _fresh_database(url: str) -> str:
    from lms_platform.db import open_connection, params_from_url

    name = f"lms_e2e_{secrets.token_hex(4)}"
    connection = open_connection(params_from_url(url))
    try:
        connection.run(f'CREATE DATABASE "{name}"')
    finally:
        connection.close()
    head, _, tail = url.partition("?")
    return f"{head.rsplit('/', 1)[0]}/{name}" + (f"?{tail}" if tail else "")


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
            [*_lms_command(), *args],
            env=self.env,
            input=stdin,
            capture_output=True,
            text=True,
            timeout=60,
            check=False,
        )


@pytest.fixture(scope="module")
def runtime(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Runtime]:
    _require_outside_dependencies()
    folder = tmp_path_factory.mktemp("lms-e2e")
    port, moto_port = _free_port(), _free_port()
    # The runtime sees none of this session's LMS_*/AWS_* settings: only its own.
    env = {k: v for k, v in os.environ.items() if not k.startswith(("LMS_", "AWS_"))}
    env.update(
        {
            "LMS_STATE_DIR": str(folder / ".lms"),
            "LMS_PORT": str(port),
            "LMS_MOTO_PORT": str(moto_port),
            "PYTHONUNBUFFERED": "1",
        }
    )
    if GIVEN_DATABASE_URL:
        env["LMS_DATABASE_URL"] = _fresh_database(GIVEN_DATABASE_URL)
    stdout, stderr = folder / "stdout.txt", folder / "stderr.txt"
    with stdout.open("wb") as out, stderr.open("wb") as err:
        process = subprocess.Popen(
            [*_lms_command(), "run"], env=env, stdout=out, stderr=err, cwd=folder
        )
    started = time.monotonic()
    rt = Runtime(
        process,
        f"http://127.0.0.1:{port}",
        f"http://127.0.0.1:{moto_port}",
        env,
        folder / ".lms",
        stdout,
        stderr,
    )
    try:
        _wait_until_healthy(rt)
        print(f"lms run healthy in {time.monotonic() - started:.1f} s")
        yield rt
    finally:
        if process.poll() is None:
            process.send_signal(signal.SIGINT)
            try:
                process.wait(timeout=30)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait()


def _wait_until_healthy(rt: Runtime) -> None:
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
) -> Reply:
    data = raw if raw is not None else (None if body is None else json.dumps(body).encode())
    request = urllib.request.Request(rt.url + path, data=data, method=method)  # noqa: S310
    if data is not None:
        request.add_header("Content-Type", "application/json")
    if token is not None:
        request.add_header("Authorization", f"Bearer {token}")
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


def _aws(rt: Runtime, name: str) -> Any:
    import boto3

    return boto3.client(
        name,  # type: ignore[call-overload]
        endpoint_url=rt.aws,
        region_name="us-east-1",
        aws_access_key_id="testing",
        aws_secret_access_key="testing",
    )


@dataclass
class BusTap:
    """A rule on the runtime's bus for ``lms.user`` events, into a queue of the test's."""

    sqs: Any
    queue_url: str
    seen: list[dict[str, Any]]

    def wait_for(self, predicate: Any, timeout: float = 15.0) -> dict[str, Any]:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            for event in self.seen:
                if predicate(event):
                    return event
            reply = self.sqs.receive_message(
                QueueUrl=self.queue_url, MaxNumberOfMessages=10, WaitTimeSeconds=1
            )
            for message in reply.get("Messages", []):
                self.seen.append(json.loads(message["Body"]))
                self.sqs.delete_message(
                    QueueUrl=self.queue_url, ReceiptHandle=message["ReceiptHandle"]
                )
        kinds = [e.get("detail-type") for e in self.seen]
        raise AssertionError(f"no such event within {timeout} s; seen: {kinds}")


@pytest.fixture(scope="module")
def bus_tap(runtime: Runtime) -> BusTap:
    events, sqs = _aws(runtime, "events"), _aws(runtime, "sqs")
    url = sqs.create_queue(QueueName="e2e-user-events")["QueueUrl"]
    arn = sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["QueueArn"])["Attributes"][
        "QueueArn"
    ]
    events.put_rule(
        Name="e2e-user-events",
        EventBusName="lms",
        EventPattern=json.dumps({"source": ["lms.user"]}),
    )
    events.put_targets(
        Rule="e2e-user-events", EventBusName="lms", Targets=[{"Id": "e2e", "Arn": arn}]
    )
    return BusTap(sqs, url, [])


def _claims(token: str) -> dict[str, Any]:
    import jwt

    claims: dict[str, Any] = jwt.decode(token, options={"verify_signature": False})
    return claims


def _login(rt: Runtime, email: str, password: str = PASSWORD) -> str:
    reply = http(rt, "POST", "/auth/login", body={"email": email, "password": password})
    assert reply.status == 200, reply.body
    assert reply.body["tokenType"] == "Bearer"
    return str(reply.body["accessToken"])


def test_a_student_becomes_an_instructor_and_the_bus_hears_of_it(
    runtime: Runtime, bus_tap: BusTap
) -> None:
    student_email = f"student-{uuid.uuid4().hex[:8]}@example.com"
    admin_email = f"admin-{uuid.uuid4().hex[:8]}@example.com"

    # Given a student who registered and logged in
    registered = http(
        runtime,
        "POST",
        "/auth/register",
        body={"email": student_email, "password": PASSWORD, "displayName": "Stu Dent"},
    )
    assert registered.status == 201, registered.body
    student_id = registered.body["id"]
    assert registered.body["roles"] == ["STUDENT"]
    student_token = _login(runtime, student_email)
    me = http(runtime, "GET", "/me", token=student_token)
    assert me.status == 200, me.body
    assert me.body["id"] == student_id and me.body["roles"] == ["STUDENT"]
    assert me.body["profile"]["displayName"] == "Stu Dent"

    # And an administrator made from the command line, while the runtime runs
    made = runtime.lms(
        "create-admin",
        "--email",
        admin_email,
        "--display-name",
        "Ad Min",
        "--password-stdin",
        stdin=PASSWORD + "\n",
    )
    assert made.returncode == 0, made.stdout + made.stderr
    admin_token = _login(runtime, admin_email)
    admin_id = _claims(admin_token)["sub"]
    assert "ADMIN" in _claims(admin_token)["roles"].split()

    # When the administrator makes the student an instructor
    assigned = http(runtime, "PUT", f"/users/{student_id}/roles/INSTRUCTOR", token=admin_token)
    assert assigned.status == 200, assigned.body
    assert "INSTRUCTOR" in assigned.body["roles"]

    # Then the student's next token and /me show the new role
    new_token = _login(runtime, student_email)
    assert set(_claims(new_token)["roles"].split()) == {"STUDENT", "INSTRUCTOR"}
    again = http(runtime, "GET", "/me", token=new_token)
    assert set(again.body["roles"]) == {"STUDENT", "INSTRUCTOR"}

    # And the bus carried the registrations and the role, with their data
    student_registered = bus_tap.wait_for(
        lambda e: (
            e["detail-type"] == "UserRegistered" and e["detail"]["data"]["userId"] == student_id
        )
    )
    assert student_registered["source"] == "lms.user"
    assert student_registered["detail"]["data"]["email"] == student_email
    assert student_registered["detail"]["data"]["roles"] == ["STUDENT"]
    assert student_registered["detail"]["aggregateId"] == student_id
    admin_registered = bus_tap.wait_for(
        lambda e: e["detail-type"] == "UserRegistered" and e["detail"]["data"]["userId"] == admin_id
    )
    assert admin_registered["detail"]["data"]["roles"] == ["ADMIN"]
    role = bus_tap.wait_for(
        lambda e: e["detail-type"] == "RoleAssigned" and e["detail"]["data"]["userId"] == student_id
    )
    assert role["detail"]["data"]["role"] == "INSTRUCTOR"
    assert role["detail"]["data"]["assignedBy"] == admin_id
    assert role["detail"]["eventType"] == "RoleAssigned"
    uuid.UUID(role["detail"]["eventId"])


def _problem(reply: Reply, status: int) -> dict[str, Any]:
    assert reply.status == status, (reply.status, reply.body)
    assert reply.headers["content-type"].startswith("application/problem+json"), reply.headers
    assert reply.body["status"] == status
    body: dict[str, Any] = reply.body
    return body


def test_bad_input_is_refused_with_problem_documents(runtime: Runtime) -> None:
    _problem(http(runtime, "POST", "/auth/register", raw=b'{"email": '), 400)
    missing = _problem(
        http(runtime, "POST", "/auth/register", body={"email": "x@example.com"}), 422
    )
    assert missing["errors"], missing
    large = {"email": "a@example.com", "password": "x" * 100_000, "displayName": "A"}
    _problem(http(runtime, "POST", "/auth/register", body=large), 413)
    _problem(http(runtime, "GET", "/no/such/route"), 404)
    _problem(http(runtime, "DELETE", "/me"), 405)


def _forged_tokens(rt: Runtime, user_id: str) -> dict[str, str]:
    import jwt

    from lms_platform.auth import SigningKey, generate_private_key_pem

    key = SigningKey.from_pem((rt.state / "signing-key.pem").read_text())
    other = SigningKey.from_pem(generate_private_key_pem())
    now = int(time.time())
    good = {
        "iss": rt.url,
        "aud": "lms-api",
        "sub": user_id,
        "iat": now,
        "exp": now + 300,
        "roles": "ADMIN",
    }

    def sign(claims: dict[str, Any], signer: Any = key.private_key, alg: str = "RS256") -> str:
        return str(jwt.encode(claims, signer, algorithm=alg, headers={"kid": key.kid}))

    return {
        "valid": sign(good),
        "expired": sign({**good, "iat": now - 900, "exp": now - 600}),
        "wrong signature": sign(good, other.private_key),
        "alg none": sign(good, None, "none"),
        "wrong audience": sign({**good, "aud": "someone-else"}),
        "wrong issuer": sign({**good, "iss": "https://issuer.example"}),
    }


def test_bad_tokens_are_401_and_a_student_is_403_on_admin_routes(runtime: Runtime) -> None:
    email = f"s-{uuid.uuid4().hex[:8]}@example.com"
    registered = http(
        runtime,
        "POST",
        "/auth/register",
        body={"email": email, "password": PASSWORD, "displayName": "S"},
    )
    assert registered.status == 201
    tokens = _forged_tokens(runtime, registered.body["id"])
    # The control: a token signed with the runtime's key, right claims, is accepted
    assert http(runtime, "GET", "/me", token=tokens.pop("valid")).status == 200
    for case, token in tokens.items():
        reply = http(runtime, "GET", "/me", token=token)
        assert reply.status == 401, case
        assert reply.body == {"message": "Unauthorized"}, case
        assert reply.headers["www-authenticate"].startswith("Bearer"), case
    assert http(runtime, "GET", "/me").status == 401
    # A real student token on an administrator's route
    student = _login(runtime, email)
    _problem(http(runtime, "GET", "/users", token=student), 403)


def test_the_openapi_document_is_served(runtime: Runtime) -> None:
    reply = http(runtime, "GET", "/openapi.json")
    assert reply.status == 200
    assert "/users/{userId}/roles/{role}" in reply.body["paths"]
    assert reply.body["servers"] == [{"url": runtime.url}]


def test_ctrl_c_stops_everything_cleanly(runtime: Runtime) -> None:
    # Given the running runtime (every other test of this module ran before this one)
    assert runtime.process.poll() is None
    # When it gets SIGINT
    runtime.process.send_signal(signal.SIGINT)
    code = runtime.process.wait(timeout=30)
    # Then it exits 0, says so, forgets its record and leaves no PostgreSQL running
    assert code == 0, runtime.output()
    assert "stopped" in runtime.output()
    assert "Traceback" not in runtime.output(), runtime.output()
    assert not (runtime.state / "runtime.json").exists()
    if not GIVEN_DATABASE_URL:
        assert not (runtime.state / "pg" / "postmaster.pid").exists()
