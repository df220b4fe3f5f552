"""``lms run``: the whole product on one machine until Ctrl-C.

Start order: the gateway's port (fails fast when busy), the database, the AWS side, the
platform's environment, migrations, the shared resources, one relay sweep (events left
from an earlier run or from ``lms create-admin`` go out now), then the worker pool, the
queue feeders, the relay schedule and the gateway. Stop order is the reverse.
"""

from __future__ import annotations

import logging
import os
import signal
import sys
import threading
import time
from collections.abc import Callable
from types import FrameType
from typing import Any

from lms_local.environment import Environment, LocalConfig, describe_database
from lms_local.feeder import QueueFeeder
from lms_local.gateway import OPENAPI_PATH, Gateway, GatewayServer, JwtAuthorizer
from lms_local.jobs import JobSchedule
from lms_local.lambdas import WorkerPool
from lms_local.relay import RelaySchedule, log_sweep, sweep
from lms_local.state import RuntimeRecord
from lms_platform.service import Service

logger = logging.getLogger("lms.run")


class Runtime:
    def __init__(self, config: LocalConfig, services: tuple[Service, ...]) -> None:
        self.config = config
        self.services = services
        self.stop_event = threading.Event()
        self.environment = Environment(config)
        self.server: GatewayServer | None = None
        self.pool: WorkerPool | None = None
        self.feeders: list[QueueFeeder] = []
        self.relay: RelaySchedule | None = None
        self.jobs: JobSchedule | None = None
        self.started_in = 0.0

    def start(self) -> None:
        started = time.perf_counter()
        config, environment = self.config, self.environment
        config.state.ensure()
        other = config.state.running()
        if other is not None and other.pid != os.getpid():
            raise RuntimeError(
                f"lms run is already running on this state folder (pid {other.pid}, "
                f"{other.gateway_url}); stop it first or set LMS_STATE_DIR"
            )
        try:
            self.server = GatewayServer(config.host, config.port)
        except OSError as error:
            raise RuntimeError(
                f"cannot listen on {config.gateway_url} ({error.strerror}); "
                "choose another port with --port or LMS_PORT"
            ) from error
        gateway_url = self.server.url

        step = _Stopwatch()
        environment.start_database()
        step("database")
        environment.start_aws(serve=True)
        environment.configure(jwt_issuer=gateway_url)
        step("AWS endpoint")
        environment.start_payment_gateway(f"{gateway_url}/payments/webhook")
        step("payment gateway")
        environment.migrate(self.services)
        step("migrations")
        feeds = environment.provision(self.services)
        step("bus, queues, rules, bucket")
        log_sweep(sweep(self.services, grace_seconds=0), step.elapsed_ms())
        step("first relay sweep")

        from lms_platform import auth
        from lms_platform.aws import client
        from lms_platform.settings import get_settings

        settings = get_settings()
        self.pool = WorkerPool(config.workers, region=settings.aws_region)
        for feed in feeds:
            feeder = QueueFeeder(
                feed, client("sqs"), self.pool, self.stop_event, region=settings.aws_region
            )
            feeder.start()
            self.feeders.append(feeder)
        self.relay = RelaySchedule(self.services, config.relay_interval, self.stop_event)
        self.relay.start()
        self.jobs = JobSchedule(self.services, self.stop_event, interval=config.job_interval)
        self.jobs.start()

        keys = auth.jwks()["keys"]  # the issuer's key set, read once as API Gateway caches it
        authorizer = JwtAuthorizer(
            lambda: keys, issuer=settings.jwt_issuer, audience=settings.jwt_audience
        )
        gateway = Gateway(
            self.services,
            self.pool,
            authorizer,
            openapi=self._openapi(gateway_url),
            cors_origins=config.cors_origins,
        )
        self.server.start(gateway)
        config.state.write_runtime(
            RuntimeRecord(
                pid=os.getpid(),
                gateway_url=gateway_url,
                aws_endpoint_url=environment.aws_endpoint_url,
                database_url=environment.admin_url,
            )
        )
        self.started_in = time.perf_counter() - started

    def _openapi(self, url: str) -> Callable[[], dict[str, Any]]:
        def build() -> dict[str, Any]:
            from lms_platform.openapi import build_document

            document: dict[str, Any] = build_document(self.services, server_url=url)
            return document

        return build

    def stop(self) -> None:
        self.stop_event.set()
        if self.server is not None:
            self.server.stop()
        for feeder in self.feeders:
            feeder.join(timeout=10)
        if self.relay is not None:
            self.relay.join(timeout=30)
        if self.jobs is not None:
            self.jobs.join(timeout=30)
        if self.pool is not None:
            self.pool.shutdown()
        self.environment.close()
        self.config.state.clear_runtime(os.getpid())

    def banner(self) -> str:
        assert self.server is not None
        env, url = self.environment, self.server.url
        database = (
            f"embedded PostgreSQL, data in {self.config.state.pg_data}"
            if env.embedded_database
            else describe_database(env.admin_url)
        )
        aws = (
            f"moto at {env.aws_endpoint_url}"
            if env.embedded_aws
            else f"{env.aws_endpoint_url} (AWS_ENDPOINT_URL)"
        )
        consumers = ", ".join(f.queue_name for f in self.feeders) or "none yet"
        payments = (
            f"gateway simulator at {env.gateway_simulator.url} (webhooks to {url}/payments/webhook)"
            if env.gateway_simulator is not None
            else "Stripe (LMS_STRIPE_SECRET_KEY)"
        )
        relay = (
            f"every {self.config.relay_interval:g} s"
            if self.relay and self.relay.services and self.config.relay_interval > 0
            else "off"
        )
        return "\n".join(
            [
                f"lms is running ({self.started_in:.1f} s to start)",
                f"  gateway       {url}   (OpenAPI: {url}{OPENAPI_PATH})",
                f"  database      {database}",
                f"  AWS           {aws}, event bus {os.environ.get('LMS_EVENT_BUS_NAME')}",
                f"  consumers     {consumers}",
                f"  relay         {relay}",
                f"  jobs          {self.jobs.describe() if self.jobs else 'off'}",
                f"  payments      {payments}",
                f"  state folder  {self.config.state.root}",
                "",
                "  First administrator (in another terminal; the password is prompted):",
                '    lms create-admin --email admin@example.com --display-name "Admin"',
                "",
                "Ctrl-C stops.",
            ]
        )


class _Stopwatch:
    """Debug timings of the start-up steps (``lms -v run``)."""

    def __init__(self) -> None:
        self._last = time.perf_counter()

    def elapsed_ms(self) -> float:
        return (time.perf_counter() - self._last) * 1000

    def __call__(self, what: str) -> None:
        logger.debug("%s ready in %.0f ms", what, self.elapsed_ms())
        self._last = time.perf_counter()


def run(config: LocalConfig, services: tuple[Service, ...]) -> int:
    runtime = Runtime(config, services)
    stop = runtime.stop_event

    def request_stop(signum: int, _frame: FrameType | None) -> None:
        if stop.is_set():
            return
        logger.info("stopping (%s)", signal.Signals(signum).name)
        stop.set()

    previous = {s: signal.signal(s, request_stop) for s in (signal.SIGINT, signal.SIGTERM)}
    try:
        try:
            runtime.start()
        except Exception as error:
            logger.debug("start failed", exc_info=True)
            print(f"lms run: could not start: {error}", file=sys.stderr, flush=True)
            return 1
        if not stop.is_set():
            print(runtime.banner(), flush=True)
        while not stop.wait(0.5):
            pass
        return 0
    finally:
        stopped = time.perf_counter()
        runtime.stop()
        logger.info("stopped in %.1f s", time.perf_counter() - stopped)
        for sig, handler in previous.items():
            signal.signal(sig, handler)
