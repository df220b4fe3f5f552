"""The embedded PostgreSQL (pgserver: PostgreSQL 16 in a wheel, on a Unix socket)."""

from __future__ import annotations

import logging
import secrets
import signal
import urllib.parse
import warnings
from pathlib import Path
from typing import Any

from lms_local.state import process_alive

logger = logging.getLogger("lms.postgres")

DATABASE = "lms"


def start_embedded(data_dir: Path, cleanup_mode: str | None = "stop") -> tuple[str, Any]:
    """Start (or reuse) the server whose data lives in ``data_dir``; its admin URL and handle.

    The URL is in the form ``postgresql://postgres@/lms?unix_sock=...`` that
    ``lms_platform.db.params_from_url`` reads.
    """
    try:
        pgserver = _import_pgserver()
    except ImportError as error:  # pgserver has no wheel for this Python or platform
        raise RuntimeError(
            "the embedded PostgreSQL (pgserver) is not installed for this Python; "
            "set LMS_DATABASE_URL to a PostgreSQL server instead"
        ) from error

    data_dir.mkdir(parents=True, exist_ok=True)
    _forget_dead_handles(data_dir)
    server = pgserver.get_server(data_dir, cleanup_mode=cleanup_mode)
    info = server.get_postmaster_info()
    socket_dir = Path(str(info.socket_dir))
    socket = socket_dir / f".s.PGSQL.{info.port or 5432}"
    base = "postgresql://postgres@/{db}?unix_sock=" + urllib.parse.quote(str(socket), safe="/")
    _ensure_database(base.format(db="postgres"), DATABASE)
    return base.format(db=DATABASE), server


def _import_pgserver() -> Any:
    with warnings.catch_warnings():
        # platformdirs warns when XDG_RUNTIME_DIR is unset (containers, CI); its
        # fallback folder serves pgserver's lock just as well.
        warnings.simplefilter("ignore")
        import pgserver
        import pgserver.postgres_server
        import pgserver.utils
    return pgserver


def _forget_dead_handles(data_dir: Path) -> None:
    """Drop the handles of processes that died without letting go (kill -9, a crash).

    pgserver stops the server when its last handle is released; a dead process's handle
    is never released, and the server would then outlive every later run.
    """
    from pgserver.postgres_server import PostgresServer
    from pgserver.utils import DiskList

    handles = data_dir / ".handle_pids.json"
    if not handles.exists():
        return
    with PostgresServer._lock:
        pids = DiskList(handles)
        for pid in pids.get():
            if not process_alive(pid):
                pids.get_and_remove(pid)


def stop_embedded(data_dir: Path) -> bool:
    """Stop a server left running on ``data_dir`` (before its folder is deleted)."""
    try:
        _import_pgserver()
    except ImportError:
        return False
    from pgserver.utils import PostmasterInfo

    info = PostmasterInfo.read_from_pgdata(data_dir) if data_dir.exists() else None
    process = info.process if info is not None else None
    if process is None or not process.is_running():
        return False
    process.send_signal(signal.SIGINT)  # PostgreSQL's "fast" shutdown: clients are cut off
    try:
        process.wait(10)
    except Exception:
        process.kill()
    return True


def _ensure_database(admin_url: str, name: str) -> None:
    from lms_platform.db import open_connection, params_from_url

    connection = open_connection(params_from_url(admin_url))
    try:
        if not connection.run("SELECT 1 FROM pg_database WHERE datname = :n", n=name):
            connection.run(f'CREATE DATABASE "{name}"')
    finally:
        connection.close()


def fresh_database(url: str, prefix: str) -> str:
    """A new, empty database on the server ``url`` names (tests and the benchmark never
    touch a database of yours); its URL."""
    from lms_platform.db import open_connection, params_from_url

    name = f"{prefix}_{secrets.token_hex(4)}"
    connection = open_connection(params_from_url(url))
    try:
        connection.run(f'CREATE DATABASE "{name}"')
    finally:
        connection.close()
    head, _, tail = url.partition("?")
    return f"{head.rsplit('/', 1)[0]}/{name}" + (f"?{tail}" if tail else "")


def drop_database(url: str) -> None:
    """Drop the database ``url`` names (made by ``fresh_database``), connected elsewhere."""
    from lms_platform.db import open_connection, params_from_url

    params = params_from_url(url)
    head, _, tail = url.partition("?")
    maintenance = f"{head.rsplit('/', 1)[0]}/postgres" + (f"?{tail}" if tail else "")
    # Dropping asks for a checkpoint, which takes seconds on a busy machine.
    connection = open_connection(params_from_url(maintenance), timeout=120)
    try:
        connection.run(f'DROP DATABASE IF EXISTS "{params.database}" WITH (FORCE)')
    finally:
        connection.close()
