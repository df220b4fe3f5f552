"""The functions a service declaration asks for: one per route, its consumer, its relay,
one per job. The service stack builds them and the dashboard lists them from this one
place, so a function and its graphs and alarms always carry the same name."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

from lms_platform import topology
from lms_platform.service import BucketAction, Route, Service

Kind = Literal["route", "consumer", "relay", "job"]

ROUTE_TIMEOUT_SECONDS = 10
CONSUMER_TIMEOUT_SECONDS = 30
RELAY_TIMEOUT_SECONDS = 60


@dataclass(frozen=True)
class Unit:
    kind: Kind
    name: str  # unique within the service; part of the function's name
    handler: str
    timeout_seconds: int
    description: str
    bucket: tuple[BucketAction, ...] = ()
    secrets: tuple[str, ...] = ()
    reads_signing_key: bool = False
    route: Route | None = None
    every_minutes: int | None = None  # scheduled (relay, jobs)

    @property
    def construct_id(self) -> str:
        name = self.name.removeprefix("job-")
        pascal = "".join(p.capitalize() for p in name.replace("-", "_").split("_"))
        return {"route": f"Route{pascal}", "job": f"Job{pascal}"}.get(self.kind, pascal)


def units(service: Service) -> list[Unit]:
    found = [
        Unit(
            kind="route",
            name=route.name,
            handler=service.handler_path(route),
            timeout_seconds=ROUTE_TIMEOUT_SECONDS,
            description=f"{route.key} ({service.name}.{route.name})",
            bucket=route.bucket,
            secrets=route.secrets,
            reads_signing_key=route.reads_signing_key,
            route=route,
        )
        for route in service.routes
    ]
    if service.consumer_path is not None:
        found.append(
            Unit(
                kind="consumer",
                name="consumer",
                handler=service.consumer_path,
                timeout_seconds=CONSUMER_TIMEOUT_SECONDS,
                description=f"Consumer of the {service.name} service's events queue",
                bucket=service.consumer_bucket,
            )
        )
    if service.publishes or service.tasks:
        found.append(
            Unit(
                kind="relay",
                name="relay",
                handler=topology.RELAY_HANDLER,
                timeout_seconds=RELAY_TIMEOUT_SECONDS,
                description=f"Sends what the {service.name} outbox still holds",
                every_minutes=topology.RELAY_SCHEDULE_MINUTES,
            )
        )
    found += [
        Unit(
            kind="job",
            name=f"job-{job.name}",
            handler=service.job_path(job),
            timeout_seconds=job.timeout_seconds,
            description=job.summary or f"The {service.name} service's {job.name} job",
            bucket=job.bucket,
            secrets=job.secrets,
            every_minutes=job.every_minutes,
        )
        for job in topology.jobs(service)
    ]
    names = [u.name.replace("_", "-") for u in found]
    clashes = sorted({n for n in names if names.count(n) > 1})
    if clashes:
        raise ValueError(f"{service.name}: two functions would be named {clashes}")
    return found
