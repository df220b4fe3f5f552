"""One construct per service, built from its declaration alone.

For a ``Service`` (``functions/<name>/service.py``): one function per route, wired to its
route (the JWT authorizer on every route not declared public); a consumer fed by the
service's queue when it consumes events; a relay on a schedule when it publishes. Paths
and handlers come from the declaration; none is written here.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

from aws_cdk import Duration
from aws_cdk import aws_ec2 as ec2
from aws_cdk import aws_events as events
from aws_cdk import aws_events_targets as targets
from aws_cdk import aws_lambda as lambda_
from aws_cdk import aws_lambda_event_sources as sources
from aws_cdk import aws_logs as logs
from aws_cdk import aws_rds as rds
from aws_cdk import aws_secretsmanager as secretsmanager
from constructs import Construct

from infra import assets, nag
from infra.api import Api
from infra.data import allow_to_proxy
from infra.events import CONSUMER_TIMEOUT, Subscription
from infra.network import ISOLATED
from lms_platform import topology
from lms_platform.service import Route, Service

ROUTE_TIMEOUT = Duration.seconds(10)
RELAY_TIMEOUT = Duration.seconds(60)
# argon2id hashing (register, login) wants >= 512 MB; more memory is also more CPU, which
# shortens every cold start.
MEMORY_MB = 512
LOG_RETENTION = logs.RetentionDays.ONE_MONTH


def pascal(name: str) -> str:
    return "".join(part.capitalize() for part in name.replace("-", "_").split("_"))


@dataclass(frozen=True)
class Shared:
    """What every service's functions are given by the rest of the app."""

    vpc: ec2.IVpc
    proxy: rds.IDatabaseProxy
    proxy_security_group: ec2.ISecurityGroup
    db_secrets: Mapping[str, secretsmanager.ISecret]
    signing_key: secretsmanager.ISecret
    bus: events.IEventBus
    api: Api
    layers: assets.Layers


def secrets_extension() -> lambda_.ParamsAndSecretsLayerVersion:
    # The platform reads its secrets from this extension on localhost (lms_platform.secrets).
    return lambda_.ParamsAndSecretsLayerVersion.from_version(
        lambda_.ParamsAndSecretsVersions.V1_0_103,
        cache_enabled=True,
        cache_size=16,
        secrets_manager_ttl=Duration.minutes(5),
        log_level=lambda_.ParamsAndSecretsLogLevel.WARN,
    )


class ServiceFunctions(Construct):
    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        service: Service,
        shared: Shared,
        subscription: Subscription | None = None,
    ) -> None:
        super().__init__(scope, construct_id)
        self.service = service
        self.shared = shared
        self.security_group = ec2.SecurityGroup(
            self,
            "Functions",
            vpc=shared.vpc,
            description=f"Functions of the {service.name} service",
            allow_all_outbound=True,
        )
        allow_to_proxy(self, shared.proxy_security_group, self.security_group)
        self.code = assets.service_code(service.name)

        self.route_functions: dict[str, lambda_.Function] = {}
        for route in service.routes:
            function = self._function(
                f"{pascal(route.name)}Function",
                service.handler_path(route),
                description=f"{route.key} ({service.name}.{route.name})",
                timeout=ROUTE_TIMEOUT,
                signs=route.reads_signing_key,
            )
            shared.api.add_route(self, route, function)
            self.route_functions[route.name] = function

        self.consumer: lambda_.Function | None = None
        if subscription is not None:
            assert service.consumer_path is not None
            self.consumer = self._function(
                "ConsumerFunction",
                service.consumer_path,
                description=f"Consumer of the {service.name} service's events queue",
                timeout=CONSUMER_TIMEOUT,
            )
            self.consumer.add_event_source(
                sources.SqsEventSource(
                    subscription.queue,
                    batch_size=topology.CONSUMER_BATCH_SIZE,
                    report_batch_item_failures=True,
                )
            )

        self.relay: lambda_.Function | None = None
        if service.publishes:
            self.relay = self._function(
                "RelayFunction",
                topology.RELAY_HANDLER,
                description=f"Sends what the {service.name} outbox still holds",
                timeout=RELAY_TIMEOUT,
            )
            events.Rule(
                self,
                "RelaySchedule",
                description=f"Runs the {service.name} relay",
                schedule=events.Schedule.rate(Duration.minutes(topology.RELAY_SCHEDULE_MINUTES)),
                targets=[targets.LambdaFunction(self.relay, retry_attempts=0)],
            )

    @property
    def functions(self) -> list[lambda_.Function]:
        found = list(self.route_functions.values())
        found += [f for f in (self.consumer, self.relay) if f is not None]
        return found

    def route_function(self, route: Route) -> lambda_.Function:
        return self.route_functions[route.name]

    def _function(
        self,
        construct_id: str,
        handler: str,
        *,
        description: str,
        timeout: Duration,
        signs: bool = False,
    ) -> lambda_.Function:
        shared, service = self.shared, self.service
        db_secret = shared.db_secrets[service.name]
        environment = {
            "LMS_SERVICE": service.name,
            "LMS_DB_SECRET_ARN": db_secret.secret_arn,
            "LMS_DB_HOST": shared.proxy.endpoint,
            "LMS_EVENT_BUS_NAME": shared.bus.event_bus_name,
            "LMS_JWT_ISSUER": shared.api.issuer,
            "LMS_JWT_AUDIENCE": shared.api.audience,
            "POWERTOOLS_SERVICE_NAME": service.name,
        }
        if signs:
            environment["LMS_SIGNING_KEY_SECRET_ARN"] = shared.signing_key.secret_arn
        function = lambda_.Function(
            self,
            construct_id,
            description=description,
            runtime=assets.RUNTIME,
            architecture=assets.ARCHITECTURE,
            handler=handler,
            code=self.code,
            layers=shared.layers.all,
            memory_size=MEMORY_MB,
            timeout=timeout,
            vpc=shared.vpc,
            vpc_subnets=ISOLATED,
            security_groups=[self.security_group],
            environment=environment,
            params_and_secrets=secrets_extension(),
            log_group=logs.LogGroup(self, f"{construct_id}Logs", retention=LOG_RETENTION),
        )
        nag.lambda_function(function)
        db_secret.grant_read(function)
        if signs:
            shared.signing_key.grant_read(function)
        if service.publishes:
            shared.bus.grant_put_events_to(function)
        return function
