"""Names of the shared AWS resources, derived from the service declarations.

The CDK app creates these on AWS and the local runtime creates them in moto or
LocalStack, both from this one place. A deployed stage (``-c lms:stage=dev``) prefixes
every name with ``lms-<stage>`` so that several stages live side by side in one account;
the local runtime is a single stage, ``local``, whose names keep the bare ``lms`` prefix.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from lms_platform.service import Job, Service

LOCAL_STAGE = "local"
EVENT_BUS = "lms"  # the local runtime's bus; a deployed stage's is event_bus(stage)
CONTENT_BUCKET = "lms-content"  # likewise; on AWS the bucket name also carries account and region
# The tag an upload carries until the service has checked it and kept it: objects still
# tagged a day later belong to versions never completed, and the lifecycle removes them.
PENDING_UPLOAD_TAG = ("lms-upload", "pending")
PENDING_UPLOAD_EXPIRY_DAYS = 1
# A delivery that fails this many times goes to the dead-letter queue.
MAX_RECEIVE_COUNT = 5
# How long each place keeps an event that may still reach a consumer (days):
# - a consumer's queue keeps a message 4 days, its dead-letter queue 14 (SQS's maximum;
#   the age counts from the first enqueue, so the dead-letter queue must outlast the
#   queue), and a message moved back from it starts another 4 days on the queue;
# - the bus's archive keeps every event 90 days: ``lms replay --aws`` can send an event
#   again until then.
QUEUE_RETENTION_DAYS = 4
DLQ_RETENTION_DAYS = 14
ARCHIVE_RETENTION_DAYS = 90
# Lambda's SQS event source: how many records one invocation gets.
CONSUMER_BATCH_SIZE = 10
RELAY_SCHEDULE_MINUTES = 1
# What a browser may send cross-origin, for the origins a deployment allows (none by default).
CORS_ALLOW_HEADERS = ("authorization", "content-type", "idempotency-key", "x-correlation-id")
CORS_MAX_AGE_SECONDS = 3600
# What a browser sends with a presigned upload to the content bucket (its signed headers).
CONTENT_CORS_HEADERS = ("content-type", "x-amz-checksum-sha256", "x-amz-tagging")


def cors_origins(value: str | None) -> tuple[str, ...]:
    """``https://a.example, https://b.example`` as a tuple; a wildcard is never allowed."""
    origins = tuple(o.strip() for o in (value or "").split(",") if o.strip())
    if "*" in origins:
        raise ValueError("name the origins that may call the API; '*' is not allowed")
    return origins


def content_lifecycle_rules(prefix: str = "content/") -> list[dict[str, Any]]:
    """The content bucket's lifecycle for a service's prefix, in the S3 API's shape
    (PutBucketLifecycleConfiguration): nothing half-uploaded stays.

    - objects still tagged as pending uploads expire after a day, and so do their older
      versions (in a versioned bucket an expiry only hides the current one);
    - multipart uploads never completed are aborted after a day (the service presigns
      single PUTs, but nothing stops a client holding the credentials from starting one);
    - delete markers left with no version behind them are removed.
    """
    key, value = PENDING_UPLOAD_TAG
    days = PENDING_UPLOAD_EXPIRY_DAYS
    return [
        {
            "ID": f"{prefix.strip('/')}-pending-uploads",
            "Status": "Enabled",
            "Filter": {"And": {"Prefix": prefix, "Tags": [{"Key": key, "Value": value}]}},
            "Expiration": {"Days": days},
            "NoncurrentVersionExpiration": {"NoncurrentDays": days},
        },
        {
            "ID": f"{prefix.strip('/')}-incomplete-multipart",
            "Status": "Enabled",
            "Filter": {"Prefix": prefix},
            "AbortIncompleteMultipartUpload": {"DaysAfterInitiation": days},
            "Expiration": {"ExpiredObjectDeleteMarker": True},
        },
    ]


@dataclass(frozen=True)
class Subscription:
    """One consuming service's path from the bus: rule -> queue (with DLQ) -> consumer."""

    service: Service
    rule_name: str
    queue_name: str
    dlq_name: str
    pattern: dict[str, Any]
    handler: str


def prefix(stage: str = LOCAL_STAGE) -> str:
    """``lms`` for the local runtime, ``lms-<stage>`` for a deployed stage."""
    return "lms" if stage == LOCAL_STAGE else f"lms-{stage}"


def event_bus(stage: str = LOCAL_STAGE) -> str:
    return prefix(stage)


def queue_name(service: str, stage: str = LOCAL_STAGE) -> str:
    """The queue a consuming service's events arrive on, and its own tasks too."""
    return f"{prefix(stage)}-{service}-events"


def subscriptions(services: tuple[Service, ...], stage: str = LOCAL_STAGE) -> list[Subscription]:
    found = []
    for s in services:
        pattern = s.event_pattern()
        if pattern is None or s.consumer_path is None:
            continue
        name = queue_name(s.name, stage)
        found.append(
            Subscription(
                service=s,
                rule_name=name,
                queue_name=name,
                dlq_name=f"{name}-dlq",
                pattern=pattern,
                handler=s.consumer_path,
            )
        )
    return found


RELAY_HANDLER = "lms_platform.relay_handler.handler"


def redelivery_window_days() -> int:
    """The longest an event may still be delivered to a consumer after it was published:
    from the archive (a replay), or from a dead-letter queue and back through its queue.
    An inbox must remember an event at least that long, or the repeat would apply again."""
    return max(ARCHIVE_RETENTION_DAYS, DLQ_RETENTION_DAYS + QUEUE_RETENTION_DAYS)


# Published outbox rows and inbox rows older than the retention period are deleted by
# this job, which every service with an outbox or an inbox gets from the platform.
RETENTION_JOB = Job(
    "retention",
    every_minutes=60,
    summary="Delete published outbox rows and inbox rows older than the retention period",
    timeout_seconds=120,
    handler="lms_platform.retention.handler",
)


def keeps_events(service: Service) -> bool:
    """Whether the service writes outbox rows (events, tasks) or inbox rows."""
    return bool(service.publishes or service.tasks or service.has_consumer)


def jobs(service: Service) -> tuple[Job, ...]:
    """Every scheduled job of a service: its own, and those the platform gives it."""
    platform = (RETENTION_JOB,) if keeps_events(service) else ()
    return (*service.jobs, *platform)


def archive_name(stage: str = LOCAL_STAGE) -> str:
    """The bus's archive (named like the bus): what ``lms replay --aws`` replays from."""
    return event_bus(stage)
