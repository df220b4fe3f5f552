"""What a service declares once and everything else reads: its routes, its consumer, its
scheduled jobs, and what its functions may touch beyond their own database role.

The CDK app builds one function per route, one consumer and one function per job from
these; the local gateway routes to the same handlers; the OpenAPI document and the tests
list them. Nothing here imports a handler: a declaration is cheap to read anywhere.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from typing import TYPE_CHECKING, Any, Literal

if TYPE_CHECKING:
    from lms_events.envelope import EventData
    from lms_platform.http import Endpoint

# S3 actions a function may be granted on its service's prefix of the content bucket (IAM
# names without "s3:"). Uploading with tags needs PutObjectTagging beside PutObject; in a
# versioned bucket only DeleteObjectVersion removes an object's bytes.
BucketAction = Literal[
    "GetObject",
    "PutObject",
    "PutObjectTagging",
    "DeleteObject",
    "DeleteObjectTagging",
    "DeleteObjectVersion",
    "ListBucket",
]
# Throttling classes: "strict" routes (sign-up, log-in, token refresh) get a lower rate
# than the rest; the rates themselves are a deployment's setting.
Throttle = Literal["default", "strict"]


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
    # What the function may do in the service's part of the content bucket (its
    # ``bucket_prefix``); nothing by default.
    bucket: tuple[BucketAction, ...] = ()
    # Which of the service's own secrets (``Service.secrets``) the function reads.
    secrets: tuple[str, ...] = ()
    throttle: Throttle = "default"
    # The answer depends on the caller although the route is public (tokens): it carries
    # ``Cache-Control: no-store`` as every protected route's answer does.
    no_store: bool = False
    # The error statuses the use case itself answers (403 for a right it checks, 404 for
    # something it looks up beyond the path, 409 for a conflict, 401/429 of its own ...).
    # Those the declaration implies are added to the API document without being listed:
    # 400 always, 401 on a protected route, 404 with path parameters, 413 and 415 with a
    # body, 422 with any input, 429 and 503 always (lms_platform.openapi).
    errors: tuple[int, ...] = ()
    # Success statuses the use case answers besides ``status`` (202 for "accepted, the
    # client must act"), with a short description each.
    answers: tuple[tuple[int, str], ...] = ()
    # The rules of its input that JSON Schema cannot state (across fields, against stored
    # state, a signature): a request of the documented shape may still break one, and is
    # answered 422 (400 for a signature). The API document lists them (``x-rules``).
    rules: tuple[str, ...] = ()
    # The largest request body the route takes, when not the settings' ``max_body_bytes``
    # (a body that carries a bounded document larger than that, with its JSON escaping).
    max_body_bytes: int | None = None

    @property
    def key(self) -> str:
        return f"{self.method} {self.path}"


@dataclass(frozen=True)
class Job:
    """A function the deployment runs on a schedule (and an operator may run by hand):
    ``functions/<service>/jobs/<name>.py``, its ``handler``."""

    name: str
    every_minutes: int
    summary: str = ""
    timeout_seconds: int = 60
    bucket: tuple[BucketAction, ...] = ()
    secrets: tuple[str, ...] = ()
    # A job the platform gives every service that needs it (``topology.jobs``): its
    # handler lives in the platform, not in ``functions/<service>/jobs``.
    handler: str | None = None


@dataclass(frozen=True)
class Service:
    name: str  # user, course, enrollment ...
    routes: tuple[Route, ...] = ()
    # The events the service's consumer subscribes to (one rule, one queue, one DLQ).
    consumes: tuple[type[EventData], ...] = ()
    # The consumer takes every event of every service (source prefix ``lms.``) rather than
    # the listed ones; it still declares in ``consumes`` the types it acts on.
    consumes_all: bool = False
    publishes: tuple[type[EventData], ...] = ()
    # The consumer hands work to itself through its own queue (long work cut in pieces,
    # each piece a message); the names of those tasks.
    tasks: tuple[str, ...] = ()
    jobs: tuple[Job, ...] = ()
    # The key prefix of the content bucket that is the service's own ("content/"); the
    # bucket actions of its routes and jobs are granted on that prefix only.
    bucket_prefix: str | None = None
    # Secrets the service owns (a payment gateway's key ...): created empty by the
    # deployment, filled by the operator, read by the functions that name them.
    secrets: tuple[str, ...] = ()
    # What the consumer may do in the bucket (say, delete the objects of retired content).
    consumer_bucket: tuple[BucketAction, ...] = ()
    # Third-party packages only this service imports (a payment provider's client): names
    # of optional-dependency groups of pyproject.toml. On AWS they go into the service's own
    # dependencies layer, resolved with the common ones, and no other function carries them.
    dependencies: tuple[str, ...] = ()
    # The tables the consumer fills from other services' events and nothing else writes:
    # its read model, emptied and refilled from a replay by ``lms rebuild-read-model``.
    # Parents before children (they are emptied in the reverse order). None by default: a
    # consumer whose tables are not all derived from events cannot be rebuilt that way.
    read_model: tuple[str, ...] = ()

    def __post_init__(self) -> None:
        bound = tuple(replace(r, service=self.name) for r in self.routes)
        object.__setattr__(self, "routes", bound)
        keys = [r.key for r in bound]
        duplicates = {k for k in keys if keys.count(k) > 1}
        if duplicates:
            raise ValueError(f"routes declared twice in {self.name}: {sorted(duplicates)}")
        grantees: tuple[Route | Job, ...] = (*bound, *self.jobs)
        for grantee in grantees:
            unknown = set(grantee.secrets) - set(self.secrets)
            if unknown:
                raise ValueError(f"{self.name}.{grantee.name} reads undeclared secrets {unknown}")
            if grantee.bucket and not self.bucket_prefix:
                raise ValueError(f"{self.name}.{grantee.name} uses the bucket: no bucket_prefix")
        if self.tasks and not (self.consumes or self.consumes_all):
            raise ValueError(f"{self.name} declares tasks but has no consumer to run them")
        if self.consumer_bucket and not self.bucket_prefix:
            raise ValueError(f"{self.name}'s consumer uses the bucket: no bucket_prefix")
        if self.read_model and not self.has_consumer:
            raise ValueError(f"{self.name} declares a read model but has no consumer to fill it")
        if {"inbox", "outbox"} & set(self.read_model):
            raise ValueError(f"{self.name}: the inbox and the outbox are no read model")

    @property
    def schema(self) -> str:
        return f"lms_{self.name}"

    @property
    def role(self) -> str:
        """The login role the service's functions use; named like its schema."""
        return self.schema

    @property
    def source(self) -> str:
        """The EventBridge ``Source`` of the service's events: the only one it may put."""
        return f"lms.{self.name}"

    @property
    def package(self) -> str:
        return f"functions.{self.name}"

    def handler_path(self, route: Route) -> str:
        return f"{self.package}.api.{route.name}.handler"

    def job_path(self, job: Job) -> str:
        return job.handler or f"{self.package}.jobs.{job.name}.handler"

    @property
    def consumer_path(self) -> str | None:
        return f"{self.package}.consumer.handler" if self.has_consumer else None

    @property
    def has_consumer(self) -> bool:
        return bool(self.consumes or self.consumes_all)

    def event_pattern(self) -> dict[str, Any] | None:
        """The EventBridge rule pattern that brings the consumer its events."""
        if self.consumes_all:
            return {"source": [{"prefix": "lms."}]}
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

    def job(self, name: str) -> Job:
        for job in self.jobs:
            if job.name == name:
                return job
        raise KeyError(f"{self.name} declares no job named {name!r}")

    def endpoint(self, module_name: str) -> Endpoint:
        """The endpoint for the use case module ``module_name`` (pass ``__name__``)."""
        from lms_platform.http import Endpoint

        return Endpoint(self.route(module_name.rsplit(".", 1)[-1]), siblings=self.routes)
