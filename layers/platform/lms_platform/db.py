"""PostgreSQL access for the request and event paths.

Each service connects as its own login role (named like its schema, whose search path is
that schema alone), one connection per execution environment, kept and reused.

The hot path speaks pg8000's native protocol, one round trip per statement, where the
DB-API layer (and so SQLAlchemy on top of it) needs three per statement plus a lone BEGIN.
Two statement modes (``LMS_DB_STATEMENT_MODE``): "named" prepares each statement once per
connection and then sends Bind, Execute, Sync; "unnamed" sends Parse, Bind, Describe,
Execute and Sync in one flush every time, so that no statement outlives its transaction on
the server -- what a pooler that hands each transaction to another server connection (RDS
Proxy) can always follow. SQLAlchemy defines the tables and runs the migrations (see
``lms_platform.migrations``); it is never imported by a request.

When the database does not answer in time, or the connection breaks in the middle of a
statement, the protocol state of the connection is unknown: it is closed at once (the
socket itself, so that the server rolls the transaction back and lets go of its locks)
and the next unit of work opens a fresh one; a rollback is only ever sent on a connection
known to be in step. Such failures, and the server ending a statement for its role's
``statement_timeout`` or ``lock_timeout``, surface as ``errors.Unavailable``: a request
answers 503 with ``Retry-After``, a consumer leaves the record for redelivery.
"""

from __future__ import annotations

import contextlib
import random
import socket
import ssl
import threading
import time
import urllib.parse
from collections import OrderedDict
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import datetime
from functools import lru_cache
from typing import TYPE_CHECKING, Any, TypeVar

import pg8000.core as pg_core
import pg8000.native
from pg8000.converters import make_params
from pg8000.exceptions import DatabaseError, InterfaceError

from lms_platform.errors import Unavailable
from lms_platform.settings import get_settings

if TYPE_CHECKING:
    from lms_platform.outbox import Outbox

T = TypeVar("T")
Row = dict[str, Any]

# SQLSTATEs after which the whole transaction may simply run again.
RETRYABLE = frozenset({"40001", "40P01"})  # serialization_failure, deadlock_detected
UNIQUE_VIOLATION = "23505"
_STATEMENT_CACHE_SIZE = 256

# SQLSTATEs of a server that gave up on the work (its time limits) or is going away: the
# caller may try again shortly. Those marked fatal end the connection too.
UNAVAILABLE: dict[str, tuple[str, bool]] = {
    "57014": ("statement timeout", False),  # query_canceled (statement_timeout)
    "55P03": ("lock timeout", False),  # lock_not_available (lock_timeout)
    "25P03": ("idle in transaction timeout", True),
    "57P01": ("the server ended the connection", True),  # admin_shutdown, terminate
    "57P02": ("the server crashed", True),
    "57P03": ("the server is starting", True),
    "53300": ("too many connections", True),
    "08000": ("connection failure", True),
    "08003": ("connection failure", True),
    "08006": ("connection failure", True),
}


def sqlstate(error: BaseException) -> str | None:
    if isinstance(error, DatabaseError) and error.args and isinstance(error.args[0], dict):
        code = error.args[0].get("C")
        return str(code) if code else None
    return None


def constraint_name(error: BaseException) -> str | None:
    if isinstance(error, DatabaseError) and error.args and isinstance(error.args[0], dict):
        name = error.args[0].get("n")
        return str(name) if name else None
    return None


def is_unique_violation(error: BaseException, constraint: str | None = None) -> bool:
    if sqlstate(error) != UNIQUE_VIOLATION:
        return False
    return constraint is None or constraint_name(error) == constraint


@dataclass(frozen=True)
class ConnectParams:
    user: str
    database: str
    host: str | None = None
    port: int = 5432
    password: str | None = None
    unix_sock: str | None = None
    tls: bool = False
    ca_file: str | None = None


@lru_cache(maxsize=4)
def _ssl_context(ca_file: str | None) -> ssl.SSLContext:
    # Built once: loading the CA store on every connect costs tens of milliseconds.
    context = ssl.create_default_context(cafile=ca_file)
    context.check_hostname = True
    context.verify_mode = ssl.CERT_REQUIRED
    return context


_TIMESTAMPTZ_OID = 1184


def _parse_timestamptz(text: str) -> datetime | str:
    # pg8000 parses timestamps with strptime (~25 us each); fromisoformat reads PostgreSQL's
    # ISO output directly. 'infinity' and BC dates are left to the caller as text.
    try:
        return datetime.fromisoformat(text)
    except ValueError:
        return text


def open_connection(
    params: ConnectParams, timeout: float = 5.0, *, socket_timeout: float | None = None
) -> pg8000.native.Connection:
    """A new connection: one reused SSL context, TCP_NODELAY on (a tuned connect is ~10x
    faster). ``timeout`` bounds the connect; ``socket_timeout`` (default: the same) every
    later wait for the server's answer."""
    connection = _open(params, timeout)
    if socket_timeout is not None:
        connection._usock.settimeout(socket_timeout)
    connection.register_in_adapter(_TIMESTAMPTZ_OID, _parse_timestamptz)
    return connection


def _open(params: ConnectParams, timeout: float) -> pg8000.native.Connection:
    if params.unix_sock:
        return pg8000.native.Connection(
            params.user,
            database=params.database,
            password=params.password,
            unix_sock=params.unix_sock,
            timeout=timeout,
            application_name="lms",
        )
    assert params.host, "a TCP connection needs a host"
    sock = socket.create_connection((params.host, params.port), timeout)
    sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_KEEPALIVE, 1)
    return pg8000.native.Connection(
        params.user,
        host=params.host,
        database=params.database,
        port=params.port,
        password=params.password,
        sock=sock,
        ssl_context=_ssl_context(params.ca_file) if params.tls else False,
        timeout=timeout,
        application_name="lms",
    )


def params_from_url(url: str, *, user: str | None = None) -> ConnectParams:
    """Parse ``postgresql[+pg8000]://user[:password]@host:port/db?unix_sock=..&sslmode=..``."""
    parts = urllib.parse.urlsplit(url)
    query = dict(urllib.parse.parse_qsl(parts.query))
    sslmode = query.get("sslmode", "disable")
    return ConnectParams(
        user=user or urllib.parse.unquote(parts.username or "postgres"),
        password=urllib.parse.unquote(parts.password) if parts.password else None,
        host=parts.hostname,
        port=parts.port or 5432,
        database=(parts.path or "/postgres").lstrip("/") or "postgres",
        unix_sock=query.get("unix_sock"),
        tls=sslmode in {"require", "verify-ca", "verify-full"},
        ca_file=query.get("sslrootcert"),
    )


def service_connect_params(role: str) -> ConnectParams:
    """How the service whose role is ``role`` reaches its database, from the settings."""
    settings = get_settings()
    if settings.db_secret_arn:
        from lms_platform.secrets import secret_json

        secret = secret_json(settings.db_secret_arn)
        return ConnectParams(
            user=str(secret.get("username", role)),
            password=str(secret["password"]),
            host=settings.db_host or str(secret["host"]),
            port=int(secret.get("port", 5432)),
            database=str(secret.get("dbname", "lms")),
            tls=True,
            ca_file=settings.db_ca_file,
        )
    if not settings.database_url:
        raise RuntimeError("no database configured: set LMS_DATABASE_URL or LMS_DB_SECRET_ARN")
    return params_from_url(settings.database_url, user=role)


class Session:
    """One live connection and its statements.

    ``broken`` once its protocol state is unknown (a timeout or a network error in the
    middle of an exchange): it is then closed and never used again.
    """

    def __init__(self, connection: pg8000.native.Connection, *, named: bool = True) -> None:
        self.connection = connection
        self.named = named
        self.broken = False
        self._statements: OrderedDict[str, pg8000.native.PreparedStatement] = OrderedDict()

    def _prepared(self, sql: str) -> pg8000.native.PreparedStatement:
        statement = self._statements.get(sql)
        if statement is None:
            statement = self.connection.prepare(sql)
            self._statements[sql] = statement
            if len(self._statements) > _STATEMENT_CACHE_SIZE:
                _, oldest = self._statements.popitem(last=False)
                oldest.close()
        else:
            self._statements.move_to_end(sql)
        return statement

    def _run(self, sql: str, params: dict[str, Any]) -> tuple[list[Any], Any, int]:
        """Rows, column descriptions and row count of one statement, one round trip."""
        try:
            if self.named:
                statement = self._prepared(sql)
                rows = statement.run(**params) or []
                return rows, statement.columns, int(statement._context.row_count)
            context = _run_unnamed(self.connection, sql, params)
            return context.rows or [], context.columns, int(context.row_count)
        except DatabaseError as error:
            state = sqlstate(error)
            if state in UNAVAILABLE:
                reason, fatal = UNAVAILABLE[state]
                if fatal:
                    self.kill()
                raise Unavailable(reason) from error
            raise
        except (InterfaceError, OSError) as error:
            if isinstance(error.__cause__ or error.__context__, KeyError):
                # A parameter the statement names was not given: refused before anything
                # was sent, so the connection is in sync. A defect, not an outage (500).
                raise
            # The exchange stopped half-way: what the server did, and what it will still
            # send, is unknown. Only a closed socket makes it let go (and roll back).
            self.kill()
            timed_out = isinstance(error, TimeoutError) or isinstance(error.__cause__, TimeoutError)
            raise Unavailable("no answer in time" if timed_out else "connection lost") from error

    def fetch(self, sql: str, **params: Any) -> list[Row]:
        rows, columns, _ = self._run(sql, params)
        names = [column["name"] for column in columns or ()]
        return [dict(zip(names, row, strict=True)) for row in rows]

    def execute(self, sql: str, **params: Any) -> int:
        """Run a statement; the number of rows it touched."""
        return self._run(sql, params)[2]

    def simple(self, sql: str) -> None:
        try:
            self.connection.run(sql)
        except DatabaseError as error:
            state = sqlstate(error)
            if state in UNAVAILABLE:
                reason, fatal = UNAVAILABLE[state]
                if fatal:
                    self.kill()
                raise Unavailable(reason) from error
            raise
        except (InterfaceError, OSError) as error:
            self.kill()
            raise Unavailable("connection lost") from error

    def kill(self) -> None:
        """Close the socket now, without a goodbye the server may never read."""
        self.broken = True
        sock = getattr(self.connection, "_usock", None)
        if sock is not None:
            with contextlib.suppress(OSError):
                sock.shutdown(socket.SHUT_RDWR)
            with contextlib.suppress(OSError):
                sock.close()
        with contextlib.suppress(Exception):
            self.connection._sock.close()

    def close(self) -> None:
        if self.broken:
            return
        with contextlib.suppress(Exception):  # a dead connection cannot be closed politely
            self.connection.close()


_unnamed: OrderedDict[str, tuple[str, Callable[[dict[str, Any]], Any]]] = OrderedDict()


def _run_unnamed(
    connection: pg8000.native.Connection, sql: str, params: dict[str, Any]
) -> pg_core.Context:
    """Parse, Bind, Describe (portal), Execute and Sync, sent in one flush: one round trip,
    and nothing named left on the server."""
    found = _unnamed.get(sql)
    if found is None:
        found = _unnamed[sql] = pg8000.native.to_statement(sql)
        if len(_unnamed) > _STATEMENT_CACHE_SIZE:
            _unnamed.popitem(last=False)
    statement, make_values = found
    values = make_params(connection.py_types, make_values(params))
    context = pg_core.Context(statement)
    connection.send_PARSE(pg_core.NULL_BYTE, statement, ())
    connection.send_BIND(pg_core.NULL_BYTE, values)
    connection._send_message(pg_core.DESCRIBE, pg_core.PORTAL + pg_core.NULL_BYTE)
    connection.send_EXECUTE()
    pg_core._write(connection._sock, pg_core.SYNC_MSG)
    pg_core._flush(connection._sock)
    connection.handle_messages(context)
    return context


class UnitOfWork:
    """One transaction on one service's schema.

    Nothing is committed unless ``commit()`` is called; leaving the block without it
    rolls back. Events added to ``outbox`` are written in the same transaction and, once
    the commit succeeds, published (whatever fails to publish waits for the relay).
    """

    def __init__(self, database: Database, session: Session) -> None:
        self.database = database
        self._session = session
        self.committed = False
        self._outbox: Outbox | None = None

    @property
    def outbox(self) -> Outbox:
        if self._outbox is None:
            from lms_platform.outbox import Outbox

            self._outbox = Outbox(self)
        return self._outbox

    def fetch(self, sql: str, **params: Any) -> list[Row]:
        return self._session.fetch(sql, **params)

    def fetch_one(self, sql: str, **params: Any) -> Row | None:
        rows = self._session.fetch(sql, **params)
        return rows[0] if rows else None

    def execute(self, sql: str, **params: Any) -> int:
        return self._session.execute(sql, **params)

    def commit(self) -> None:
        if self.committed:
            raise RuntimeError("this unit of work is already committed")
        self._session.simple("COMMIT")
        self.committed = True
        if self._outbox is not None:
            self._outbox.publish_committed()


class Database:
    """A service's database: its role, its one kept connection, its transactions."""

    def __init__(self, role: str, connect: Callable[[], pg8000.native.Connection] | None = None):
        self.role = role
        self._connect = connect or self._open
        self._session: Session | None = None
        # Lambda runs one request at a time per environment; the local gateway may not.
        self._lock = threading.RLock()

    def _open(self) -> pg8000.native.Connection:
        settings = get_settings()
        try:
            return open_connection(
                service_connect_params(self.role),
                timeout=settings.db_connect_timeout,
                socket_timeout=settings.db_socket_timeout,
            )
        except (InterfaceError, OSError) as error:
            raise Unavailable("cannot connect to the database") from error
        except DatabaseError as error:
            state = sqlstate(error)
            if state in UNAVAILABLE:
                raise Unavailable(UNAVAILABLE[state][0]) from error
            raise

    def _live_session(self) -> Session:
        if self._session is None or self._session.broken:
            named = get_settings().db_statement_mode == "named"
            self._session = Session(self._connect(), named=named)
        return self._session

    def discard_connection(self) -> None:
        if self._session is not None:
            self._session.close()
            self._session = None

    def read(self, sql: str, **params: Any) -> list[Row]:
        """A read-only statement in autocommit: one round trip once the statement is warm."""
        with self._lock:
            kept = self._session is not None and not self._session.broken
            try:
                return self._live_session().fetch(sql, **params)
            except Unavailable as error:
                # A kept connection that died while idle (the proxy's idle timeout, a
                # restart) fails at once: a read is safe to send again on a new one. A
                # timeout is not retried: the server was busy, not gone.
                if not kept or error.reason != "connection lost":
                    raise
                self.discard_connection()
                return self._live_session().fetch(sql, **params)

    def execute(self, sql: str, **params: Any) -> int:
        """One statement in autocommit (its own transaction); the rows it touched."""
        with self._lock:
            return self._live_session().execute(sql, **params)

    def read_one(self, sql: str, **params: Any) -> Row | None:
        rows = self.read(sql, **params)
        return rows[0] if rows else None

    @contextmanager
    def unit_of_work(self, isolation: str = "READ COMMITTED") -> Iterator[UnitOfWork]:
        with self._lock:
            session = self._begin(isolation)
            uow = UnitOfWork(self, session)
            try:
                yield uow
            except BaseException:
                if not uow.committed:
                    self._rollback(session)
                raise
            if not uow.committed:
                self._rollback(session)

    def transaction(
        self,
        work: Callable[[UnitOfWork], T],
        *,
        isolation: str = "READ COMMITTED",
        attempts: int = 5,
    ) -> T:
        """Run ``work`` in a unit of work, again from the start after a serialization
        failure or deadlock (bounded, with jittered backoff). ``work`` must commit."""
        for attempt in range(1, attempts + 1):
            try:
                with self.unit_of_work(isolation) as uow:
                    return work(uow)
            except DatabaseError as error:
                if sqlstate(error) not in RETRYABLE or attempt == attempts:
                    raise
            time.sleep(random.uniform(0, 0.005 * 2**attempt))  # noqa: S311 (jitter)
        raise AssertionError("unreachable")

    def _begin(self, isolation: str) -> Session:
        statement = f"BEGIN ISOLATION LEVEL {isolation}"
        kept = self._session is not None and not self._session.broken
        try:
            session = self._live_session()
            session.simple(statement)
        except Unavailable:
            if not kept:
                raise
            # Nothing was done yet on this transaction: a fresh connection is safe.
            self.discard_connection()
            session = self._live_session()
            session.simple(statement)
        return session

    def _rollback(self, session: Session) -> None:
        """Roll back on a connection known to be in step; a broken one is already closed
        (the server rolled back when its socket went)."""
        if session.broken:
            self.discard_connection()
            return
        try:
            session.simple("ROLLBACK")
        except Exception:
            session.kill()
            self.discard_connection()


# One execution environment per thread: on Lambda that is the one thread; the local
# gateway runs a fixed pool of worker threads, each standing for one environment.
_environment = threading.local()
_all: list[Database] = []
_all_lock = threading.Lock()


def database(role: str) -> Database:
    """This execution environment's one ``Database`` for a service role (made on first use)."""
    registry: dict[str, Database] | None = getattr(_environment, "databases", None)
    if registry is None:
        registry = _environment.databases = {}
    found = registry.get(role)
    if found is None:
        found = registry[role] = Database(role)
        with _all_lock:
            _all.append(found)
    return found


def provide(role: str, connect: Callable[[], pg8000.native.Connection]) -> Database:
    """This execution environment's ``Database`` for ``role``, connecting with ``connect``:
    for a function that acts as several services' roles (the deployment's, rebuilding a
    read model from the other services' outboxes)."""
    registry: dict[str, Database] | None = getattr(_environment, "databases", None)
    if registry is None:
        registry = _environment.databases = {}
    old = registry.get(role)
    if old is not None:
        old.discard_connection()
    made = registry[role] = Database(role, connect)
    with _all_lock:
        _all.append(made)
    return made


def reset_databases() -> None:
    """Close every kept connection (tests, and the local runtime on shutdown)."""
    with _all_lock:
        for db in _all:
            db.discard_connection()
        _all.clear()
    _environment.__dict__.clear()
