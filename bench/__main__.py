"""``make bench``: the performance budget of DESIGN.md §8, measured against its floors.

Every figure is a ratio to a floor measured in the same run on the same machine, so the
numbers mean the same on a laptop and on a loaded CI box:

- cold start: new process to first response with a new database connection, for real
  handlers, against a bare pg8000 + json handler (budget: 3x);
- warm reads: database round trips behind ``GET /me`` (budget: 3, ideal 1) and handler
  CPU per call against a bare prepared statement + json handler (budget: 3x);
- a new database connection, tuned (one SSL context, TCP_NODELAY) against pg8000's
  defaults, on the configured server.

It uses the embedded PostgreSQL unless LMS_DATABASE_URL names a server, and an in-process
moto server for AWS.
"""

from __future__ import annotations

import json
import os
import secrets
import statistics
import subprocess
import sys
import tempfile
import textwrap
import time
from pathlib import Path
from typing import Any

COLD_RUNS = 7
WARM_CALLS = 2000


def main() -> int:
    workdir = Path(tempfile.mkdtemp(prefix="lms-bench-"))
    env = _prepare(workdir)
    results: dict[str, Any] = {}

    floor = _cold(env, _FLOOR_COLD)
    me = _cold(
        env,
        _HANDLER_COLD,
        BENCH_MODULE="functions.user.api.get_me",
        BENCH_EVENT=json.dumps(_event("GET", "/me", claims=_claims(env))),
    )
    login = _cold(
        env,
        _HANDLER_COLD,
        BENCH_MODULE="functions.user.api.login",
        BENCH_EVENT=json.dumps(
            _event("POST", "/auth/login", body={"email": env["BENCH_EMAIL"], "password": "p" * 16})
        ),
    )
    catalog = _cold(
        env,
        _HANDLER_COLD,
        BENCH_MODULE="functions.course.api.list_courses",
        BENCH_EVENT=json.dumps(_event("GET", "/courses")),
    )
    profile = _cold(
        env,
        _HANDLER_COLD,
        BENCH_MODULE="functions.user.api.update_my_profile",
        BENCH_EVENT=json.dumps(
            _event("PATCH", "/me/profile", body={"bio": "cold"}, claims=_claims(env))
        ),
    )
    results["cold_start_ms"] = {
        "PATCH /me/profile (a write that publishes)": profile,
        "GET /courses (catalog)": catalog,
        "floor (bare pg8000 + json)": floor,
        "GET /me": me,
        "POST /auth/login (argon2 verify + RS256 sign)": login,
    }
    results["cold_start_ratio"] = {
        "PATCH /me/profile": round(profile / floor, 2),
        "GET /courses": round(catalog / floor, 2),
        "GET /me": round(me / floor, 2),
        "POST /auth/login": round(login / floor, 2),
    }
    results.update(_warm(env))
    results.update(_catalog_depth(env))
    results.update(_connect(env))
    print(json.dumps(results, indent=2))
    checks = {
        "cold start of GET /me <= 3x floor": results["cold_start_ratio"]["GET /me"] <= 3.0,
        "cold start of GET /courses <= 3x floor": results["cold_start_ratio"]["GET /courses"]
        <= 3.0,
        "GET /me <= 3 round trips": results["me_round_trips"] <= 3,
        "warm CPU of GET /me <= 3x floor": results["warm_cpu_ratio"]["GET /me"] <= 3.0,
        "a deep catalog page costs about the first": results["catalog_depth_ratio"] <= 1.5,
    }
    for name, ok in checks.items():
        print(f"{'ok  ' if ok else 'OVER'} {name}", file=sys.stderr)
    return 0


def _prepare(workdir: Path) -> dict[str, str]:
    """A migrated database with one user in it, and the environment a function would have."""
    import atexit

    from functions.registry import SERVICES
    from lms_platform import auth
    from lms_platform.migrations import migrate

    admin_url = os.environ.get("LMS_DATABASE_URL")
    if admin_url:
        from lms_local.postgres import drop_database, fresh_database

        admin_url = fresh_database(admin_url, "lms_bench")
        atexit.register(drop_database, admin_url)
    else:
        from lms_local.postgres import start_embedded

        admin_url, server = start_embedded(workdir / "pg", cleanup_mode="delete")
        atexit.register(server.cleanup)
    from moto.server import ThreadedMotoServer

    moto = ThreadedMotoServer(ip_address="127.0.0.1", port=0, verbose=False)
    moto.start()
    host, port = moto.get_host_and_port()
    env = {
        **os.environ,
        "LMS_DATABASE_URL": admin_url,
        "LMS_SIGNING_KEY_FILE": str(auth.ensure_key_file(workdir / "key.pem")),
        "LMS_CURSOR_KEY": secrets.token_hex(32),
        "AWS_ENDPOINT_URL": f"http://{host}:{port}",
        "AWS_ACCESS_KEY_ID": "bench",
        "AWS_SECRET_ACCESS_KEY": "bench",
        "AWS_DEFAULT_REGION": "us-east-1",
    }
    os.environ.update(env)
    migrate(admin_url, list(SERVICES), {})
    from functions.user import use_cases
    from functions.user.models import RegisterUser
    from lms_platform.aws import client

    client("events").create_event_bus(Name="lms")
    user = use_cases.register(
        RegisterUser(
            email=f"bench-{secrets.token_hex(4)}@example.com",
            password="p" * 16,
            display_name="Bench",
        )
    )
    env["BENCH_USER_ID"] = str(user.id)
    env["BENCH_EMAIL"] = user.email
    return env


# The floor: what any Python handler that answers from PostgreSQL must pay.
_FLOOR_COLD = textwrap.dedent(
    """
    import json, pg8000.native
    from urllib.parse import urlsplit, parse_qsl
    import os
    url = urlsplit(os.environ["LMS_DATABASE_URL"]); q = dict(parse_qsl(url.query))
    conn = pg8000.native.Connection(
        "lms_user", host=url.hostname, port=url.port or 5432, unix_sock=q.get("unix_sock"),
        database=url.path.lstrip("/"), ssl_context=False if url.hostname else None)
    def handler(event, context):
        rows = conn.run("SELECT id, email FROM users WHERE id = :id", id=event["id"])
        return {"statusCode": 200, "body": json.dumps(rows, default=str)}
    handler({"id": os.environ["BENCH_USER_ID"]}, None)
    """
)

# A real handler, as Lambda loads it: import the module, then one invocation.
_HANDLER_COLD = textwrap.dedent(
    """
    import importlib, json, os
    module = importlib.import_module(os.environ["BENCH_MODULE"])
    response = module.handler(json.loads(os.environ["BENCH_EVENT"]), None)
    assert response["statusCode"] < 300, response
    """
)


def _event(
    method: str, path: str, *, body: Any = None, claims: dict[str, str] | None = None
) -> dict[str, Any]:
    context: dict[str, Any] = {
        "http": {
            "method": method,
            "path": path,
            "protocol": "HTTP/1.1",
            "sourceIp": "127.0.0.1",
            "userAgent": "bench",
        },
        "requestId": "bench",
        "routeKey": f"{method} {path}",
        "stage": "$default",
    }
    if claims:
        context["authorizer"] = {"jwt": {"claims": claims, "scopes": None}}
    return {
        "version": "2.0",
        "routeKey": f"{method} {path}",
        "rawPath": path,
        "rawQueryString": "",
        "headers": {"content-type": "application/json"},
        "requestContext": context,
        "body": None if body is None else json.dumps(body),
        "isBase64Encoded": False,
    }


def _cold(env: dict[str, str], script: str, **extra: str) -> float:
    """Median milliseconds from process spawn to the handler's first response."""
    samples = []
    for run in range(COLD_RUNS + 1):
        started = time.perf_counter()
        subprocess.run([sys.executable, "-c", script], env={**env, **extra}, check=True)  # noqa: S603
        elapsed = (time.perf_counter() - started) * 1000
        if run:  # the first run writes .pyc files, as a deployment package ships them
            samples.append(elapsed)
    return round(statistics.median(samples), 1)


class _RoundTrips:
    """Counts protocol round trips: pg8000 flushes its socket once per exchange."""

    def __init__(self, connection: Any) -> None:
        self.count = 0
        sock = connection._sock
        original = sock.flush

        def flush() -> None:
            self.count += 1
            original()

        sock.flush = flush


def _warm(env: dict[str, str]) -> dict[str, Any]:
    from functions.user.api import get_me
    from lms_platform.db import database, open_connection, params_from_url

    event = _event("GET", "/me", claims=_claims(env))
    get_me.handler(event, None)  # warm: connection open, statement prepared
    session = database("lms_user")._live_session()
    counter = _RoundTrips(session.connection)
    get_me.handler(event, None)
    round_trips = counter.count

    started = time.process_time()
    for _ in range(WARM_CALLS):
        get_me.handler(event, None)
    handler_us = (time.process_time() - started) / WARM_CALLS * 1e6

    # The raw floor: the same statement on a bare prepared statement, rows to JSON.
    from functions.user.store import USER_BY_ID

    raw = open_connection(params_from_url(env["LMS_DATABASE_URL"], user="lms_user"))
    statement = raw.prepare(USER_BY_ID)

    def floor_handler(e: dict[str, Any]) -> dict[str, Any]:
        rows = statement.run(id=e["id"])
        return {"statusCode": 200, "body": json.dumps(rows, default=str)}

    floor_handler({"id": env["BENCH_USER_ID"]})
    started = time.process_time()
    for _ in range(WARM_CALLS):
        floor_handler({"id": env["BENCH_USER_ID"]})
    floor_us = (time.process_time() - started) / WARM_CALLS * 1e6
    raw.close()
    return {
        "me_round_trips": round_trips,
        "warm_cpu_us": {
            "floor (same statement, bare pg8000 + json)": round(floor_us, 1),
            "GET /me": round(handler_us, 1),
        },
        "warm_cpu_ratio": {"GET /me": round(handler_us / floor_us, 2)},
    }


CATALOG_ROWS = 200_000
PAGE_CALLS = 200


def _catalog_depth(env: dict[str, str]) -> dict[str, Any]:
    """The catalog's first page against a page 190,000 rows deep (keyset: the same cost)."""
    from functions.course import use_cases
    from lms_platform.db import open_connection, params_from_url

    # Filling 200,000 rows takes longer than a request's socket timeout on a busy machine.
    admin = open_connection(params_from_url(env["LMS_DATABASE_URL"]), socket_timeout=300)
    admin.run(
        f"""
        INSERT INTO lms_course.courses (id, title, slug, status, created_at, updated_at)
        SELECT gen_random_uuid(), 'Course ' || n, 'bench-course-' || n, 'PUBLISHED',
               now() - make_interval(secs => n), now()
        FROM generate_series(1, {CATALOG_ROWS}) AS n
        """
    )
    admin.run("ANALYZE lms_course.courses")
    deep_row = admin.run(
        "SELECT created_at, id FROM lms_course.courses WHERE status = 'PUBLISHED'"
        " ORDER BY created_at DESC, id DESC OFFSET :n LIMIT 1",
        n=CATALOG_ROWS - 10_000,
    )[0]
    admin.close()
    deep = use_cases.encode_cursor(
        use_cases.CATALOG_SCOPE, [deep_row[0].isoformat(), str(deep_row[1])]
    )

    def timed(cursor: str | None) -> float:
        use_cases.catalog(limit=20, cursor=cursor, search=None)  # warm the statement
        samples = []
        for _ in range(PAGE_CALLS):
            started = time.perf_counter()
            page = use_cases.catalog(limit=20, cursor=cursor, search=None)
            samples.append((time.perf_counter() - started) * 1e6)
            assert len(page.items) == 20
        return round(statistics.median(samples), 1)

    first, far = timed(None), timed(deep)
    return {
        "catalog_page_us": {"first page": first, f"{CATALOG_ROWS - 10_000:,} rows deep": far},
        "catalog_depth_ratio": round(far / first, 2),
    }


def _claims(env: dict[str, str]) -> dict[str, str]:
    return {"sub": env["BENCH_USER_ID"], "roles": "STUDENT", "email": env["BENCH_EMAIL"]}


def _connect(env: dict[str, str]) -> dict[str, Any]:
    import pg8000.native

    from lms_platform.db import open_connection, params_from_url

    params = params_from_url(env["LMS_DATABASE_URL"], user="lms_user")

    def timed(connect: Any) -> float:
        samples = []
        for _ in range(20):
            started = time.perf_counter()
            connect().close()
            samples.append((time.perf_counter() - started) * 1000)
        return round(statistics.median(samples), 2)

    tuned = timed(lambda: open_connection(params))
    default = timed(
        lambda: pg8000.native.Connection(
            params.user,
            host=params.host or "localhost",
            port=params.port,
            database=params.database,
            unix_sock=params.unix_sock,
            password=params.password,
        )
    )
    where = "unix socket" if params.unix_sock else f"tcp {params.host}:{params.port}"
    return {"new_connection_ms": {"server": where, "pg8000 defaults": default, "tuned": tuned}}


if __name__ == "__main__":
    raise SystemExit(main())
