"""The state folder and the commands that need no database."""

from __future__ import annotations

import json
import os
import stat
from pathlib import Path

import pytest

from lms_local.cli import main
from lms_local.state import RuntimeRecord, StateDir


def test_the_cursor_key_is_made_once_and_private(tmp_path: Path) -> None:
    state = StateDir(tmp_path / ".lms")
    first = state.cursor_key()
    assert state.cursor_key() == first and len(first) == 64
    assert stat.S_IMODE(state.cursor_key_file.stat().st_mode) == 0o600


def test_a_runtime_record_counts_only_while_its_process_lives(tmp_path: Path) -> None:
    state = StateDir(tmp_path)
    alive = RuntimeRecord(os.getpid(), "http://127.0.0.1:1", "http://127.0.0.1:2", "pg://")
    state.write_runtime(alive)
    assert state.running() == alive
    state.write_runtime(RuntimeRecord(2**22 + 12345, "u", "a", "d"))  # no such process
    assert state.running() is None


def test_reset_asks_for_yes_then_deletes_the_state_folder(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    root = tmp_path / ".lms"
    StateDir(root).cursor_key()
    assert main(["--state-dir", str(root), "reset"]) == 1
    assert root.exists()
    assert main(["--state-dir", str(root), "reset", "--yes"]) == 0
    assert not root.exists()
    assert "deleted" in capsys.readouterr().out


def test_reset_refuses_while_lms_run_uses_the_folder(tmp_path: Path) -> None:
    state = StateDir(tmp_path / ".lms")
    state.ensure()
    state.write_runtime(RuntimeRecord(os.getpid(), "g", "a", "d"))
    assert main(["--state-dir", str(state.root), "reset", "--yes"]) == 1
    assert state.root.exists()


def test_openapi_prints_every_declared_route(capsys: pytest.CaptureFixture[str]) -> None:
    from functions.registry import SERVICES

    assert main(["openapi", "--port", "3999"]) == 0
    document = json.loads(capsys.readouterr().out)
    assert document["info"]["title"] == "LMS API"
    assert document["servers"] == [{"url": "http://127.0.0.1:3999"}]
    assert document["components"]["securitySchemes"]["bearerAuth"]["scheme"] == "bearer"
    for service in SERVICES:
        for route in service.routes:
            operation = document["paths"][route.path][route.method.lower()]
            assert operation["operationId"] == route.name
            assert ("security" in operation) is (not route.public), route.key
