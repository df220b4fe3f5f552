"""The CDK app: ``python -m infra.app`` writes the templates into ``cdk.out/``, offline.

The account and region come from the context (``-c lms:account=... -c lms:region=...``),
else from the CDK CLI's defaults, else a placeholder pair whose availability zones are
committed in ``cdk.context.json``: synthesis never needs credentials or a lookup.
"""

from __future__ import annotations

import json
import os
from typing import Any

import aws_cdk as cdk
from aws_cdk import Validations
from cdk_nag import AwsSolutionsChecks

from functions.registry import SERVICES
from infra import REPO
from infra.stacks import AppStack, DataStack
from lms_platform.service import Service

PLACEHOLDER_ACCOUNT = "111111111111"
PLACEHOLDER_REGION = "us-east-1"


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


def build(app: cdk.App, services: tuple[Service, ...] = SERVICES) -> tuple[DataStack, AppStack]:
    env = environment(app)
    data = DataStack(
        app, "LmsData", services=services, env=env, description="LMS: network, database, content"
    )
    stateless = AppStack(
        app,
        "LmsApp",
        data=data,
        services=services,
        env=env,
        description="LMS: bus, queues, HTTP API, functions, migration",
    )
    Validations.of(app).add_plugins(AwsSolutionsChecks(app))
    return data, stateless


def main() -> None:
    # The CDK CLI names the output folder (CDK_OUTDIR); run alone, the app writes cdk.out/.
    outdir = None if os.environ.get("CDK_OUTDIR") else str(REPO / "cdk.out")
    app = cdk.App(context=committed_context(), outdir=outdir)
    build(app)
    app.synth()


if __name__ == "__main__":
    main()
