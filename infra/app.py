"""The CDK app: one stage's stacks, from the service declarations and the context.

``python -m infra.app [-c lms:stage=prod -c lms:production=true ...]`` writes the templates
into ``cdk.out/<stage>/``, offline; the CDK CLI runs the same app (``cdk.json``) with its
own ``-c`` options and output folder.

The account and region come from the context (``-c lms:account=... -c lms:region=...``),
else from the CDK CLI's defaults, else a placeholder pair whose availability zones are
committed in ``cdk.context.json``: synthesis never needs credentials or a lookup.
"""

from __future__ import annotations

import argparse
import json
import os
from dataclasses import dataclass
from typing import Any

import aws_cdk as cdk
from aws_cdk import Validations
from cdk_nag import AwsSolutionsChecks

from functions.registry import SERVICES
from infra import REPO, providers
from infra.stacks import (
    ApiStack,
    DataStack,
    EventsStack,
    GatewayStack,
    LmsStack,
    MigrationStack,
    MonitoringStack,
    ServiceStack,
)
from infra.stage import Stage
from lms_platform.service import Service

PLACEHOLDER_ACCOUNT = "111111111111"
PLACEHOLDER_REGION = "us-east-1"
SHARED_STACKS = ("data", "events", "api", "monitoring", "migration", "gateway")


def committed_context() -> dict[str, Any]:
    """The context of cdk.json and cdk.context.json.

    The CDK CLI passes these to the app itself; ``python -m infra.app`` has no CLI, so it
    reads them here (the CLI's values, when present, still take precedence).
    """
    context: dict[str, Any] = json.loads((REPO / "cdk.json").read_text()).get("context", {})
    context.update(json.loads((REPO / "cdk.context.json").read_text()))
    return context


def environment(app: cdk.App) -> cdk.Environment:
    account = app.node.try_get_context("lms:account") or os.environ.get(
        "CDK_DEFAULT_ACCOUNT", PLACEHOLDER_ACCOUNT
    )
    region = app.node.try_get_context("lms:region") or os.environ.get(
        "CDK_DEFAULT_REGION", PLACEHOLDER_REGION
    )
    return cdk.Environment(account=account, region=region)


@dataclass
class Deployment:
    """The stacks of one stage."""

    stage: Stage
    data: DataStack
    events: EventsStack
    api: ApiStack
    monitoring: MonitoringStack
    migration: MigrationStack
    services: dict[str, ServiceStack]
    gateway: GatewayStack

    @property
    def stacks(self) -> list[LmsStack]:
        return [
            self.data,
            self.events,
            self.api,
            self.monitoring,
            self.migration,
            *self.services.values(),
            self.gateway,
        ]


def build(app: cdk.App, services: tuple[Service, ...] = SERVICES) -> Deployment:
    clashing = sorted({s.name for s in services} & set(SHARED_STACKS))
    if clashing:
        raise ValueError(f"a service may not be named like a shared stack: {clashing}")
    stage = Stage.from_context(app.node, [s.name for s in services])
    env = environment(app)
    data = DataStack(app, stage=stage, services=services, env=env)
    events = EventsStack(app, stage=stage, env=env)
    api = ApiStack(app, stage=stage, env=env)
    monitoring = MonitoringStack(app, stage=stage, services=services, env=env)
    monitoring.add_stack_dependency(api, "the API's id (SSM) for the API alarms")
    migration = MigrationStack(app, stage=stage, services=services, env=env)
    migration.add_stack_dependency(
        data, "the proxy, the role secrets and the Secrets Manager endpoint exist first"
    )
    service_stacks = {}
    for service in services:
        stack = ServiceStack(app, stage=stage, service=service, env=env)
        stack.add_stack_dependency(data, "the VPC, the proxy and the role secret (SSM)")
        stack.add_stack_dependency(events, "the bus its rule listens on and it publishes to")
        stack.add_stack_dependency(api, "the API and authorizer its routes join (SSM)")
        stack.add_stack_dependency(monitoring, "the topic its alarms notify")
        stack.add_stack_dependency(migration, "the schema its functions read")
        service_stacks[service.name] = stack
    gateway = GatewayStack(app, stage=stage, services=services, env=env)
    gateway.add_stack_dependency(api, "the API (SSM)")
    for stack in service_stacks.values():
        gateway.add_stack_dependency(stack, "route settings may name only routes that exist")
    deployment = Deployment(
        stage, data, events, api, monitoring, migration, service_stacks, gateway
    )
    for each in deployment.stacks:
        providers.narrow_log_permissions(each)
    Validations.of(app).add_plugins(AwsSolutionsChecks(app))
    return deployment


def parse_arguments(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="python -m infra.app", description=__doc__)
    parser.add_argument(
        "-c",
        "--context",
        action="append",
        default=[],
        metavar="KEY=VALUE",
        help="a context value, as the CDK CLI takes it (-c lms:stage=prod)",
    )
    parser.add_argument("--outdir", help="where the templates go (default cdk.out/<stage>)")
    return parser.parse_args(argv)


def main(argv: list[str] | None = None) -> None:
    arguments = parse_arguments(argv)
    context = committed_context()
    for item in arguments.context:
        key, separator, value = item.partition("=")
        if not separator:
            raise SystemExit(f"-c {item}: expected KEY=VALUE")
        context[key] = value
    # The CDK CLI names the output folder (CDK_OUTDIR); run alone, the app writes
    # cdk.out/<stage>/ so that two stages' assemblies stand side by side.
    outdir = arguments.outdir
    if outdir is None and not os.environ.get("CDK_OUTDIR"):
        stage = str(context.get("lms:stage") or "dev")
        outdir = str(REPO / "cdk.out" / stage)
    app = cdk.App(context=context, outdir=outdir)
    build(app)
    app.synth()


if __name__ == "__main__":
    main()
