"""The embedded PostgreSQL (pgserver: PostgreSQL 16 in a wheel, on a Unix socket)."""

from __future__ import annotations

import logging
import urllib.parse
from pathlib import Path
from typing import Any

logger = logging.getLogger("lms.postgres")

DATABASE = "lms"


def start_embedded(data_dir: Path, cleanup_mode: str | None = "stop") -> tuple[str, Any]:
    """Start (or reuse) the server whose data lives in ``data_dir``; its admin URL and handle.

    The URL is in the form ``postgresql://postgres@/lms?unix_sock=...`` that
    ``lms_platform.db.params_from_url`` reads.
    """
    try:
        import pgserver
    except ImportError as error:  # pgserver has no wheel for this Python or platform
        raise RuntimeError(
            "the embedded PostgreSQL (pgserver) is not installed for this Python; "
            "set LMS_DATABASE_URL to a PostgreSQL server instead"
        ) from error

    data_dir.mkdir(parents=True, exist_ok=True)
    server = pgserver.get_server(data_dir, cleanup_mode=cleanup_mode)  # type: ignore[attr-defined]
    info = server.get_postmaster_info()
    socket_dir = Path(str(info.socket_dir))
    socket = socket_dir / f".s.PGSQL.{info.port or 5432}"
    base = "postgresql://postgres@/{db}?unix_sock=" + urllib.parse.quote(str(socket), safe="/")
    _ensure_database(base.format(db="postgres"), DATABASE)
    return base.format(db=DATABASE), server


def _ensure_database(admin_url: str, name: str) -> None:
    from lms_platform.db import open_connection, params_from_url

    connection = open_connection(params_from_url(admin_url))
    try:
        if not connection.run("SELECT 1 FROM pg_database WHERE datname = :n", n=name):
            connection.run(f'CREATE DATABASE "{name}"')
    finally:
        connection.close()
