"""Helpers for tests: real API Gateway v2 events, handler calls, and the bus observed."""

from __future__ import annotations

import base64
import contextlib
import importlib
import json
import shutil
import socket
import tempfile
import time
import uuid
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from functions.registry import SERVICES
from lms_platform import auth
from lms_platform.service import Route


def route_for(method: str, path_template: str) -> tuple[Route, Any]:
    for service in SERVICES:
        for route in service.routes:
            if route.method == method and route.path == path_template:
                return route, importlib.import_module(service.handler_path(route).rsplit(".", 1)[0])
    raise KeyError(f"{method} {path_template}")


def api_event(
    route: Route,
    *,
    path_params: dict[str, str] | None = None,
    query: dict[str, str] | None = None,
    body: Any = None,
    raw_body: str | None = None,
    claims: dict[str, Any] | None = None,
    headers: dict[str, str] | None = None,
    source_ip: str = "127.0.0.1",
) -> dict[str, Any]:
    """An API Gateway HTTP API payload 2.0 event, as the gateway sends it to the function."""
    path = route.path
    for name, value in (path_params or {}).items():
        path = path.replace("{" + name + "}", value)
    text = raw_body if raw_body is not None else (None if body is None else json.dumps(body))
    now = time.time()
    request_context: dict[str, Any] = {
        "accountId": "123456789012",
        "apiId": "local",
        "domainName": "127.0.0.1",
        "domainPrefix": "127",
        "http": {
            "method": route.method,
            "path": path,
            "protocol": "HTTP/1.1",
            "sourceIp": source_ip,
            "userAgent": "pytest",
        },
        "requestId": str(uuid.uuid4()),
        "routeKey": route.key,
        "stage": "$default",
        "time": time.strftime("%d/%b/%Y:%H:%M:%S +0000", time.gmtime(now)),
        "timeEpoch": int(now * 1000),
    }
    if claims is not None:
        # API Gateway hands claims over as strings.
        request_context["authorizer"] = {
            "jwt": {"claims": {k: str(v) for k, v in claims.items()}, "scopes": None}
        }
    all_headers = {"content-type": "application/json", **(headers or {})}
    return {
        "version": "2.0",
        "routeKey": route.key,
        "rawPath": path,
        "rawQueryString": "&".join(f"{k}={v}" for k, v in (query or {}).items()),
        "headers": all_headers,
        "queryStringParameters": query or None,
        "pathParameters": path_params or None,
        "requestContext": request_context,
        "body": text,
        "isBase64Encoded": False,
    }


@dataclass
class Reply:
    status: int
    headers: dict[str, str]
    body: Any

    @property
    def content_type(self) -> str:
        return {k.lower(): v for k, v in self.headers.items()}.get("content-type", "")


def call(
    method: str,
    path_template: str,
    *,
    caller: dict[str, Any] | None = None,
    **kwargs: Any,
) -> Reply:
    """Invoke the Lambda handler of a declared route with a real v2 event."""
    route, module = route_for(method, path_template)
    result = module.handler(api_event(route, claims=caller, **kwargs), None)
    raw = result.get("body") or ""
    if result.get("isBase64Encoded"):
        raw = base64.b64decode(raw).decode()
    try:
        body = json.loads(raw) if raw else None
    except json.JSONDecodeError:
        body = raw
    return Reply(int(result["statusCode"]), dict(result.get("headers") or {}), body)


def claims_of(token: str) -> dict[str, Any]:
    """The claims of a token, verified as the gateway would."""
    from lms_platform.settings import get_settings

    s = get_settings()
    return auth.verify_token(
        token, auth.jwks()["keys"], issuer=s.jwt_issuer, audience=s.jwt_audience
    )


def wide(text: str) -> str:
    """``text`` in full-width forms (U+FF01..U+FF5E): look-alikes that NFKC folds back."""
    return "".join(chr(ord(c) + 0xFEE0) if "!" <= c <= "~" else c for c in text)


def as_caller(
    user_id: uuid.UUID | str, *roles: str, email: str = "x@example.com"
) -> dict[str, Any]:
    return {"sub": str(user_id), "roles": " ".join(roles), "email": email}


@dataclass
class EventLog:
    """A rule on the bus for every ``lms.*`` source, into a queue the test reads."""

    events: Any
    sqs: Any
    name: str
    queue_url: str
    seen: list[dict[str, Any]] = field(default_factory=list)

    @classmethod
    def create(cls, events: Any, sqs: Any) -> EventLog:
        from lms_platform import topology

        name = f"test-log-{uuid.uuid4().hex[:8]}"
        queue_url = sqs.create_queue(QueueName=name)["QueueUrl"]
        arn = sqs.get_queue_attributes(QueueUrl=queue_url, AttributeNames=["QueueArn"])[
            "Attributes"
        ]["QueueArn"]
        events.put_rule(
            Name=name,
            EventBusName=topology.EVENT_BUS,
            EventPattern=json.dumps({"source": [{"prefix": "lms."}]}),
        )
        events.put_targets(
            Rule=name, EventBusName=topology.EVENT_BUS, Targets=[{"Id": "log", "Arn": arn}]
        )
        return cls(events, sqs, name, queue_url)

    def drain(self, wait_seconds: float = 2.0, expect: int = 0) -> list[dict[str, Any]]:
        deadline = time.monotonic() + wait_seconds
        while True:
            reply = self.sqs.receive_message(
                QueueUrl=self.queue_url, MaxNumberOfMessages=10, WaitTimeSeconds=0
            )
            for message in reply.get("Messages", []):
                self.seen.append(json.loads(message["Body"]))
                self.sqs.delete_message(
                    QueueUrl=self.queue_url, ReceiptHandle=message["ReceiptHandle"]
                )
            if len(self.seen) >= expect and (expect or time.monotonic() >= deadline):
                return self.seen
            if time.monotonic() >= deadline:
                return self.seen
            time.sleep(0.05)

    def of_type(self, detail_type: str) -> list[dict[str, Any]]:
        return [e for e in self.seen if e.get("detail-type") == detail_type]

    def delete(self) -> None:
        from lms_platform import topology

        self.events.remove_targets(Rule=self.name, EventBusName=topology.EVENT_BUS, Ids=["log"])
        self.events.delete_rule(Name=self.name, EventBusName=topology.EVENT_BUS)
        self.sqs.delete_queue(QueueUrl=self.queue_url)


def scalar(admin_sql: Any, sql: str, **params: Any) -> Any:
    """The first value of a query run on the admin connection (for assertions on rows)."""
    rows = admin_sql.run(sql, **params)
    return rows[0][0] if rows else None


def row_counts(admin_sql: Any, *tables: str) -> dict[str, int]:
    """``{table: rows}`` for schema-qualified tables: a snapshot to prove nothing changed."""
    return {t: int(scalar(admin_sql, f"SELECT count(*) FROM {t}")) for t in tables}


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@contextlib.contextmanager
def server_folder(prefix: str) -> Iterator[Path]:
    """A folder for a PostgreSQL server's data, deleted afterwards.

    Not under pytest's temporary folder: as root the server runs as another user, who must
    be able to reach its folder until it stops, and every pytest session started as root
    on the machine makes /tmp/pytest-of-root private again.
    """
    folder = Path(tempfile.mkdtemp(prefix=f"lms-{prefix}-"))
    try:
        yield folder
    finally:
        shutil.rmtree(folder, ignore_errors=True)
