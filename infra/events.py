"""The event bus and, per consuming service, the path from it to the consumer.

Bus ``lms-<stage>`` with an archive (replay after a consumer bug) and a schema registry
holding the JSON Schemas generated from the event models; a discoverer records what is
really sent. Per subscription (``topology.subscriptions``), in the consuming service's own
stack: rule -> SQS queue -> consumer, a dead-letter queue after ``MAX_RECEIVE_COUNT``
failed deliveries, and an alarm as soon as the dead-letter queue holds anything.
"""

from __future__ import annotations

from typing import Any

from aws_cdk import Duration, Stack
from aws_cdk import aws_events as events
from aws_cdk import aws_events_targets as targets
from aws_cdk import aws_eventschemas as eventschemas
from aws_cdk import aws_sqs as sqs
from constructs import Construct

from infra import monitoring, shared
from infra.stage import Stage
from lms_events import catalog
from lms_platform import topology

# SQS hides a received message this long; AWS asks for 6x the consumer's timeout so a
# batch that is retried inside the function is not delivered twice meanwhile.
CONSUMER_TIMEOUT = Duration.seconds(30)
VISIBILITY_TIMEOUT = Duration.seconds(6 * 30)


def event_pattern(pattern: dict[str, Any]) -> events.EventPattern:
    """A declaration's pattern (``Service.event_pattern``) as CDK's."""

    def values(key: str) -> list[str] | None:
        given = pattern.get(key)
        if given is None:
            return None
        if all(isinstance(v, str) for v in given):
            return list(given)
        if len(given) == 1 and set(given[0]) == {"prefix"}:
            return events.Match.prefix(given[0]["prefix"])
        raise ValueError(f"unsupported {key} pattern {given!r}")

    unknown = set(pattern) - {"source", "detail-type"}
    if unknown:
        raise ValueError(f"unsupported event pattern keys {sorted(unknown)}")
    return events.EventPattern(source=values("source"), detail_type=values("detail-type"))


class Subscription(Construct):
    """Rule -> queue (+ DLQ, + alarm) for one consuming service."""

    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        stage: Stage,
        subscription: topology.Subscription,
        alarms: monitoring.Alarms,
    ) -> None:
        super().__init__(scope, construct_id)
        self.dlq = sqs.Queue(
            self,
            "DeadLetters",
            queue_name=subscription.dlq_name,
            encryption=sqs.QueueEncryption.SQS_MANAGED,
            enforce_ssl=True,
            retention_period=Duration.days(topology.DLQ_RETENTION_DAYS),
        )
        self.queue = sqs.Queue(
            self,
            "Queue",
            queue_name=subscription.queue_name,
            encryption=sqs.QueueEncryption.SQS_MANAGED,
            enforce_ssl=True,
            visibility_timeout=VISIBILITY_TIMEOUT,
            retention_period=Duration.days(topology.QUEUE_RETENTION_DAYS),
            dead_letter_queue=sqs.DeadLetterQueue(
                queue=self.dlq, max_receive_count=topology.MAX_RECEIVE_COUNT
            ),
        )
        bus = events.EventBus.from_event_bus_name(self, "Bus", shared.bus_name(stage))
        self.rule = events.Rule(
            self,
            "Rule",
            rule_name=subscription.rule_name,
            event_bus=bus,
            event_pattern=event_pattern(subscription.pattern),
            targets=[targets.SqsQueue(self.queue, dead_letter_queue=self.dlq)],
        )
        self.alarm = alarms.alarm(
            self,
            "DeadLettersAlarm",
            name=f"{subscription.dlq_name}-not-empty",
            description=(
                f"Events the {subscription.service.name} consumer failed "
                f"{topology.MAX_RECEIVE_COUNT} times (or EventBridge could not deliver)"
            ),
            metric=self.dlq.metric_approximate_number_of_messages_visible(
                period=Duration.minutes(1), statistic="Maximum"
            ),
            threshold=1,
        )


class EventBus(Construct):
    def __init__(self, scope: Construct, construct_id: str, *, stage: Stage) -> None:
        super().__init__(scope, construct_id)
        name = shared.bus_name(stage)
        self.bus = events.EventBus(self, "Bus", event_bus_name=name)
        self.bus.archive(
            "Archive",
            archive_name=topology.archive_name(stage.name),
            description=f"Every event on the {name} bus, for replay",
            event_pattern=events.EventPattern(account=[Stack.of(self).account]),
            retention=Duration.days(topology.ARCHIVE_RETENTION_DAYS),
        )

        registry = eventschemas.CfnRegistry(
            self,
            "Schemas",
            registry_name=name,
            description=f"JSON Schemas of the {name} events, generated from the event models",
        )
        for event in catalog.ALL_EVENTS:
            schema = eventschemas.CfnSchema(
                self,
                f"Schema{event.source.title().replace('.', '')}{event.event_type}"
                f"V{event.event_version}",
                registry_name=name,
                schema_name=f"{event.source}@{event.event_type}",
                type="JSONSchemaDraft4",
                content=catalog.schema_of(event),
            )
            schema.node.add_dependency(registry)
        eventschemas.CfnDiscoverer(
            self,
            "Discoverer",
            source_arn=self.bus.event_bus_arn,
            description=f"Records the schemas of events really sent on the {name} bus",
        )
