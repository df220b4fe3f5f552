"""Shared names: a deployed stage's carry the stage, the local runtime's stay as they were;
and the platform never reaches up to the services it serves."""

from __future__ import annotations

import ast
from pathlib import Path

from functions.registry import SERVICES
from lms_platform import topology

PLATFORM = Path(topology.__file__).resolve().parent


def test_the_local_runtime_keeps_the_bare_lms_names() -> None:
    enrollment = next(s for s in SERVICES if s.name == "enrollment")
    (local,) = topology.subscriptions((enrollment,))
    assert (local.rule_name, local.queue_name, local.dlq_name) == (
        "lms-enrollment-events",
        "lms-enrollment-events",
        "lms-enrollment-events-dlq",
    )
    assert topology.event_bus() == topology.EVENT_BUS == "lms"


def test_a_deployed_stage_prefixes_every_name_with_its_own() -> None:
    enrollment = next(s for s in SERVICES if s.name == "enrollment")
    (dev,) = topology.subscriptions((enrollment,), "dev")
    (prod,) = topology.subscriptions((enrollment,), "prod")
    assert (dev.queue_name, dev.dlq_name) == (
        "lms-dev-enrollment-events",
        "lms-dev-enrollment-events-dlq",
    )
    assert prod.rule_name == "lms-prod-enrollment-events"
    assert topology.event_bus("dev") == "lms-dev"


def test_no_platform_module_imports_the_services() -> None:
    # The ground floor is given the services (functions/migrate.py passes them in).
    offenders = []
    for module in sorted(PLATFORM.glob("*.py")):
        for node in ast.walk(ast.parse(module.read_text())):
            names = []
            if isinstance(node, ast.Import):
                names = [alias.name for alias in node.names]
            elif isinstance(node, ast.ImportFrom):
                names = [node.module or ""]
            offenders += [f"{module.name}: {n}" for n in names if n.split(".")[0] == "functions"]
    assert offenders == []
