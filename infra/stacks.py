"""Two stacks: what holds state (network, database, secrets, content) and what does not.

The stateless stack (bus, queues, API, functions, migration) can be replaced freely; the
stateful one changes rarely and keeps deletion protection on the database.
"""

from __future__ import annotations

from typing import Any

from aws_cdk import CfnOutput, Stack
from constructs import Construct

from infra import assets
from infra.api import Api
from infra.data import ContentStorage, Data
from infra.events import EventBus
from infra.migration import Migration
from infra.network import Network
from infra.services import ServiceFunctions, Shared, pascal
from lms_platform.service import Service


class DataStack(Stack):
    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        services: tuple[Service, ...],
        **kwargs: Any,
    ) -> None:
        super().__init__(scope, construct_id, **kwargs)
        self.network = Network(self, "Network")
        self.data = Data(self, "Data", vpc=self.network.vpc, services=services)
        self.content = ContentStorage(self, "Content")


class AppStack(Stack):
    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        data: DataStack,
        services: tuple[Service, ...],
        **kwargs: Any,
    ) -> None:
        super().__init__(scope, construct_id, **kwargs)
        self.events = EventBus(self, "Events", services=services)
        self.api = Api(self, "Api")
        self.layers = assets.layers(self)
        shared = Shared(
            vpc=data.network.vpc,
            proxy=data.data.proxy,
            proxy_security_group=data.data.proxy_security_group,
            db_secrets=data.data.service_secrets,
            signing_key=data.data.signing_key,
            bus=self.events.bus,
            api=self.api,
            layers=self.layers,
        )
        self.services = {
            service.name: ServiceFunctions(
                self,
                pascal(service.name),
                service=service,
                shared=shared,
                subscription=self.events.subscriptions.get(service.name),
            )
            for service in services
        }
        self.migration = Migration(
            self,
            "Migration",
            vpc=data.network.vpc,
            proxy=data.data.proxy,
            proxy_security_group=data.data.proxy_security_group,
            admin_secret=data.data.admin_secret,
            service_secrets=data.data.service_secrets,
            signing_key=data.data.signing_key,
            layers=self.layers,
            # The schema a new version of a function reads exists before that version.
            execute_before=list(self.services.values()),
        )
        CfnOutput(self, "ApiUrl", value=self.api.issuer, description="The HTTP API")
