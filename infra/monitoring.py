"""What an operator watches: one alarm topic and one dashboard per stage.

Every alarm of the stage notifies the topic ``lms-<stage>-alarms`` (e-mail subscription
from ``-c lms:alarm-email=``), whichever stack it lives in: the per-function, dead-letter
and relay-backlog alarms live with their service, the API, proxy and Aurora alarms here.
The dashboard ``lms-<stage>-<region>`` is built from the service declarations and the stage's
names, so it reads nothing from the service stacks.

The functions emit custom metrics with Powertools Metrics (EMF) in the namespace
``LMS/<stage>`` with the dimension ``service``; the names below are that contract.
"""

from __future__ import annotations

import hashlib
from collections.abc import Sequence

from aws_cdk import ArnFormat, Aws, Duration, RemovalPolicy, Stack
from aws_cdk import aws_cloudwatch as cloudwatch
from aws_cdk import aws_cloudwatch_actions as actions
from aws_cdk import aws_iam as iam
from aws_cdk import aws_kms as kms
from aws_cdk import aws_lambda as lambda_
from aws_cdk import aws_sns as sns
from aws_cdk import aws_sns_subscriptions as subscriptions
from constructs import Construct

from infra import data, shared
from infra.stage import Stage
from infra.units import Unit, units
from lms_platform import topology
from lms_platform.service import Service

SERVICE_DIMENSION = "service"
OUTBOX_AGE = "OutboxOldestUnpublishedAgeSeconds"  # the relay, seconds
OUTBOX_UNPUBLISHED = "OutboxUnpublished"  # the relay, count
PUT_EVENTS_FAILED = "PutEventsEntriesFailed"
INBOX_DUPLICATES = "InboxDuplicatesSkipped"
CONSUMER_FAILED = "ConsumerRecordsFailed"
PLATFORM_METRICS = (OUTBOX_AGE, OUTBOX_UNPUBLISHED, PUT_EVENTS_FAILED, INBOX_DUPLICATES,
                    CONSUMER_FAILED)  # fmt: skip

FIVE_MINUTES = Duration.minutes(5)
# An alarm status widget shows at most this many alarms.
ALARMS_PER_WIDGET = 100


class Alarms:
    """Makes alarms that notify the stage's topic (by its stable name: no import)."""

    def __init__(self, scope: Construct, stage: Stage) -> None:
        self.stage = stage
        self.topic = sns.Topic.from_topic_arn(
            scope, "AlarmTopic", shared.alarm_topic_arn(scope, stage)
        )

    def alarm(
        self,
        scope: Construct,
        construct_id: str,
        *,
        name: str,
        description: str,
        metric: cloudwatch.IMetric,
        threshold: float,
        evaluation_periods: int = 1,
        datapoints_to_alarm: int | None = None,
        comparison: cloudwatch.ComparisonOperator = (
            cloudwatch.ComparisonOperator.GREATER_THAN_OR_EQUAL_TO_THRESHOLD
        ),
        missing: cloudwatch.TreatMissingData = cloudwatch.TreatMissingData.NOT_BREACHING,
    ) -> cloudwatch.Alarm:
        alarm = cloudwatch.Alarm(
            scope,
            construct_id,
            alarm_name=name,
            alarm_description=description,
            metric=metric,
            threshold=threshold,
            evaluation_periods=evaluation_periods,
            datapoints_to_alarm=datapoints_to_alarm,
            comparison_operator=comparison,
            treat_missing_data=missing,
        )
        action = actions.SnsAction(self.topic)
        alarm.add_alarm_action(action)
        alarm.add_ok_action(action)
        return alarm

    def function_alarms(
        self, scope: Construct, service: Service, unit: Unit, function: lambda_.IFunction
    ) -> None:
        """Errors and throttles of one function, each as soon as it happens once."""
        for metric, what in (
            (function.metric_errors(period=FIVE_MINUTES, statistic="Sum"), "errors"),
            (function.metric_throttles(period=FIVE_MINUTES, statistic="Sum"), "throttles"),
        ):
            self.alarm(
                scope,
                what.capitalize(),
                name=function_alarm_name(self.stage, service, unit, what),
                description=f"{unit.description}: {what} in the last 5 minutes",
                metric=metric,
                threshold=1,
            )


def function_alarm_name(stage: Stage, service: Service, unit: Unit, what: str) -> str:
    return stage.alarm_name(service.name, unit.name, what)


def relay_alarm_name(stage: Stage, service: Service) -> str:
    return stage.alarm_name(service.name, "outbox-backlog")


def custom_metric(
    stage: Stage, service: Service, name: str, statistic: str = "Sum"
) -> cloudwatch.Metric:
    return cloudwatch.Metric(
        namespace=stage.metrics_namespace,
        metric_name=name,
        dimensions_map={SERVICE_DIMENSION: service.name},
        statistic=statistic,
        period=FIVE_MINUTES,
    )


def pinned_sessions_threshold(stage: Stage) -> int:
    """Named statements pin every session, so only nearing the budget is news; in unnamed
    mode pinning is a regression (a SET, a session-level PREPARE) worth hearing of early."""
    budget = data.proxy_connection_budget(stage)
    share = 80 if stage.statement_mode == "named" else 10
    return max(1, budget * share // 100)


def client_connections_threshold(stage: Stage) -> int:
    """Where pinned sessions (named mode, or a regression) would run the database dry."""
    return max(1, data.proxy_connection_budget(stage) * 80 // 100)


def stage_alarm_names(stage: Stage) -> list[str]:
    return [stage.alarm_name(n) for n in _STAGE_ALARMS]


_STAGE_ALARMS = (
    "api-5xx-rate",
    "api-p99-latency",
    "proxy-pinned-sessions",
    "proxy-client-connections",
    "aurora-capacity",
)


def service_alarm_names(stage: Stage, service: Service) -> list[str]:
    names = [
        function_alarm_name(stage, service, unit, what)
        for unit in units(service)
        for what in ("errors", "throttles")
    ]
    for subscription in topology.subscriptions((service,), stage.name):
        names.append(f"{subscription.dlq_name}-not-empty")
    if service.publishes or service.tasks:
        names.append(relay_alarm_name(stage, service))
    return names


class Monitoring(Construct):
    """The stage's alarm topic, its stage-wide alarms and its dashboard."""

    def __init__(
        self, scope: Construct, construct_id: str, *, stage: Stage, services: tuple[Service, ...]
    ) -> None:
        super().__init__(scope, construct_id)
        self.stage = stage
        account = Stack.of(self).account
        key = kms.Key(
            self,
            "TopicKey",
            description=f"lms {stage.name}: encrypts alarm notifications at rest",
            enable_key_rotation=True,
            pending_window=Duration.days(7),
            removal_policy=RemovalPolicy.DESTROY,
        )
        # CloudWatch must encrypt what it publishes; the AWS-managed SNS key cannot grant it.
        key.add_to_resource_policy(
            iam.PolicyStatement(
                principals=[iam.ServicePrincipal("cloudwatch.amazonaws.com")],
                actions=["kms:Decrypt", "kms:GenerateDataKey*"],
                resources=["*"],
                conditions={"StringEquals": {"aws:SourceAccount": account}},
            )
        )
        self.topic = sns.Topic(
            self,
            "Topic",
            topic_name=shared.alarm_topic_name(stage),
            display_name=f"lms {stage.name} alarms",
            master_key=key,
            enforce_ssl=True,
        )
        self.topic.add_to_resource_policy(
            iam.PolicyStatement(
                principals=[iam.ServicePrincipal("cloudwatch.amazonaws.com")],
                actions=["sns:Publish"],
                resources=[self.topic.topic_arn],
                conditions={
                    "StringEquals": {"aws:SourceAccount": account},
                    "ArnLike": {
                        "aws:SourceArn": Stack.of(self).format_arn(
                            service="cloudwatch",
                            resource="alarm",
                            resource_name=f"{stage.prefix}-*",
                            arn_format=ArnFormat.COLON_RESOURCE_NAME,
                        )
                    },
                },
            )
        )
        if stage.alarm_email:
            self.topic.add_subscription(subscriptions.EmailSubscription(stage.alarm_email))

        alarms = Alarms(self, stage)
        api_id = shared.read(self, stage, shared.API_ID)
        api = _ApiMetrics(api_id)
        self.stage_alarms = [
            alarms.alarm(
                self,
                "Api5xxRate",
                name=stage.alarm_name("api-5xx-rate"),
                description=(
                    f"More than {stage.alarms.api_5xx_percent:g}% of API requests answered "
                    "5xx (over 5 minutes with at least 10 requests, 2 of 3 periods)"
                ),
                metric=api.server_error_percent(),
                threshold=stage.alarms.api_5xx_percent,
                evaluation_periods=3,
                datapoints_to_alarm=2,
                comparison=cloudwatch.ComparisonOperator.GREATER_THAN_THRESHOLD,
            ),
            alarms.alarm(
                self,
                "ApiP99Latency",
                name=stage.alarm_name("api-p99-latency"),
                description=(
                    f"API p99 latency above {stage.alarms.api_p99_ms} ms (2 of 3 periods of "
                    "5 minutes)"
                ),
                metric=api.metric("Latency", "p99"),
                threshold=stage.alarms.api_p99_ms,
                evaluation_periods=3,
                datapoints_to_alarm=2,
            ),
            alarms.alarm(
                self,
                "ProxyPinnedSessions",
                name=stage.alarm_name("proxy-pinned-sessions"),
                description=(
                    "RDS Proxy sessions pinned to a database connection (statement mode "
                    f"{stage.statement_mode}; budget {data.proxy_connection_budget(stage)} "
                    "database connections)"
                ),
                metric=_proxy_metric(stage, "DatabaseConnectionsCurrentlySessionPinned"),
                threshold=pinned_sessions_threshold(stage),
                evaluation_periods=3,
                datapoints_to_alarm=2,
            ),
            alarms.alarm(
                self,
                "ProxyClientConnections",
                name=stage.alarm_name("proxy-client-connections"),
                description=(
                    "Client connections to RDS Proxy near the database connections it may "
                    f"hold ({data.proxy_connection_budget(stage)})"
                ),
                metric=_proxy_metric(stage, "ClientConnections"),
                threshold=client_connections_threshold(stage),
                evaluation_periods=3,
                datapoints_to_alarm=2,
            ),
            alarms.alarm(
                self,
                "AuroraCapacity",
                name=stage.alarm_name("aurora-capacity"),
                description=(
                    f"Aurora at {stage.alarms.aurora_capacity_percent}% or more of its maximum "
                    f"{stage.aurora_max_acu:g} ACU for 15 minutes"
                ),
                metric=_cluster_metric(stage, "ServerlessDatabaseCapacity", "Maximum"),
                threshold=stage.aurora_max_acu * stage.alarms.aurora_capacity_percent / 100,
                evaluation_periods=3,
            ),
        ]
        for alarm in self.stage_alarms:
            # Their actions name the topic by ARN (as every stack's alarms do): it comes first.
            alarm.node.add_dependency(self.topic)
        self.dashboard = Dashboard(self, "Dashboard", stage=stage, services=services, api=api)


class _ApiMetrics:
    def __init__(self, api_id: str) -> None:
        self.api_id = api_id

    def metric(self, name: str, statistic: str) -> cloudwatch.Metric:
        return cloudwatch.Metric(
            namespace="AWS/ApiGateway",
            metric_name=name,
            dimensions_map={"ApiId": self.api_id},
            statistic=statistic,
            period=FIVE_MINUTES,
        )

    def server_error_percent(self) -> cloudwatch.MathExpression:
        return cloudwatch.MathExpression(
            expression="IF(requests >= 10, 100 * errors / requests, 0)",
            using_metrics={
                "errors": self.metric("5xx", "Sum"),
                "requests": self.metric("Count", "Sum"),
            },
            label="5xx %",
            period=FIVE_MINUTES,
        )


def _proxy_metric(stage: Stage, name: str, statistic: str = "Maximum") -> cloudwatch.Metric:
    return cloudwatch.Metric(
        namespace="AWS/RDS",
        metric_name=name,
        dimensions_map={"ProxyName": shared.proxy_name(stage)},
        statistic=statistic,
        period=FIVE_MINUTES,
    )


def _cluster_metric(stage: Stage, name: str, statistic: str) -> cloudwatch.Metric:
    return cloudwatch.Metric(
        namespace="AWS/RDS",
        metric_name=name,
        dimensions_map={"DBClusterIdentifier": shared.cluster_identifier(stage)},
        statistic=statistic,
        period=FIVE_MINUTES,
    )


class Dashboard(Construct):
    """One dashboard per stage: alarms, API, database, then a row per service."""

    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        stage: Stage,
        services: tuple[Service, ...],
        api: _ApiMetrics,
    ) -> None:
        super().__init__(scope, construct_id)
        self.stage = stage
        board = cloudwatch.Dashboard(
            self,
            "Board",
            # Dashboards are global to the account: the region keeps two regions' apart.
            dashboard_name=f"{stage.prefix}-{Aws.REGION}",
            default_interval=Duration.hours(3),
        )
        board.add_widgets(
            cloudwatch.TextWidget(
                markdown=f"# lms {stage.name}\nAlarms notify the topic "
                f"`{shared.alarm_topic_name(stage)}`.",
                width=24,
                height=2,
            )
        )
        board.add_widgets(*self._alarm_status("Stage alarms", stage_alarm_names(stage)))
        budget = data.proxy_connection_budget(stage)
        board.add_widgets(
            cloudwatch.GraphWidget(
                title="API requests",
                left=[api.metric("Count", "Sum"), api.metric("4xx", "Sum")],
                right=[api.metric("5xx", "Sum")],
                width=8,
            ),
            cloudwatch.GraphWidget(
                title="API latency (ms)",
                left=[
                    api.metric("Latency", "p50"),
                    api.metric("Latency", "p99"),
                    api.metric("IntegrationLatency", "p99"),
                ],
                left_annotations=[
                    cloudwatch.HorizontalAnnotation(
                        value=stage.alarms.api_p99_ms, label="p99 alarm"
                    )
                ],
                width=8,
            ),
            cloudwatch.GraphWidget(
                title="API 5xx %",
                left=[api.server_error_percent()],
                left_annotations=[
                    cloudwatch.HorizontalAnnotation(
                        value=stage.alarms.api_5xx_percent, label="alarm"
                    )
                ],
                width=8,
            ),
        )
        board.add_widgets(
            cloudwatch.GraphWidget(
                title="Aurora capacity (ACU)",
                left=[_cluster_metric(stage, "ServerlessDatabaseCapacity", "Maximum")],
                left_annotations=[
                    cloudwatch.HorizontalAnnotation(value=stage.aurora_max_acu, label="maximum")
                ],
                width=8,
            ),
            cloudwatch.GraphWidget(
                title="RDS Proxy connections",
                left=[
                    _proxy_metric(stage, "ClientConnections"),
                    _proxy_metric(stage, "DatabaseConnections"),
                    _proxy_metric(stage, "DatabaseConnectionsCurrentlySessionPinned"),
                ],
                left_annotations=[
                    cloudwatch.HorizontalAnnotation(value=budget, label="proxy's budget")
                ],
                width=8,
            ),
            cloudwatch.GraphWidget(
                title="RDS Proxy borrow latency (µs)",
                left=[_proxy_metric(stage, "DatabaseConnectionsBorrowLatency", "p99")],
                width=8,
            ),
        )
        for service in services:
            board.add_widgets(self._service_title(service))
            board.add_widgets(*self._service_widgets(service))
            board.add_widgets(
                *self._alarm_status(f"{service.name} alarms", service_alarm_names(stage, service))
            )

    def _alarm_status(self, title: str, names: Sequence[str]) -> list[cloudwatch.IWidget]:
        widgets: list[cloudwatch.IWidget] = []
        for start in range(0, len(names), ALARMS_PER_WIDGET):
            chunk = names[start : start + ALARMS_PER_WIDGET]
            widgets.append(
                cloudwatch.AlarmStatusWidget(
                    title=title,
                    alarms=[
                        cloudwatch.Alarm.from_alarm_name(self, f"Alarm{hash_id(name)}", name)
                        for name in chunk
                    ],
                    width=24,
                    height=max(2, (len(chunk) + 3) // 4 + 1),
                )
            )
        return widgets

    def _service_title(self, service: Service) -> cloudwatch.TextWidget:
        return cloudwatch.TextWidget(markdown=f"## {service.name}", width=24, height=1)

    def _service_widgets(self, service: Service) -> list[cloudwatch.IWidget]:
        stage = self.stage
        functions = {
            unit.name: stage.function_name(service.name, unit.name) for unit in units(service)
        }
        widgets: list[cloudwatch.IWidget] = [
            cloudwatch.GraphWidget(
                title=f"{service.name}: errors and throttles",
                left=[
                    _lambda_metric(f, "Errors", "Sum", f"{n} errors") for n, f in functions.items()
                ],
                right=[
                    _lambda_metric(f, "Throttles", "Sum", f"{n} throttles")
                    for n, f in functions.items()
                ],
                width=8,
            ),
            cloudwatch.GraphWidget(
                title=f"{service.name}: duration p99 (ms)",
                left=[_lambda_metric(f, "Duration", "p99", n) for n, f in functions.items()],
                width=8,
            ),
        ]
        for subscription in topology.subscriptions((service,), stage.name):
            widgets.append(
                cloudwatch.GraphWidget(
                    title=f"{service.name}: events queue",
                    left=[
                        _queue_metric(
                            subscription.queue_name, "ApproximateNumberOfMessagesVisible"
                        ),
                        _queue_metric(subscription.dlq_name, "ApproximateNumberOfMessagesVisible"),
                    ],
                    right=[
                        _queue_metric(subscription.queue_name, "ApproximateAgeOfOldestMessage"),
                        custom_metric(stage, service, CONSUMER_FAILED),
                        custom_metric(stage, service, INBOX_DUPLICATES),
                    ],
                    width=8,
                )
            )
        if service.publishes or service.tasks:
            widgets.append(
                cloudwatch.GraphWidget(
                    title=f"{service.name}: outbox",
                    left=[custom_metric(stage, service, OUTBOX_AGE, "Maximum")],
                    left_annotations=[
                        cloudwatch.HorizontalAnnotation(
                            value=stage.alarms.outbox_age_seconds, label="alarm"
                        )
                    ],
                    right=[
                        custom_metric(stage, service, OUTBOX_UNPUBLISHED, "Maximum"),
                        custom_metric(stage, service, PUT_EVENTS_FAILED),
                    ],
                    width=8,
                )
            )
        # Everything the service counts (its business counts included), whatever it names.
        widgets.append(
            cloudwatch.GraphWidget(
                title=f"{service.name}: counts",
                left=[
                    cloudwatch.MathExpression(
                        expression=(
                            f"SEARCH('{{{stage.metrics_namespace},{SERVICE_DIMENSION}}} "
                            f"{SERVICE_DIMENSION}=\"{service.name}\"', 'Sum', 300)"
                        ),
                        using_metrics={},
                        label="",
                        period=FIVE_MINUTES,
                    )
                ],
                width=8,
            )
        )
        return widgets


def _lambda_metric(function_name: str, name: str, statistic: str, label: str) -> cloudwatch.Metric:
    return cloudwatch.Metric(
        namespace="AWS/Lambda",
        metric_name=name,
        dimensions_map={"FunctionName": function_name},
        statistic=statistic,
        period=FIVE_MINUTES,
        label=label,
    )


def _queue_metric(queue_name: str, name: str) -> cloudwatch.Metric:
    return cloudwatch.Metric(
        namespace="AWS/SQS",
        metric_name=name,
        dimensions_map={"QueueName": queue_name},
        statistic="Maximum",
        period=FIVE_MINUTES,
        label=f"{queue_name} {name}",
    )


def hash_id(name: str) -> str:
    return hashlib.sha256(name.encode()).hexdigest()[:12]
