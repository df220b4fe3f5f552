"""What every ``lms`` command sets up first: the database, the AWS side, the environment
the platform reads, the shared resources and the migrations.

The platform reads its configuration from ``LMS_*`` variables (and the AWS SDK's own),
exactly as a deployed function does; this module sets them for the process.
"""

from __future__ import annotations

import logging
import os
import socket
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from lms_local.state import RuntimeRecord, StateDir
from lms_platform.topology import cors_origins

logger = logging.getLogger("lms.local")

DEFAULT_PORT = 3000
DEFAULT_WORKERS = 8
DEFAULT_RELAY_INTERVAL = 60.0
# Long enough for a consumer batch, short enough that a failed record is retried soon.
DEFAULT_VISIBILITY_TIMEOUT = 30


def _env_number(name: str, default: float) -> float:
    value = os.environ.get(name)
    return float(value) if value else default


@dataclass(frozen=True)
class LocalConfig:
    """The local runtime's own knobs (the functions' settings are ``lms_platform.settings``)."""

    state: StateDir
    port: int = DEFAULT_PORT
    host: str = "127.0.0.1"
    moto_port: int = 0  # 0: any free port
    workers: int = DEFAULT_WORKERS
    relay_interval: float = DEFAULT_RELAY_INTERVAL
    visibility_timeout: int = DEFAULT_VISIBILITY_TIMEOUT
    cors_origins: tuple[str, ...] = ()
    # Every scheduled job this often (seconds) instead of its declared schedule; 0: none.
    job_interval: float | None = None

    @classmethod
    def from_environment(
        cls, *, port: int | None = None, state_dir: str | None = None
    ) -> LocalConfig:
        return cls(
            state=StateDir(Path(state_dir).resolve()) if state_dir else StateDir.from_environment(),
            port=port if port is not None else int(_env_number("LMS_PORT", DEFAULT_PORT)),
            moto_port=int(_env_number("LMS_MOTO_PORT", 0)),
            workers=int(_env_number("LMS_WORKERS", DEFAULT_WORKERS)),
            relay_interval=_env_number("LMS_RELAY_INTERVAL_SECONDS", DEFAULT_RELAY_INTERVAL),
            visibility_timeout=int(
                _env_number("LMS_VISIBILITY_TIMEOUT_SECONDS", DEFAULT_VISIBILITY_TIMEOUT)
            ),
            cors_origins=cors_origins(os.environ.get("LMS_CORS_ORIGINS")),
            job_interval=(
                _env_number("LMS_JOB_INTERVAL_SECONDS", 0)
                if os.environ.get("LMS_JOB_INTERVAL_SECONDS")
                else None
            ),
        )

    @property
    def gateway_url(self) -> str:
        return f"http://{self.host}:{self.port}"


def free_port(host: str = "127.0.0.1") -> int:
    with socket.socket() as s:
        s.bind((host, 0))
        return int(s.getsockname()[1])


@dataclass
class Environment:
    """The database and AWS endpoint one command works against, and how to let go of them."""

    config: LocalConfig
    admin_url: str = ""
    aws_endpoint_url: str = ""
    embedded_database: bool = False
    embedded_aws: bool = False
    # True when no runtime is there to receive events: they wait in the outbox until the
    # next ``lms run`` sweeps it.
    events_deferred: bool = False
    _pg_server: Any = None
    _moto: Any = None
    # The payment gateway: the simulator (None when LMS_STRIPE_SECRET_KEY names a real
    # Stripe test key, or before ``start_payment_gateway``).
    gateway_simulator: Any = None

    # --- the database --------------------------------------------------------------------

    def start_database(self, running: RuntimeRecord | None = None) -> str:
        if running is not None:
            # Join the running runtime's database, whatever this shell's variables say.
            self.admin_url = running.database_url
        elif os.environ.get("LMS_DATABASE_URL"):
            self.admin_url = os.environ["LMS_DATABASE_URL"]
        else:
            from lms_local.postgres import start_embedded

            self.config.state.ensure()
            self.admin_url, self._pg_server = start_embedded(self.config.state.pg_data)
            self.embedded_database = True
        return self.admin_url

    # --- AWS ---------------------------------------------------------------------------

    def start_aws(self, *, serve: bool, running: RuntimeRecord | None = None) -> str:
        """The AWS endpoint: given (LocalStack), the running runtime's, or a new moto.

        ``serve`` is for ``lms run``, which owns its moto. A one-shot command with no
        runtime to join gets a moto of its own without a bus: what it publishes is
        refused and stays in the outbox for the next ``lms run`` to send.
        """
        given = os.environ.get("LMS_AWS_ENDPOINT_URL") or os.environ.get("AWS_ENDPOINT_URL")
        if given:
            self.aws_endpoint_url = given
        elif running is not None and not serve:
            self.aws_endpoint_url = running.aws_endpoint_url
        else:
            from moto.server import ThreadedMotoServer

            port = (self.config.moto_port or free_port()) if serve else free_port()
            self._moto = ThreadedMotoServer(ip_address="127.0.0.1", port=port, verbose=False)
            self._moto.start()
            self.aws_endpoint_url = f"http://127.0.0.1:{port}"
            self.embedded_aws = True
            self.events_deferred = not serve
        return self.aws_endpoint_url

    # --- the payment gateway -------------------------------------------------------------

    def start_payment_gateway(self, webhook_url: str) -> None:
        """The gateway simulator on a free port, the Payment functions pointed at it, its
        webhooks sent to ``webhook_url``. With ``LMS_STRIPE_SECRET_KEY`` set (a Stripe test
        key, with ``LMS_STRIPE_WEBHOOK_SECRET``) the functions talk to Stripe instead."""
        if os.environ.get("LMS_STRIPE_SECRET_KEY"):
            return
        import secrets

        from lms_local.gateway_simulator import GatewaySimulator

        secret_key = "sk_test_local_" + secrets.token_hex(12)
        webhook_secret = "whsec_local_" + secrets.token_hex(16)
        self.gateway_simulator = GatewaySimulator(
            secret_key=secret_key, webhook_secret=webhook_secret, webhook=webhook_url
        ).start()
        os.environ["LMS_STRIPE_SECRET_KEY"] = secret_key
        os.environ["LMS_STRIPE_WEBHOOK_SECRET"] = webhook_secret
        os.environ["LMS_STRIPE_API_BASE"] = self.gateway_simulator.url
        reset_platform_caches()

    # --- the platform's environment ----------------------------------------------------

    def configure(self, *, jwt_issuer: str | None = None) -> None:
        """Set what the platform reads; what the user set already (LMS_*) is kept."""
        from lms_platform import topology

        state = self.config.state
        os.environ["LMS_DATABASE_URL"] = self.admin_url
        if self.aws_endpoint_url:
            os.environ["AWS_ENDPOINT_URL"] = self.aws_endpoint_url
            if os.environ.get("LMS_AWS_ENDPOINT_URL"):
                os.environ["LMS_AWS_ENDPOINT_URL"] = self.aws_endpoint_url
        if not os.environ.get("LMS_SIGNING_KEY_FILE"):
            os.environ["LMS_SIGNING_KEY_FILE"] = str(state.signing_key())
        if not os.environ.get("LMS_CURSOR_KEY"):
            os.environ["LMS_CURSOR_KEY"] = state.cursor_key()
        os.environ.setdefault("LMS_JWT_ISSUER", jwt_issuer or self.config.gateway_url)
        os.environ.setdefault("LMS_EVENT_BUS_NAME", topology.EVENT_BUS)
        os.environ.setdefault("LMS_CONTENT_BUCKET", topology.CONTENT_BUCKET)
        # The emulators hold a presigned upload to less than S3 does (moto checks neither its
        # signature, expiry, size nor checksum): every upload is hashed by the service here.
        os.environ.setdefault("LMS_CONTENT_HASH_LIMIT_BYTES", str(8 * 1024**3))
        # The functions' log lines readable in a terminal (``lms run --json`` for the raw
        # JSON they write on AWS), and their metrics shown in those lines.
        os.environ.setdefault("LMS_LOG_FORMAT", "text")
        os.environ.setdefault("LMS_METRICS_FORMAT", "log")
        # The emulators accept any credentials; the SDK only needs some to sign with.
        os.environ.setdefault("AWS_ACCESS_KEY_ID", "testing")
        os.environ.setdefault("AWS_SECRET_ACCESS_KEY", "testing")
        if not (os.environ.get("AWS_REGION") or os.environ.get("AWS_DEFAULT_REGION")):
            os.environ["AWS_DEFAULT_REGION"] = "us-east-1"
        reset_platform_caches()
        if self.events_deferred:
            # The refused PutEvents is expected here; the rows wait for the relay.
            logging.getLogger("lms_platform.outbox").setLevel(logging.CRITICAL)

    # --- resources and schemas -------------------------------------------------------------

    def provision(self, services: tuple[Any, ...]) -> list[Any]:
        from lms_local.resources import provision
        from lms_platform.aws import client
        from lms_platform.settings import get_settings

        settings = get_settings()
        return provision(
            client("events"),
            client("sqs"),
            client("s3"),
            services,
            bus=settings.event_bus_name,
            region=settings.aws_region,
            visibility_timeout=self.config.visibility_timeout,
            bucket=settings.content_bucket,
            cors_origins=self.config.cors_origins,
        )

    def migrate(self, services: tuple[Any, ...]) -> None:
        from lms_platform.migrations import migrate

        migrate(self.admin_url, list(services), {})

    # --- letting go --------------------------------------------------------------------------

    def close(self) -> None:
        from lms_platform.db import reset_databases

        reset_databases()
        if self.gateway_simulator is not None:
            self.gateway_simulator.stop()
            self.gateway_simulator = None
        if self._moto is not None:
            self._moto.stop()
            self._moto = None
        if self._pg_server is not None:
            # The server stops only when this was its last handle.
            self._pg_server.cleanup()
            self._pg_server = None


def reset_platform_caches() -> None:
    from lms_platform import auth, pagination
    from lms_platform.aws import reset_clients
    from lms_platform.settings import reset_settings

    reset_settings()
    reset_clients()
    auth.signing_key.cache_clear()
    pagination._key.cache_clear()
    from functions.payment.gateway import reset_gateway

    reset_gateway()


def describe_database(url: str) -> str:
    """The URL without its password, for the start-up banner."""
    import urllib.parse

    parts = urllib.parse.urlsplit(url)
    if parts.password:
        netloc = parts.netloc.replace(f":{parts.password}@", ":***@")
        return urllib.parse.urlunsplit(parts._replace(netloc=netloc))
    return url
