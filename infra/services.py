"""A service's stack body, built from its declaration alone (``functions/<name>/service.py``).

One function per route, wired to its route on the shared HTTP API (the JWT authorizer on
every route not declared public); a consumer fed by the service's own queue (rule, queue,
dead-letter queue and alarm) when it consumes events; a relay on a schedule when it
publishes; a function per job on its schedule; the secrets the service owns. Every
function gets errors and throttles alarms. Paths, handlers, grants and schedules come
from the declaration; none is written here.

What a function may touch beyond its own log group and the VPC:

- its service's database-role secret (and the signing key if the route says so, and the
  service's own secrets it names);
- ``events:PutEvents`` on the stage's bus, for the service's own ``Source`` only (IAM
  condition ``events:source``), when the service publishes;
- the declared S3 actions on the service's prefix of the content bucket;
- ``sqs:SendMessage`` on its own queue for a consumer that hands itself tasks.
"""

from __future__ import annotations

from typing import get_args

from aws_cdk import Duration, Stack
from aws_cdk import aws_ec2 as ec2
from aws_cdk import aws_events as events
from aws_cdk import aws_events_targets as targets
from aws_cdk import aws_iam as iam
from aws_cdk import aws_lambda as lambda_
from aws_cdk import aws_lambda_event_sources as sources
from aws_cdk import aws_secretsmanager as secretsmanager
from constructs import Construct

from infra import assets, monitoring, nag, network, shared
from infra.api import Routes
from infra.data import allow_to_proxy
from infra.events import Subscription
from infra.lambdas import LmsFunction
from infra.stage import Stage
from infra.units import Unit, units
from lms_platform import topology
from lms_platform.service import BucketAction, Service

S3_ACTIONS: dict[BucketAction, str] = {a: f"s3:{a}" for a in get_args(BucketAction)}


def secrets_extension() -> lambda_.ParamsAndSecretsLayerVersion:
    # The platform reads its secrets from this extension on localhost (lms_platform.secrets).
    return lambda_.ParamsAndSecretsLayerVersion.from_version(
        lambda_.ParamsAndSecretsVersions.V1_0_103,
        cache_enabled=True,
        cache_size=16,
        secrets_manager_ttl=Duration.minutes(5),
        log_level=lambda_.ParamsAndSecretsLogLevel.WARN,
    )


def secret_variable(name: str) -> str:
    """``LMS_SECRET_<NAME>_ARN``: where a function finds one of its service's own secrets."""
    return f"LMS_SECRET_{name.upper().replace('-', '_')}_ARN"


class ServiceFunctions(Construct):
    def __init__(
        self, scope: Construct, construct_id: str, *, stage: Stage, service: Service
    ) -> None:
        super().__init__(scope, construct_id)
        self.stage = stage
        self.service = service
        self.vpc = network.imported_vpc(self, stage)
        self.security_group = ec2.SecurityGroup(
            self,
            "Functions",
            vpc=self.vpc,
            description=f"Functions of the {stage.prefix} {service.name} service",
            allow_all_outbound=True,
        )
        allow_to_proxy(
            self, shared.read(self, stage, shared.PROXY_SECURITY_GROUP_ID), self.security_group
        )
        self.code = assets.service_code(service.name)
        self.layers = assets.layers(self, service.dependencies)
        self.alarms = monitoring.Alarms(self, stage)
        self.db_secret = secretsmanager.Secret.from_secret_complete_arn(
            self, "DatabaseSecret", shared.read(self, stage, shared.role_secret_arn(service.name))
        )
        self._signing_key: secretsmanager.ISecret | None = None
        self._routes: Routes | None = None
        self.own_secrets = {name: self._own_secret(name) for name in service.secrets}
        self.bucket_name = shared.content_bucket_name(stage)

        self.functions: dict[str, lambda_.Function] = {}
        self.subscription: Subscription | None = None
        for unit in units(service):
            self.functions[unit.name] = self._unit(unit)

    # --- one function of each kind -----------------------------------------------------

    def _unit(self, unit: Unit) -> lambda_.Function:
        scope = Construct(self, unit.construct_id)
        built = LmsFunction(
            scope,
            "Function",
            stage=self.stage,
            function_name=self.stage.function_name(self.service.name, unit.name),
            description=unit.description,
            handler=unit.handler,
            code=self.code,
            layers=self.layers.all,
            vpc=self.vpc,
            security_group=self.security_group,
            timeout=Duration.seconds(unit.timeout_seconds),
            environment=self._environment(unit),
            params_and_secrets=secrets_extension(),
        )
        function = built.function
        self._grant(unit, built)
        self.alarms.function_alarms(built, self.service, unit, function)
        if unit.route is not None:
            self.routes.add(scope, unit.route, function)
        elif unit.kind == "consumer":
            self._consume(scope, function)
        elif unit.kind == "relay" and self.service.tasks and self.subscription is not None:
            # The relay also sends the tasks left unsent after their commit.
            self.subscription.queue.grant_send_messages(function)
            function.add_environment("LMS_OWN_QUEUE_URL", self.subscription.queue.queue_url)
        if unit.every_minutes is not None:
            minutes = unit.every_minutes
            events.Rule(
                scope,
                "Schedule",
                description=f"Runs {self.stage.function_name(self.service.name, unit.name)}",
                schedule=events.Schedule.rate(Duration.minutes(minutes)),
                targets=[targets.LambdaFunction(function, retry_attempts=0)],
            )
        if unit.kind == "relay":
            self.alarms.alarm(
                scope,
                "BacklogAlarm",
                name=monitoring.relay_alarm_name(self.stage, self.service),
                description=(
                    f"The {self.service.name} outbox holds an event older than "
                    f"{self.stage.alarms.outbox_age_seconds} s: the relay cannot send it"
                ),
                metric=monitoring.custom_metric(
                    self.stage, self.service, monitoring.OUTBOX_AGE, "Maximum"
                ),
                threshold=self.stage.alarms.outbox_age_seconds,
            )
        return function

    def _consume(self, scope: Construct, function: lambda_.Function) -> None:
        (subscription,) = topology.subscriptions((self.service,), self.stage.name)
        self.subscription = Subscription(
            scope,
            "Subscription",
            stage=self.stage,
            subscription=subscription,
            alarms=self.alarms,
        )
        function.add_event_source(
            sources.SqsEventSource(
                self.subscription.queue,
                batch_size=topology.CONSUMER_BATCH_SIZE,
                report_batch_item_failures=True,
                max_concurrency=self.stage.consumer_concurrency(self.service.name),
            )
        )
        if self.service.tasks:
            # The consumer cuts long work into messages to itself on its own queue.
            self.subscription.queue.grant_send_messages(function)
            function.add_environment("LMS_OWN_QUEUE_URL", self.subscription.queue.queue_url)

    @property
    def routes(self) -> Routes:
        """The shared API, read only by a service that has routes."""
        if self._routes is None:
            self._routes = Routes(self, self.stage)
        return self._routes

    @property
    def signing_key(self) -> secretsmanager.ISecret:
        """Read only where a route needs it (an unread parameter is a template warning)."""
        if self._signing_key is None:
            self._signing_key = secretsmanager.Secret.from_secret_complete_arn(
                self, "SigningKey", shared.read(self, self.stage, shared.SIGNING_KEY_SECRET_ARN)
            )
        return self._signing_key

    def _own_secret(self, name: str) -> secretsmanager.Secret:
        secret = secretsmanager.Secret(
            self,
            f"Secret{name.title().replace('-', '').replace('_', '')}",
            secret_name=f"{self.stage.prefix}/{self.service.name}/{name}",
            description=(
                f"lms {self.stage.name}: the {self.service.name} service's {name} "
                "(filled by the operator: aws secretsmanager put-secret-value)"
            ),
            # Empty of meaning until the operator puts the real value in.
            generate_secret_string=secretsmanager.SecretStringGenerator(
                exclude_punctuation=True, password_length=32
            ),
            removal_policy=self.stage.removal_policy,
        )
        nag.acknowledge(
            secret,
            "AwsSolutions-SMG4",
            "A third party's credential (a payment provider's API key ...): it is rotated "
            "where it is issued and put here by the operator, not generated by a rotation "
            "function.",
        )
        return secret

    # --- what a function is told and may do --------------------------------------------

    def _environment(self, unit: Unit) -> dict[str, str]:
        stage, service = self.stage, self.service
        environment = {
            "LMS_STAGE": stage.name,
            "LMS_SERVICE": service.name,
            "LMS_DB_SECRET_ARN": self.db_secret.secret_arn,
            "LMS_DB_HOST": shared.read(self, stage, shared.PROXY_ENDPOINT),
            "LMS_DB_STATEMENT_MODE": stage.statement_mode,
            "LMS_EVENT_BUS_NAME": shared.bus_name(stage),
            "POWERTOOLS_SERVICE_NAME": service.name,
            "POWERTOOLS_METRICS_NAMESPACE": stage.metrics_namespace,
            "POWERTOOLS_LOG_LEVEL": stage.log_level,
        }
        if service.routes:
            # Tokens are verified against the API's own URL (the issuer).
            environment["LMS_JWT_ISSUER"] = self.routes.issuer
            environment["LMS_JWT_AUDIENCE"] = self.routes.audience
        if unit.reads_signing_key:
            environment["LMS_SIGNING_KEY_SECRET_ARN"] = self.signing_key.secret_arn
        for name in unit.secrets:
            environment[secret_variable(name)] = self.own_secrets[name].secret_arn
        if unit.bucket:
            environment["LMS_CONTENT_BUCKET"] = self.bucket_name
            environment["LMS_CONTENT_PREFIX"] = service.bucket_prefix or ""
        return environment

    def _grant(self, unit: Unit, built: LmsFunction) -> None:
        function = built.function
        self.db_secret.grant_read(function)
        if unit.reads_signing_key:
            self.signing_key.grant_read(function)
        for name in unit.secrets:
            self.own_secrets[name].grant_read(function)
        if self.service.publishes:
            function.add_to_role_policy(
                iam.PolicyStatement(
                    sid="PutOwnEvents",
                    actions=["events:PutEvents"],
                    resources=[shared.bus_arn(self, self.stage)],
                    # A function may put the events of its own service only: a User
                    # function cannot forge lms.course events that others would trust.
                    conditions={"StringEquals": {"events:source": self.service.source}},
                )
            )
        if unit.bucket:
            self._grant_bucket(built, unit.bucket)

    def _grant_bucket(self, built: LmsFunction, actions: tuple[BucketAction, ...]) -> None:
        function = built.function
        prefix = self.service.bucket_prefix or ""
        bucket_arn = Stack.of(self).format_arn(
            service="s3", region="", account="", resource=self.bucket_name
        )
        object_actions = sorted(S3_ACTIONS[a] for a in actions if a != "ListBucket")
        if object_actions:
            function.add_to_role_policy(
                iam.PolicyStatement(
                    sid="OwnPrefixObjects",
                    actions=object_actions,
                    resources=[f"{bucket_arn}/{prefix}*"],
                )
            )
            # How cdk-nag prints that resource: the bucket's name carries account and region.
            printed = (
                f"arn:<AWS::Partition>:s3:::{self.stage.resource_name('content')}"
                f"-<AWS::AccountId>-<AWS::Region>/{prefix}*"
            )
            nag.acknowledge(
                built, f"AwsSolutions-IAM5[Resource::{printed}]", nag.BUCKET_PREFIX_REASON
            )
        if "ListBucket" in actions:
            function.add_to_role_policy(
                iam.PolicyStatement(
                    sid="ListOwnPrefix",
                    actions=["s3:ListBucket"],
                    resources=[bucket_arn],
                    conditions={"StringLike": {"s3:prefix": [f"{prefix}*"]}},
                )
            )
