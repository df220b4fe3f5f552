"""The event bus and, per consuming service, the path from it to the consumer.

Bus ``lms`` with an archive (replay after a consumer bug) and a schema registry holding
the JSON Schemas generated from the event models; a discoverer records what is really
sent. Per subscription (``topology.subscriptions``): rule -> SQS queue -> consumer, a
dead-letter queue after ``MAX_RECEIVE_COUNT`` failed deliveries, and an alarm as soon as
the dead-letter queue holds anything.
"""

from __future__ import annotations

from aws_cdk import Duration, Stack
from aws_cdk import aws_cloudwatch as cloudwatch
from aws_cdk import aws_events as events
from aws_cdk import aws_events_targets as targets
from aws_cdk import aws_eventschemas as eventschemas
from aws_cdk import aws_sqs as sqs
from constructs import Construct

from lms_events import catalog
from lms_platform import topology
from lms_platform.service import Service

# SQS hides a received message this long; AWS asks for 6x the consumer's timeout so a
# batch that is retried inside the function is not delivered twice meanwhile.
CONSUMER_TIMEOUT = Duration.seconds(30)
VISIBILITY_TIMEOUT = Duration.seconds(6 * 30)


class Subscription(Construct):
    """Rule -> queue (+ DLQ, + alarm) for one consuming service."""

    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        bus: events.IEventBus,
        subscription: topology.Subscription,
    ) -> None:
        super().__init__(scope, construct_id)
        self.dlq = sqs.Queue(
            self,
            "DeadLetters",
            queue_name=subscription.dlq_name,
            encryption=sqs.QueueEncryption.SQS_MANAGED,
            enforce_ssl=True,
            retention_period=Duration.days(14),
        )
        self.queue = sqs.Queue(
            self,
            "Queue",
            queue_name=subscription.queue_name,
            encryption=sqs.QueueEncryption.SQS_MANAGED,
            enforce_ssl=True,
            visibility_timeout=VISIBILITY_TIMEOUT,
            retention_period=Duration.days(4),
            dead_letter_queue=sqs.DeadLetterQueue(
                queue=self.dlq, max_receive_count=topology.MAX_RECEIVE_COUNT
            ),
        )
        self.rule = events.Rule(
            self,
            "Rule",
            rule_name=subscription.rule_name,
            event_bus=bus,
            event_pattern=events.EventPattern(
                source=subscription.pattern["source"],
                detail_type=subscription.pattern["detail-type"],
            ),
            targets=[targets.SqsQueue(self.queue, dead_letter_queue=self.dlq)],
        )
        self.alarm = cloudwatch.Alarm(
            self,
            "DeadLettersAlarm",
            alarm_name=f"{subscription.dlq_name}-not-empty",
            alarm_description=(
                f"Events the {subscription.service.name} consumer failed "
                f"{topology.MAX_RECEIVE_COUNT} times (or EventBridge could not deliver)"
            ),
            metric=self.dlq.metric_approximate_number_of_messages_visible(
                period=Duration.minutes(1), statistic="Maximum"
            ),
            threshold=1,
            comparison_operator=cloudwatch.ComparisonOperator.GREATER_THAN_OR_EQUAL_TO_THRESHOLD,
            evaluation_periods=1,
            treat_missing_data=cloudwatch.TreatMissingData.NOT_BREACHING,
        )


class EventBus(Construct):
    def __init__(
        self, scope: Construct, construct_id: str, *, services: tuple[Service, ...]
    ) -> None:
        super().__init__(scope, construct_id)
        self.bus = events.EventBus(self, "Bus", event_bus_name=topology.EVENT_BUS)
        self.bus.archive(
            "Archive",
            archive_name=topology.EVENT_BUS,
            description="Every event on the lms bus, for replay",
            event_pattern=events.EventPattern(account=[Stack.of(self).account]),
            retention=Duration.days(90),
        )

        registry = eventschemas.CfnRegistry(
            self,
            "Schemas",
            registry_name=topology.EVENT_BUS,
            description="JSON Schemas of the lms events, generated from the event models",
        )
        for event in catalog.ALL_EVENTS:
            schema = eventschemas.CfnSchema(
                self,
                f"Schema{event.source.title().replace('.', '')}{event.event_type}"
                f"V{event.event_version}",
                registry_name=topology.EVENT_BUS,
                schema_name=f"{event.source}@{event.event_type}",
                type="JSONSchemaDraft4",
                content=catalog.schema_of(event),
            )
            schema.node.add_dependency(registry)
        eventschemas.CfnDiscoverer(
            self,
            "Discoverer",
            source_arn=self.bus.event_bus_arn,
            description="Records the schemas of events really sent on the lms bus",
        )

        self.subscriptions: dict[str, Subscription] = {
            s.service.name: Subscription(
                self, f"{s.service.name.capitalize()}Subscription", bus=self.bus, subscription=s
            )
            for s in topology.subscriptions(services)
        }
