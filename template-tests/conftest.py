"""Synthesizes the CDK app once per session and stage, bundling skipped, and hands out its
templates.

Three assemblies: the default stage (``dev``), a production stage with the settings an
operator would give it, and ``dev`` again with the services of ``fakes.py`` added (every
declaration field in use). Skipping bundling (context ``aws:cdk:bundling-stacks: []``)
keeps these tests offline and fast: no pip download, no compile; the templates are the
same either way.
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

PRODUCTION_CONTEXT = {
    "lms:stage": "prod",
    "lms:production": "true",
    "lms:aurora-min-acu": "1",
    "lms:aurora-max-acu": "16",
    "lms:alarm-email": "ops@example.com",
    "lms:tracing": "true",
    "lms:db-statement-mode": "named",
    "lms:throttle-strict-rate": "5",
    "lms:consumer-max-concurrency:enrollment": "20",
}


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    here = Path(__file__).resolve().parent
    for item in items:
        if here in Path(str(item.fspath)).resolve().parents:
            item.add_marker(pytest.mark.infra)


@dataclass(frozen=True)
class Resource:
    stack: str
    logical_id: str
    type: str
    body: dict[str, Any]

    @property
    def properties(self) -> dict[str, Any]:
        return dict(self.body.get("Properties", {}))

    @property
    def path(self) -> str:
        return str(self.body.get("Metadata", {}).get("aws:cdk:path", ""))

    @property
    def depends_on(self) -> list[str]:
        value = self.body.get("DependsOn", [])
        return [value] if isinstance(value, str) else list(value)


@dataclass
class Synth:
    stage: str
    outdir: Path
    templates: dict[str, dict[str, Any]]  # stack name -> template
    dependencies: dict[str, set[str]]  # stack name -> the stacks deployed before it
    termination_protection: dict[str, bool]
    services: tuple[Service, ...]

    def stack_name(self, kind: str) -> str:
        return f"lms-{self.stage}-{kind}"

    def template(self, kind: str) -> dict[str, Any]:
        return self.templates[self.stack_name(kind)]

    def all_resources(self, stack: str | None = None) -> list[Resource]:
        found = []
        for name, template in self.templates.items():
            if stack is not None and name != stack:
                continue
            for logical_id, body in template.get("Resources", {}).items():
                found.append(Resource(name, logical_id, body["Type"], body))
        return found

    def resources(self, type_: str, stack: str | None = None) -> list[Resource]:
        return [r for r in self.all_resources(stack) if r.type == type_]

    def resource(self, stack: str, logical_id: str) -> Resource:
        body = self.templates[stack]["Resources"][logical_id]
        return Resource(stack, logical_id, body["Type"], body)

    def validation_report(self) -> dict[str, Any]:
        return dict(json.loads((self.outdir / "validation-report.json").read_text()))


def synthesize(
    outdir: Path,
    services: tuple[Service, ...] | None = None,
    context: dict[str, str] | None = None,
) -> Synth:
    import aws_cdk as cdk

    from functions.registry import SERVICES
    from infra.app import build, committed_context

    app = cdk.App(
        context={
            **committed_context(),
            "aws:cdk:bundling-stacks": [],
            "aws:cdk:enable-path-metadata": True,
            **(context or {}),
        },
        outdir=str(outdir),
    )
    declared = SERVICES if services is None else services
    deployment = build(app, declared)
    assembly = app.synth()
    by_id = {stack.id: stack.stack_name for stack in assembly.stacks}
    return Synth(
        stage=deployment.stage.name,
        outdir=outdir,
        templates={stack.stack_name: stack.template for stack in assembly.stacks},
        dependencies={
            stack.stack_name: {by_id[d.id] for d in stack.dependencies if d.id in by_id}
            for stack in assembly.stacks
        },
        termination_protection={
            stack.stack_name: bool(stack.termination_protection) for stack in assembly.stacks
        },
        services=declared,
    )


@pytest.fixture(scope="session")
def synth(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Synth]:
    """The default stage, ``dev``, of the declared services."""
    yield synthesize(tmp_path_factory.mktemp("dev"))


@pytest.fixture(scope="session")
def production(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Synth]:
    """A production stage, ``prod``, with an operator's settings (PRODUCTION_CONTEXT)."""
    yield synthesize(tmp_path_factory.mktemp("prod"), context=PRODUCTION_CONTEXT)


@pytest.fixture(scope="session")
def extended(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Synth]:
    """``dev`` with the services of fakes.py added to the declared ones."""
    from fakes import FAKES

    from functions.registry import SERVICES
    from infra import assets

    # The fakes have no package of their own: they ship the course service's code.
    original = assets.service_code
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(
            assets,
            "service_code",
            lambda name: original(name if (REPO / "functions" / name).is_dir() else "course"),
        )
        yield synthesize(tmp_path_factory.mktemp("extended"), SERVICES + FAKES)


@pytest.fixture(params=["dev", "prod"])
def stage(request: pytest.FixtureRequest) -> Synth:
    """Each of the two stages in turn."""
    name = "synth" if request.param == "dev" else "production"
    return request.getfixturevalue(name)  # type: ignore[no-any-return]


@pytest.fixture(params=["dev", "prod", "extended"])
def any_synth(request: pytest.FixtureRequest) -> Synth:
    """Every assembly, the fakes' included."""
    name = {"dev": "synth", "prod": "production", "extended": "extended"}[request.param]
    return request.getfixturevalue(name)  # type: ignore[no-any-return]
