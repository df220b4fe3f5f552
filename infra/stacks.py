"""The stacks of one stage, in the order a deployment creates them.

    lms-<stage>-data        network (VPC, endpoints), Aurora, RDS Proxy, role secrets,
                            signing key, content bucket
    lms-<stage>-events      bus, archive, schema registry
    lms-<stage>-api         HTTP API and its JWT authorizer
    lms-<stage>-monitoring  alarm topic, stage-wide alarms, dashboard
    lms-<stage>-migration   the migration function and the trigger that runs it
    lms-<stage>-<service>   one per declared service: its functions, routes, consumer,
                            relay, jobs, secrets and alarms
    lms-<stage>-gateway     the API's $default stage: throttling, access logs

A stack reads what another made through SSM parameters or stable names
(``infra/shared.py``), never an export; the order is declared with stack dependencies.
Adding a service adds its stack; no code of another stack changes (the data stack gains
the service's role secret, the migration its schema, the gateway its strict routes and
the dashboard its row, all derived from the same declaration).
"""

from __future__ import annotations

from typing import Any

from aws_cdk import CfnOutput, Stack, Tags
from constructs import Construct

from infra import api, data, events, migration, monitoring, network, services
from infra.stage import Stage
from lms_platform.service import Service

# CloudFormation refuses Tags on these although CDK's model offers them.
UNTAGGABLE = ["AWS::RDS::DBProxyTargetGroup"]


class LmsStack(Stack):
    def __init__(
        self, scope: Construct, kind: str, *, stage: Stage, description: str, **kwargs: Any
    ) -> None:
        super().__init__(
            scope,
            stage.stack_name(kind),
            stack_name=stage.stack_name(kind),
            description=f"lms {stage.name}: {description}",
            termination_protection=stage.production,
            **kwargs,
        )
        self.stage = stage
        Tags.of(self).add("lms:stage", stage.name, exclude_resource_types=UNTAGGABLE)


class DataStack(LmsStack):
    def __init__(
        self, scope: Construct, *, stage: Stage, services: tuple[Service, ...], **kwargs: Any
    ) -> None:
        super().__init__(
            scope,
            "data",
            stage=stage,
            description="network, database, proxy, secrets, content bucket",
            **kwargs,
        )
        self.network = network.Network(
            self, "Network", stage=stage, sends_tasks=any(s.tasks for s in services)
        )
        self.data = data.Data(
            self,
            "Data",
            stage=stage,
            vpc=self.network.vpc,
            secrets_endpoint=self.network.secrets_endpoint,
            services=services,
        )
        self.content = data.ContentStorage(self, "Content", stage=stage, services=services)


class EventsStack(LmsStack):
    def __init__(self, scope: Construct, *, stage: Stage, **kwargs: Any) -> None:
        super().__init__(
            scope, "events", stage=stage, description="event bus, archive, schemas", **kwargs
        )
        self.events = events.EventBus(self, "Events", stage=stage)


class ApiStack(LmsStack):
    def __init__(self, scope: Construct, *, stage: Stage, **kwargs: Any) -> None:
        super().__init__(
            scope, "api", stage=stage, description="HTTP API and its JWT authorizer", **kwargs
        )
        self.api = api.Api(self, "Api", stage=stage)
        CfnOutput(self, "ApiUrl", value=self.api.issuer, description="The HTTP API")


class MonitoringStack(LmsStack):
    def __init__(
        self, scope: Construct, *, stage: Stage, services: tuple[Service, ...], **kwargs: Any
    ) -> None:
        super().__init__(
            scope,
            "monitoring",
            stage=stage,
            description="alarm topic, stage alarms, dashboard",
            **kwargs,
        )
        self.monitoring = monitoring.Monitoring(self, "Monitoring", stage=stage, services=services)


class MigrationStack(LmsStack):
    def __init__(
        self, scope: Construct, *, stage: Stage, services: tuple[Service, ...], **kwargs: Any
    ) -> None:
        super().__init__(
            scope,
            "migration",
            stage=stage,
            description="the migration function, run on every deployment",
            **kwargs,
        )
        self.migration = migration.Migration(self, "Migration", stage=stage, services=services)


class ServiceStack(LmsStack):
    def __init__(self, scope: Construct, *, stage: Stage, service: Service, **kwargs: Any) -> None:
        super().__init__(
            scope,
            service.name,
            stage=stage,
            description=f"the {service.name} service",
            **kwargs,
        )
        Tags.of(self).add("lms:service", service.name, exclude_resource_types=UNTAGGABLE)
        self.service = service
        self.functions = services.ServiceFunctions(self, "Service", stage=stage, service=service)


class GatewayStack(LmsStack):
    def __init__(
        self, scope: Construct, *, stage: Stage, services: tuple[Service, ...], **kwargs: Any
    ) -> None:
        super().__init__(
            scope,
            "gateway",
            stage=stage,
            description="the HTTP API's stage: throttling, access logs",
            **kwargs,
        )
        self.gateway = api.Gateway(self, "Gateway", stage=stage, services=services)
