"""Synthesizes the CDK app once per session, bundling skipped, and hands out its templates.

Skipping bundling (context ``aws:cdk:bundling-stacks: []``) keeps these tests offline and
fast: no pip download, no compile; the templates are the same either way.
"""

from __future__ import annotations

import json
import os
import sys
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

REPO = Path(__file__).resolve().parent.parent
if str(REPO) not in sys.path:
    sys.path.insert(0, str(REPO))
os.environ.setdefault("JSII_SILENCE_WARNING_END_OF_LIFE_NODE_VERSION", "20")

from lms_platform.service import Service  # noqa: E402


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    here = Path(__file__).resolve().parent
    for item in items:
        if here in Path(str(item.fspath)).resolve().parents:
            item.add_marker(pytest.mark.infra)


@dataclass
class Synth:
    outdir: Path
    templates: dict[str, dict[str, Any]]  # stack name -> template

    def resources(self, type_: str, stack: str | None = None) -> dict[str, dict[str, Any]]:
        found = {}
        for name, template in self.templates.items():
            if stack is not None and name != stack:
                continue
            for logical_id, resource in template.get("Resources", {}).items():
                if resource["Type"] == type_:
                    found[logical_id] = resource
        return found

    def resource(self, logical_id: str) -> dict[str, Any]:
        for template in self.templates.values():
            if logical_id in template.get("Resources", {}):
                return dict(template["Resources"][logical_id])
        raise KeyError(logical_id)

    def validation_report(self) -> dict[str, Any]:
        return dict(json.loads((self.outdir / "validation-report.json").read_text()))


def synthesize(outdir: Path, services: tuple[Service, ...] | None = None) -> Synth:
    import aws_cdk as cdk

    from infra.app import build, committed_context

    app = cdk.App(
        context={**committed_context(), "aws:cdk:bundling-stacks": []}, outdir=str(outdir)
    )
    if services is None:
        build(app)
    else:
        build(app, services)
    assembly = app.synth()
    return Synth(
        outdir=outdir,
        templates={stack.stack_name: stack.template for stack in assembly.stacks},
    )


@pytest.fixture(scope="session")
def synth(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Synth]:
    yield synthesize(tmp_path_factory.mktemp("cdk.out"))
