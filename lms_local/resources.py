"""The bus, rules, queues, dead-letter queues and bucket, from the same declarations the
CDK app reads; idempotent, so a fresh moto and a LocalStack that already has them both work.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

from lms_platform import topology
from lms_platform.service import Service
from lms_platform.topology import Subscription


@dataclass(frozen=True)
class Queue:
    url: str
    arn: str


@dataclass(frozen=True)
class Feed:
    """A subscription and the queue its consumer is fed from."""

    subscription: Subscription
    queue: Queue


def _code(error: Exception) -> str:
    response: dict[str, Any] = getattr(error, "response", {}) or {}
    return str(response.get("Error", {}).get("Code", ""))


def ensure_bus(events: Any, name: str) -> None:
    try:
        events.create_event_bus(Name=name)
    except Exception as error:
        if _code(error) != "ResourceAlreadyExistsException":
            raise


def ensure_queue(sqs: Any, name: str, attributes: dict[str, str]) -> Queue:
    try:
        url = sqs.create_queue(QueueName=name, Attributes=attributes)["QueueUrl"]
    except Exception as error:
        # CreateQueue is idempotent only with identical attributes; otherwise update them.
        if _code(error) not in {"QueueAlreadyExists", "QueueNameExists"}:
            raise
        url = sqs.get_queue_url(QueueName=name)["QueueUrl"]
        sqs.set_queue_attributes(QueueUrl=url, Attributes=attributes)
    arn = sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["QueueArn"])["Attributes"][
        "QueueArn"
    ]
    return Queue(url=str(url), arn=str(arn))


def ensure_bucket(
    s3: Any,
    name: str,
    region: str,
    *,
    prefixes: tuple[str, ...] = (),
    cors_origins: tuple[str, ...] = (),
) -> None:
    """The content bucket as the deployment makes it: versioned, with the lifecycle of each
    service's prefix (``topology.content_lifecycle_rules``), and CORS for the origins named
    (a browser uploads and downloads through presigned URLs)."""
    arguments: dict[str, Any] = {"Bucket": name}
    if region != "us-east-1":  # S3 refuses an explicit us-east-1 location constraint
        arguments["CreateBucketConfiguration"] = {"LocationConstraint": region}
    try:
        s3.create_bucket(**arguments)
    except Exception as error:
        if _code(error) not in {"BucketAlreadyOwnedByYou", "BucketAlreadyExists"}:
            raise
    s3.put_bucket_versioning(Bucket=name, VersioningConfiguration={"Status": "Enabled"})
    rules = [rule for prefix in prefixes for rule in topology.content_lifecycle_rules(prefix)]
    if rules:
        s3.put_bucket_lifecycle_configuration(Bucket=name, LifecycleConfiguration={"Rules": rules})
    if cors_origins:
        s3.put_bucket_cors(
            Bucket=name,
            CORSConfiguration={
                "CORSRules": [
                    {
                        "AllowedOrigins": list(cors_origins),
                        "AllowedMethods": ["GET", "PUT"],
                        "AllowedHeaders": list(topology.CONTENT_CORS_HEADERS),
                        "ExposeHeaders": ["ETag"],
                        "MaxAgeSeconds": topology.CORS_MAX_AGE_SECONDS,
                    }
                ]
            },
        )


def _queue_policy(queue_arn: str, rule_arn: str) -> str:
    # What the CDK grants on AWS: the bus's rule may send to the queue. Emulators accept
    # delivery without it; keeping it makes the local queue look like the deployed one.
    return json.dumps(
        {
            "Version": "2012-10-17",
            "Statement": [
                {
                    "Effect": "Allow",
                    "Principal": {"Service": "events.amazonaws.com"},
                    "Action": "sqs:SendMessage",
                    "Resource": queue_arn,
                    "Condition": {"ArnEquals": {"aws:SourceArn": rule_arn}},
                }
            ],
        }
    )


def ensure_subscription(
    events: Any, sqs: Any, subscription: Subscription, *, bus: str, visibility_timeout: int
) -> Feed:
    dlq = ensure_queue(
        sqs,
        subscription.dlq_name,
        {"MessageRetentionPeriod": str(topology.DLQ_RETENTION_DAYS * 24 * 3600)},
    )
    queue = ensure_queue(
        sqs,
        subscription.queue_name,
        {
            "VisibilityTimeout": str(visibility_timeout),
            "MessageRetentionPeriod": str(topology.QUEUE_RETENTION_DAYS * 24 * 3600),
            "RedrivePolicy": json.dumps(
                {
                    "deadLetterTargetArn": dlq.arn,
                    "maxReceiveCount": str(topology.MAX_RECEIVE_COUNT),
                }
            ),
        },
    )
    rule_arn = events.put_rule(
        Name=subscription.rule_name,
        EventBusName=bus,
        EventPattern=json.dumps(subscription.pattern),
        State="ENABLED",
        Description=f"events the {subscription.service.name} service consumes",
    )["RuleArn"]
    sqs.set_queue_attributes(
        QueueUrl=queue.url, Attributes={"Policy": _queue_policy(queue.arn, rule_arn)}
    )
    events.put_targets(
        Rule=subscription.rule_name,
        EventBusName=bus,
        Targets=[{"Id": f"{subscription.service.name}-queue", "Arn": queue.arn}],
    )
    return Feed(subscription=subscription, queue=queue)


def provision(
    events: Any,
    sqs: Any,
    s3: Any,
    services: tuple[Service, ...],
    *,
    bus: str,
    region: str,
    visibility_timeout: int,
    bucket: str = topology.CONTENT_BUCKET,
    cors_origins: tuple[str, ...] = (),
) -> list[Feed]:
    """Create (or bring up to date) every shared resource; the consumers' feeds."""
    ensure_bus(events, bus)
    feeds = [
        ensure_subscription(events, sqs, s, bus=bus, visibility_timeout=visibility_timeout)
        for s in topology.subscriptions(services)
    ]
    prefixes = tuple(s.bucket_prefix for s in services if s.bucket_prefix)
    ensure_bucket(s3, bucket, region, prefixes=prefixes, cors_origins=cors_origins)
    return feeds
