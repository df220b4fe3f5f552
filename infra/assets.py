"""Lambda code and layers, built on this machine (no Docker).

Three kinds of asset, each bundled by ``LocalBuild`` straight into the asset folder:

- a service's code: ``functions/__init__.py`` and ``functions/<service>/`` only;
- the platform layer: ``lms_platform``, ``lms_events`` and the event JSON Schemas under
  ``python/`` (the layout Lambda puts on ``sys.path`` from ``/opt/python``);
- the dependencies layer: ``pip install`` of the runtime dependencies from
  ``pyproject.toml`` for Linux arm64 and CPython 3.12, wheels only, with the
  optional-dependency groups a service declares (``Service.dependencies``) or the
  migration needs (SQLAlchemy, Alembic, Mako), so that those reach no other function.

Lambda's code folder is read-only, so Python cannot write bytecode there at cold start:
every asset ships ``__pycache__`` compiled by a Python 3.12 interpreter (the runtime's),
in ``unchecked-hash`` mode because the asset zip does not keep source timestamps.

Asset hashes are computed here from exactly the files and settings that go in, so an
unchanged asset is neither rebuilt nor redeployed, and a changed one always is.
"""

from __future__ import annotations

import hashlib
import os
import shutil
import subprocess
import sys
import tomllib
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from functools import cache
from pathlib import Path
from typing import Any

import aws_cdk as cdk
import jsii
from aws_cdk import aws_lambda as lambda_
from constructs import Construct

from infra import REPO

RUNTIME = lambda_.Runtime.PYTHON_3_12
RUNTIME_VERSION = "3.12"
ARCHITECTURE = lambda_.Architecture.ARM_64
PIP_PLATFORM = "manylinux2014_aarch64"
# Bump when the bundling steps change, so every asset is rebuilt once.
BUILD_VERSION = "1"

_IGNORED = shutil.ignore_patterns("__pycache__", "*.pyc", ".mypy_cache", ".pytest_cache")


@dataclass(frozen=True)
class Copy:
    """A file or folder of the repository and where it goes inside the asset."""

    source: Path
    target: str


@cache
def bytecode_python() -> str | None:
    """An interpreter of the runtime's version, to compile the bytecode Lambda will load.

    ``LMS_BYTECODE_PYTHON`` names one explicitly; otherwise ``python3.12`` on PATH or a
    pyenv installation. A pyenv shim that is not activated fails the version probe and
    is skipped.
    """
    candidates = [
        os.environ.get("LMS_BYTECODE_PYTHON"),
        shutil.which(f"python{RUNTIME_VERSION}"),
        *sorted(
            str(p) for p in Path.home().glob(f".pyenv/versions/{RUNTIME_VERSION}*/bin/python3")
        ),
    ]
    if sys.version_info[:2] == (3, 12):
        candidates.insert(0, sys.executable)
    for candidate in candidates:
        if not candidate:
            continue
        try:
            probe = subprocess.run(  # noqa: S603 (a local interpreter, fixed arguments)
                [candidate, "-c", "import sys; print('%d.%d' % sys.version_info[:2])"],
                capture_output=True,
                text=True,
                timeout=20,
                check=False,
            )
        except OSError:
            continue
        if probe.returncode == 0 and probe.stdout.strip() == RUNTIME_VERSION:
            return candidate
    return None


def runtime_requirements(groups: Sequence[str] = ()) -> list[str]:
    """The project's runtime dependencies (pyproject), with those of the named
    optional-dependency ``groups`` (a service's own, the migration's).

    boto3 is included although the runtime has one: the layer comes first on sys.path,
    so a dependency resolved without it (python-dateutil) would shadow the runtime
    botocore's; resolved together, the set is consistent and the SDK version is ours.
    """
    project = tomllib.loads((REPO / "pyproject.toml").read_text())["project"]
    optional: dict[str, list[str]] = project.get("optional-dependencies", {})
    requirements = list(project["dependencies"])
    for group in groups:
        if group not in optional:
            raise ValueError(
                f"no optional-dependency group {group!r} in pyproject.toml "
                f"(there are {sorted(optional)})"
            )
        requirements += [r for r in optional[group] if r not in requirements]
    return requirements


def _files(copies: Iterable[Copy]) -> Iterable[tuple[str, Path]]:
    for copy in copies:
        if copy.source.is_file():
            yield copy.target, copy.source
            continue
        for path in sorted(copy.source.rglob("*")):
            relative = path.relative_to(copy.source)
            if path.is_file() and not _ignored(relative):
                yield f"{copy.target}/{relative.as_posix()}", path


def _ignored(relative: Path) -> bool:
    return relative.suffix == ".pyc" or any(
        part in {"__pycache__", ".mypy_cache", ".pytest_cache"} for part in relative.parts
    )


@jsii.implements(cdk.ILocalBundling)
class LocalBuild:
    """Builds one asset folder with copies, an optional pip install, and bytecode."""

    def __init__(self, copies: Sequence[Copy], requirements: Sequence[str] = ()) -> None:
        self.copies = tuple(copies)
        self.requirements = tuple(requirements)

    def fingerprint(self) -> str:
        digest = hashlib.sha256()
        python = bytecode_python()
        settings = [BUILD_VERSION, RUNTIME_VERSION, PIP_PLATFORM, str(bool(python))]
        for value in (*settings, *self.requirements):
            digest.update(value.encode() + b"\0")
        for target, path in _files(self.copies):
            digest.update(target.encode() + b"\0" + path.read_bytes() + b"\0")
        return digest.hexdigest()

    def try_bundle(self, output_dir: str, *_options: Any, **_kwargs: Any) -> bool:
        out = Path(output_dir)
        for copy in self.copies:
            target = out / copy.target
            target.parent.mkdir(parents=True, exist_ok=True)
            if copy.source.is_dir():
                shutil.copytree(copy.source, target, ignore=_IGNORED, dirs_exist_ok=True)
            else:
                shutil.copy2(copy.source, target)
        if self.requirements:
            self._pip_install(out / "python")
        python = bytecode_python()
        if python is None:
            print(  # the asset still works, but every cold start compiles its imports
                f"WARNING: no Python {RUNTIME_VERSION} found (set LMS_BYTECODE_PYTHON): "
                f"{output_dir} ships without bytecode",
                file=sys.stderr,
            )
        else:
            subprocess.run(  # noqa: S603 (a local interpreter, fixed arguments)
                [
                    python,
                    "-m",
                    "compileall",
                    "-q",
                    "-j",
                    "0",
                    "--invalidation-mode",
                    "unchecked-hash",
                    str(out),
                ],
                check=True,
            )
        return True

    def _pip_install(self, target: Path) -> None:
        subprocess.run(  # noqa: S603 (pip of this interpreter, fixed arguments)
            [
                sys.executable,
                "-m",
                "pip",
                "install",
                "--quiet",
                "--disable-pip-version-check",
                "--no-compile",  # bytecode of this interpreter's version would be useless
                "--platform",
                PIP_PLATFORM,
                "--implementation",
                "cp",
                "--python-version",
                RUNTIME_VERSION,
                "--only-binary=:all:",
                "--target",
                str(target),
                *self.requirements,
            ],
            check=True,
        )
        # Console scripts carry this machine's interpreter path: useless on Lambda.
        shutil.rmtree(target / "bin", ignore_errors=True)


def _asset(build: LocalBuild, source: Path) -> lambda_.Code:
    """``source`` is what CDK stages when bundling is skipped (the template tests)."""
    return lambda_.Code.from_asset(
        str(source),
        asset_hash=build.fingerprint(),
        asset_hash_type=cdk.AssetHashType.CUSTOM,
        bundling=cdk.BundlingOptions(
            image=RUNTIME.bundling_image,  # never pulled: the local build always succeeds
            local=build,
        ),
    )


def service_code(service_name: str) -> lambda_.Code:
    """One service's package and nothing else: a function cannot import its neighbours."""
    package = REPO / "functions" / service_name
    build = LocalBuild(
        [
            Copy(REPO / "functions" / "__init__.py", "functions/__init__.py"),
            Copy(package, f"functions/{service_name}"),
        ]
    )
    return _asset(build, package)


def all_services_code() -> lambda_.Code:
    """Every service with the registry: what the migration function needs."""
    build = LocalBuild([Copy(REPO / "functions", "functions")])
    return _asset(build, REPO / "functions")


def platform_code() -> lambda_.Code:
    build = LocalBuild(
        [
            Copy(REPO / "layers" / "platform" / "lms_platform", "python/lms_platform"),
            Copy(REPO / "events" / "lms_events", "python/lms_events"),
            # lms_events.catalog finds the schemas beside its own package.
            Copy(REPO / "events" / "schemas", "python/schemas"),
        ]
    )
    return _asset(build, REPO / "layers" / "platform")


def dependencies_code(groups: Sequence[str] = ()) -> lambda_.Code:
    build = LocalBuild([], requirements=runtime_requirements(groups))
    # Nothing of the repository goes in; the infra folder only stands in when skipped.
    return _asset(build, Path(__file__).resolve().parent)


@dataclass
class Layers:
    platform: lambda_.ILayerVersion
    dependencies: lambda_.ILayerVersion
    all: list[lambda_.ILayerVersion] = field(default_factory=list)


def layers(scope: Construct, groups: Sequence[str] = ()) -> Layers:
    """The platform layer and a dependencies layer with ``groups`` added, in ``scope``.

    Each stack publishes its own layer versions (the same asset, uploaded once), so a
    stack never reads another's layer ARN and a service's extra packages reach its own
    functions only.
    """
    platform = lambda_.LayerVersion(
        scope,
        "PlatformLayer",
        code=platform_code(),
        compatible_runtimes=[RUNTIME],
        compatible_architectures=[ARCHITECTURE],
        description="lms_platform and lms_events",
    )
    extra = f" with {', '.join(groups)}" if groups else ""
    dependencies = lambda_.LayerVersion(
        scope,
        "DependenciesLayer",
        code=dependencies_code(groups),
        compatible_runtimes=[RUNTIME],
        compatible_architectures=[ARCHITECTURE],
        description=f"Third-party runtime dependencies{extra} (Linux arm64, CPython 3.12)",
    )
    return Layers(platform, dependencies, [dependencies, platform])
