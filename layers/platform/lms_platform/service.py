"""What a service declares once and everything else reads: its routes and its consumer.

The CDK app builds one function per route and one consumer per service from these; the
local gateway routes to the same handlers; the OpenAPI document and the tests list them.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from lms_events.envelope import EventData
    from lms_platform.http import Endpoint


@dataclass(frozen=True)
class Route:
    method: str
    path: str  # API Gateway form: /users/{userId}
    name: str  # the use case: functions/<service>/api/<name>.py
    service: str = ""
    public: bool = False  # no token needed (the authorizer is not attached)
    status: int = 200
    summary: str = ""
    # The function signs tokens or publishes their keys: only such functions may read the
    # signing key.
    reads_signing_key: bool = False

    @property
    def key(self) -> str:
        return f"{self.method} {self.path}"


@dataclass(frozen=True)
class Service:
    name: str  # user, course, enrollment ...
    routes: tuple[Route, ...] = ()
    # The events the service's consumer subscribes to (one rule, one queue, one DLQ).
    consumes: tuple[type[EventData], ...] = ()
    publishes: tuple[type[EventData], ...] = ()

    def __post_init__(self) -> None:
        bound = tuple(replace(r, service=self.name) for r in self.routes)
        object.__setattr__(self, "routes", bound)
        keys = [r.key for r in bound]
        duplicates = {k for k in keys if keys.count(k) > 1}
        if duplicates:
            raise ValueError(f"routes declared twice in {self.name}: {sorted(duplicates)}")

    @property
    def schema(self) -> str:
        return f"lms_{self.name}"

    @property
    def role(self) -> str:
        """The login role the service's functions use; named like its schema."""
        return self.schema

    @property
    def package(self) -> str:
        return f"functions.{self.name}"

    def handler_path(self, route: Route) -> str:
        return f"{self.package}.api.{route.name}.handler"

    @property
    def consumer_path(self) -> str | None:
        return f"{self.package}.consumer.handler" if self.consumes else None

    def event_pattern(self) -> dict[str, Any] | None:
        """The EventBridge rule pattern that brings the consumer its events."""
        if not self.consumes:
            return None
        return {
            "source": sorted({e.source for e in self.consumes}),
            "detail-type": sorted({e.event_type for e in self.consumes}),
        }

    def route(self, name: str) -> Route:
        for route in self.routes:
            if route.name == name:
                return route
        raise KeyError(f"{self.name} declares no route named {name!r}")

    def endpoint(self, module_name: str) -> Endpoint:
        """The endpoint for the use case module ``module_name`` (pass ``__name__``)."""
        from lms_platform.http import Endpoint

        return Endpoint(self.route(module_name.rsplit(".", 1)[-1]))
