"""Names of the shared AWS resources, derived from the service declarations.

The CDK app creates these on AWS and the local runtime creates them in moto or
LocalStack, both from this one place.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from lms_platform.service import Service

EVENT_BUS = "lms"
CONTENT_BUCKET = "lms-content"
# A delivery that fails this many times goes to the dead-letter queue.
MAX_RECEIVE_COUNT = 5
# Lambda's SQS event source: how many records one invocation gets.
CONSUMER_BATCH_SIZE = 10
RELAY_SCHEDULE_MINUTES = 1
# What a browser may send cross-origin, for the origins a deployment allows (none by default).
CORS_ALLOW_HEADERS = ("authorization", "content-type", "idempotency-key", "x-correlation-id")
CORS_MAX_AGE_SECONDS = 3600


def cors_origins(value: str | None) -> tuple[str, ...]:
    """``https://a.example, https://b.example`` as a tuple; a wildcard is never allowed."""
    origins = tuple(o.strip() for o in (value or "").split(",") if o.strip())
    if "*" in origins:
        raise ValueError("name the origins that may call the API; '*' is not allowed")
    return origins


@dataclass(frozen=True)
class Subscription:
    """One consuming service's path from the bus: rule -> queue (with DLQ) -> consumer."""

    service: Service
    rule_name: str
    queue_name: str
    dlq_name: str
    pattern: dict[str, Any]
    handler: str


def subscriptions(services: tuple[Service, ...]) -> list[Subscription]:
    found = []
    for s in services:
        pattern = s.event_pattern()
        if pattern is None or s.consumer_path is None:
            continue
        found.append(
            Subscription(
                service=s,
                rule_name=f"lms-{s.name}-events",
                queue_name=f"lms-{s.name}-events",
                dlq_name=f"lms-{s.name}-events-dlq",
                pattern=pattern,
                handler=s.consumer_path,
            )
        )
    return found


RELAY_HANDLER = "lms_platform.relay_handler.handler"
