"""A tiny fake service served by the real gateway, and tokens signed by a test key."""

from __future__ import annotations

import time
import uuid
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

import pytest

from lms_local.gateway import Gateway, GatewayServer, JwtAuthorizer
from lms_local.lambdas import WorkerPool
from lms_platform import auth
from lms_platform.http import ApiModel, Endpoint, current_principal
from lms_platform.service import Route, Service

ISSUER = "http://127.0.0.1:3000"
AUDIENCE = "lms-api"

FAKE = Service(
    name="fake",
    routes=(
        Route("POST", "/things", "create_thing", public=True, status=201),
        Route("GET", "/things/{thingId}", "get_thing"),
        Route("GET", "/things/mine", "my_things"),
        Route("DELETE", "/things/{thingId}", "delete_thing"),
        Route("GET", "/files/{path+}", "get_file", public=True),
        Route("POST", "/echo", "echo", public=True),
    ),
)


class NewThing(ApiModel):
    name: str
    size: int


class Thing(ApiModel):
    id: uuid.UUID
    name: str
    size: int
    owner: str | None = None


@dataclass
class Calls:
    """Every event a fake handler received, in order."""

    events: list[dict[str, Any]] = field(default_factory=list)

    def recorder(self, handler: Any) -> Any:
        def record(event: dict[str, Any], context: Any) -> Any:
            self.events.append(event)
            return handler(event, context)

        return record


def _endpoints() -> dict[str, Any]:
    """Real powertools endpoints bound to the fake routes, as handler modules bind theirs."""
    create = Endpoint(FAKE.route("create_thing"))

    @create.handle
    def create_thing(body: NewThing) -> Thing:
        return Thing(id=uuid.uuid4(), name=body.name, size=body.size)

    get = Endpoint(FAKE.route("get_thing"))

    @get.handle
    def get_thing(thing_id: uuid.UUID) -> Thing:
        caller = current_principal()
        return Thing(id=thing_id, name="x", size=1, owner=str(caller.user_id))

    mine = Endpoint(FAKE.route("my_things"))

    @mine.handle
    def my_things() -> dict[str, Any]:
        return {"owner": str(current_principal().user_id)}

    def echo(event: dict[str, Any], _context: Any) -> dict[str, Any]:
        # The raw v2 answer, cookies and base64 included, as a handler may return it.
        return {
            "statusCode": 200,
            "headers": {"Content-Type": "application/octet-stream"},
            "cookies": ["a=1; Path=/", "b=2; Path=/"],
            "body": event.get("body") or "",
            "isBase64Encoded": bool(event.get("isBase64Encoded")),
        }

    def get_file(event: dict[str, Any], _context: Any) -> dict[str, Any]:
        return {"path": event["pathParameters"]["path"]}  # no statusCode: API GW infers 200

    def delete_thing(_event: dict[str, Any], _context: Any) -> dict[str, Any]:
        raise RuntimeError("a bug in the function")

    return {
        "create_thing": create.handler,
        "get_thing": get.handler,
        "my_things": mine.handler,
        "echo": echo,
        "get_file": get_file,
        "delete_thing": delete_thing,
    }


@pytest.fixture(scope="session")
def signing_key() -> auth.SigningKey:
    return auth.SigningKey.from_pem(auth.generate_private_key_pem())


@pytest.fixture(scope="session")
def other_key() -> auth.SigningKey:
    return auth.SigningKey.from_pem(auth.generate_private_key_pem())


@pytest.fixture
def calls() -> Calls:
    return Calls()


@pytest.fixture
def gateway(signing_key: auth.SigningKey, calls: Calls) -> Iterator[Gateway]:
    pool = WorkerPool(2)
    for route in FAKE.routes:
        pool.handlers.register(FAKE.handler_path(route), calls.recorder(_endpoints()[route.name]))
    authorizer = JwtAuthorizer(lambda: [signing_key.public_jwk()], issuer=ISSUER, audience=AUDIENCE)
    yield Gateway((FAKE,), pool, authorizer, openapi=lambda: {"openapi": "3.1.0"}, timeout=5)
    pool.shutdown()


@pytest.fixture
def server(gateway: Gateway) -> Iterator[str]:
    """The gateway behind a real HTTP server on a free port; its base URL."""
    http = GatewayServer("127.0.0.1", 0)
    http.start(gateway)
    yield http.url
    http.stop()


def token(
    key: auth.SigningKey,
    *,
    sub: str | None = None,
    roles: str = "STUDENT",
    issuer: str = ISSUER,
    audience: str = AUDIENCE,
    expires_in: int = 300,
    algorithm: str = "RS256",
    kid: str | None = None,
) -> str:
    import jwt

    now = int(time.time())
    claims = {
        "iss": issuer,
        "aud": audience,
        "sub": sub or str(uuid.uuid4()),
        "iat": now,
        "nbf": now,
        "exp": now + expires_in,
        "roles": roles,
        "email": "a@example.com",
    }
    headers = {"kid": kid or key.kid}
    if algorithm == "none":
        return str(jwt.encode(claims, None, algorithm="none", headers=headers))
    if algorithm == "HS256":
        return str(
            jwt.encode(
                claims,
                "a shared secret long enough for HS256 keys",
                algorithm="HS256",
                headers=headers,
            )
        )
    return str(jwt.encode(claims, key.private_key, algorithm=algorithm, headers=headers))
