"""``lms run`` for each end-to-end module (one of them stops it): its own state folder,
ports and database."""

from __future__ import annotations

import os
import signal
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from lms_local.postgres import drop_database, fresh_database
from tests.e2e.harness import (
    GIVEN_DATABASE_URL,
    BusTap,
    Runtime,
    lms_command,
    require_outside_dependencies,
    wait_until_healthy,
)
from tests.support import free_port, server_folder


@pytest.fixture(scope="module")
def runtime() -> Iterator[Runtime]:
    require_outside_dependencies()
    with server_folder("e2e") as folder:
        yield from _runtime_in(folder)


def _runtime_in(folder: Path) -> Iterator[Runtime]:
    port, moto_port = free_port(), free_port()
    # The runtime sees none of this session's LMS_*/AWS_* settings: only its own.
    env = {k: v for k, v in os.environ.items() if not k.startswith(("LMS_", "AWS_"))}
    env.update(
        {
            "LMS_STATE_DIR": str(folder / ".lms"),
            "LMS_PORT": str(port),
            "LMS_MOTO_PORT": str(moto_port),
            "PYTHONUNBUFFERED": "1",
        }
    )
    if GIVEN_DATABASE_URL:
        env["LMS_DATABASE_URL"] = fresh_database(GIVEN_DATABASE_URL, "lms_e2e")
    aws = os.environ.get("LMS_E2E_AWS_ENDPOINT_URL")  # make test-localstack
    if aws:
        env.update(AWS_ENDPOINT_URL=aws, AWS_ACCESS_KEY_ID="test", AWS_SECRET_ACCESS_KEY="test")
    stdout, stderr = folder / "stdout.txt", folder / "stderr.txt"
    with stdout.open("wb") as out, stderr.open("wb") as err:
        process = subprocess.Popen(
            [*lms_command(), "run"], env=env, stdout=out, stderr=err, cwd=folder
        )
    started = time.monotonic()
    rt = Runtime(
        process,
        f"http://127.0.0.1:{port}",
        aws or f"http://127.0.0.1:{moto_port}",
        env,
        folder / ".lms",
        stdout,
        stderr,
    )
    try:
        wait_until_healthy(rt)
        print(f"lms run healthy in {time.monotonic() - started:.1f} s")
        yield rt
    finally:
        if process.poll() is None:
            process.send_signal(signal.SIGINT)
            try:
                process.wait(timeout=30)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait()
        if GIVEN_DATABASE_URL:
            drop_database(env["LMS_DATABASE_URL"])


@pytest.fixture(scope="module")
def bus_tap(runtime: Runtime) -> BusTap:
    """What the User service published while the tests ran."""
    return BusTap(runtime, ["lms.user"])
