"""A stage: one whole deployment (``-c lms:stage=dev``), its settings and its names.

Everything an operator may change between stages comes from the CDK context, never from a
code edit; every key is ``lms:<name>`` and is listed in the README ("Context keys"). A
stage marked production (``-c lms:production=true``) gets other defaults: deletion
protection, retained data and logs, longer retention and backups.

Names: every physical name is ``lms-<stage>-...`` (stacks, cluster, proxy, bus, archive,
schema registry, queues, rules, alarms, log groups, functions, API, dashboard, topic), and
every SSM parameter ``/lms/<stage>/...``, so that stages live side by side in one account
and region. Secrets have generated names (see ``infra/data.py``).
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any, Literal

from aws_cdk import RemovalPolicy
from aws_cdk import aws_logs as logs
from constructs import Node

from lms_platform import topology

PREFIX = "lms:"
DEFAULT_STAGE = "dev"
# Short enough for every name it goes into (bucket names: 63 characters with account and
# region); no "local", the local runtime's own stage.
STAGE_NAME = re.compile(r"^[a-z](?:[a-z0-9-]{0,14}[a-z0-9])?$")
StatementMode = Literal["named", "unnamed"]
STATEMENT_MODES: tuple[StatementMode, ...] = ("named", "unnamed")
# Defaults of the two switches `make bench` measures (cold starts with tracing on and off,
# round trips per statement mode): change them here, in one place.
DEFAULT_TRACING = False
DEFAULT_STATEMENT_MODE: StatementMode = "unnamed"
LOG_LEVELS = ("DEBUG", "INFO", "WARNING", "ERROR")
# CloudWatch Logs accepts these retention periods only.
RETENTION_DAYS = {
    1: "ONE_DAY",
    3: "THREE_DAYS",
    5: "FIVE_DAYS",
    7: "ONE_WEEK",
    14: "TWO_WEEKS",
    30: "ONE_MONTH",
    60: "TWO_MONTHS",
    90: "THREE_MONTHS",
    120: "FOUR_MONTHS",
    150: "FIVE_MONTHS",
    180: "SIX_MONTHS",
    365: "ONE_YEAR",
    400: "THIRTEEN_MONTHS",
    545: "EIGHTEEN_MONTHS",
    731: "TWO_YEARS",
    1096: "THREE_YEARS",
    1827: "FIVE_YEARS",
    2192: "SIX_YEARS",
    2557: "SEVEN_YEARS",
    2922: "EIGHT_YEARS",
    3288: "NINE_YEARS",
    3653: "TEN_YEARS",
}
FUNCTION_NAME_MAX = 64


class ContextError(ValueError):
    """A context value the app cannot use; the message names the key."""


@dataclass(frozen=True)
class Throttle:
    rate: float  # requests per second, steady
    burst: int


@dataclass(frozen=True)
class ProxyPool:
    """RDS Proxy's connection pool (see ``infra/data.py`` for how the defaults were chosen)."""

    max_connections_percent: int
    max_idle_connections_percent: int
    borrow_timeout_seconds: int
    idle_client_timeout_minutes: int


@dataclass(frozen=True)
class AlarmThresholds:
    api_5xx_percent: float
    api_p99_ms: int
    outbox_age_seconds: int
    aurora_capacity_percent: int


@dataclass(frozen=True)
class Stage:
    name: str = DEFAULT_STAGE
    production: bool = False
    aurora_min_acu: float = 0.5
    aurora_max_acu: float = 8
    backup_retention_days: int = 1
    log_retention_days: int = 14
    log_level: str = "INFO"
    throttle: Throttle = Throttle(rate=200, burst=400)
    strict_throttle: Throttle = Throttle(rate=10, burst=20)
    consumer_max_concurrency: int = 5
    consumer_max_concurrency_by_service: dict[str, int] = field(default_factory=dict)
    alarm_email: str | None = None
    tracing: bool = DEFAULT_TRACING
    statement_mode: StatementMode = DEFAULT_STATEMENT_MODE
    proxy: ProxyPool = ProxyPool(80, 50, 3, 30)
    api_detailed_metrics: bool = False
    cors_origins: tuple[str, ...] = ()
    alarms: AlarmThresholds = AlarmThresholds(1.0, 2000, 300, 90)

    # --- reading the context --------------------------------------------------------

    @classmethod
    def from_context(cls, node: Node, services: Iterable[str] = ()) -> Stage:
        """The stage the context describes; a bad value raises ``ContextError``.

        ``services`` are the declared service names, each of which may have its own
        consumer concurrency (``lms:consumer-max-concurrency:<service>``).
        """
        read = _Reader(node)
        name = read.text("stage", DEFAULT_STAGE)
        if not STAGE_NAME.match(name) or name == topology.LOCAL_STAGE:
            raise ContextError(
                f"{PREFIX}stage={name!r}: 1 to 16 lower-case letters, digits or hyphens, "
                f"starting with a letter (and not {topology.LOCAL_STAGE!r}, the local runtime's)"
            )
        production = read.boolean("production", False)
        min_acu = read.number("aurora-min-acu", 0.5, minimum=0.5, maximum=256)
        max_acu = read.number("aurora-max-acu", 8, minimum=1, maximum=256)
        if max_acu < min_acu:
            raise ContextError(f"{PREFIX}aurora-max-acu={max_acu} is below aurora-min-acu")
        for key, value in (("aurora-min-acu", min_acu), ("aurora-max-acu", max_acu)):
            if value * 2 != int(value * 2):
                raise ContextError(f"{PREFIX}{key}={value}: ACUs go in steps of 0.5")
        retention = read.integer("log-retention-days", 365 if production else 14)
        if retention not in RETENTION_DAYS:
            raise ContextError(
                f"{PREFIX}log-retention-days={retention}: CloudWatch Logs accepts "
                f"{sorted(RETENTION_DAYS)}"
            )
        statement_mode = read.text("db-statement-mode", DEFAULT_STATEMENT_MODE)
        if statement_mode not in STATEMENT_MODES:
            raise ContextError(f"{PREFIX}db-statement-mode={statement_mode!r}: named or unnamed")
        mode: StatementMode = "named" if statement_mode == "named" else "unnamed"
        log_level = read.text("log-level", "INFO").upper()
        if log_level not in LOG_LEVELS:
            raise ContextError(f"{PREFIX}log-level={log_level!r}: one of {LOG_LEVELS}")
        email = read.text("alarm-email", "") or None
        if email is not None and not re.fullmatch(r"[^@\s]+@[^@\s]+\.[^@\s]+", email):
            raise ContextError(f"{PREFIX}alarm-email={email!r} is not an e-mail address")
        concurrency = read.integer("consumer-max-concurrency", 5, minimum=2, maximum=1000)
        by_service = {
            service: read.integer(
                f"consumer-max-concurrency:{service}", concurrency, minimum=2, maximum=1000
            )
            for service in services
            if read.raw(f"consumer-max-concurrency:{service}") is not None
        }
        # Pinned sessions (named statements) hold a database connection for as long as the
        # client connection lives, so the proxy drops idle clients sooner in that mode.
        idle_default = 5 if mode == "named" else 30
        proxy = ProxyPool(
            max_connections_percent=read.integer(
                "proxy-max-connections-percent", 80, minimum=1, maximum=100
            ),
            max_idle_connections_percent=read.integer(
                "proxy-max-idle-connections-percent", 50, minimum=0, maximum=100
            ),
            borrow_timeout_seconds=read.integer(
                "proxy-borrow-timeout-seconds", 3, minimum=1, maximum=9
            ),
            idle_client_timeout_minutes=read.integer(
                "proxy-idle-client-timeout-minutes", idle_default, minimum=1, maximum=480
            ),
        )
        if proxy.max_idle_connections_percent > proxy.max_connections_percent:
            raise ContextError(
                f"{PREFIX}proxy-max-idle-connections-percent may not exceed "
                "proxy-max-connections-percent"
            )
        return cls(
            name=name,
            production=production,
            aurora_min_acu=min_acu,
            aurora_max_acu=max_acu,
            backup_retention_days=read.integer(
                "backup-retention-days", 14 if production else 1, minimum=1, maximum=35
            ),
            log_retention_days=retention,
            log_level=log_level,
            throttle=Throttle(
                rate=read.number("throttle-rate", 200, minimum=1, maximum=10000),
                burst=read.integer("throttle-burst", 400, minimum=1, maximum=5000),
            ),
            strict_throttle=Throttle(
                rate=read.number("throttle-strict-rate", 10, minimum=1, maximum=10000),
                burst=read.integer("throttle-strict-burst", 20, minimum=1, maximum=5000),
            ),
            consumer_max_concurrency=concurrency,
            consumer_max_concurrency_by_service=by_service,
            alarm_email=email,
            tracing=read.boolean("tracing", DEFAULT_TRACING),
            statement_mode=mode,
            proxy=proxy,
            api_detailed_metrics=read.boolean("api-detailed-metrics", False),
            cors_origins=topology.cors_origins(read.text("cors-origins", "")),
            alarms=AlarmThresholds(
                api_5xx_percent=read.number("alarm-api-5xx-percent", 1, minimum=0.01, maximum=100),
                api_p99_ms=read.integer("alarm-api-p99-ms", 2000, minimum=10, maximum=30000),
                outbox_age_seconds=read.integer(
                    "alarm-outbox-age-seconds", 300, minimum=60, maximum=86400
                ),
                aurora_capacity_percent=read.integer(
                    "alarm-aurora-capacity-percent", 90, minimum=10, maximum=100
                ),
            ),
        )

    # --- what the settings mean ------------------------------------------------------

    @property
    def removal_policy(self) -> RemovalPolicy:
        """What happens to data and logs when their stack goes: kept for production."""
        return RemovalPolicy.RETAIN if self.production else RemovalPolicy.DESTROY

    @property
    def log_retention(self) -> logs.RetentionDays:
        return getattr(logs.RetentionDays, RETENTION_DAYS[self.log_retention_days])  # type: ignore[no-any-return]

    def consumer_concurrency(self, service: str) -> int:
        return self.consumer_max_concurrency_by_service.get(service, self.consumer_max_concurrency)

    @property
    def metrics_namespace(self) -> str:
        """Where the functions' EMF metrics go (POWERTOOLS_METRICS_NAMESPACE)."""
        return f"LMS/{self.name}"

    # --- names --------------------------------------------------------------------------

    @property
    def prefix(self) -> str:
        return topology.prefix(self.name)

    def resource_name(self, *parts: str) -> str:
        """``lms-<stage>-<part>-<part>``; underscores become hyphens."""
        return "-".join((self.prefix, *parts)).replace("_", "-")

    def stack_name(self, kind: str) -> str:
        return self.resource_name(kind)

    def parameter_name(self, *parts: str) -> str:
        """An SSM parameter of this stage: ``/lms/<stage>/<part>/<part>``."""
        return "/".join(("", "lms", self.name, *parts))

    def function_name(self, service: str, unit: str) -> str:
        """``lms-<stage>-<service>-<unit>``, shortened with a digest past Lambda's 64."""
        name = self.resource_name(service, unit)
        if len(name) <= FUNCTION_NAME_MAX:
            return name
        digest = hashlib.sha256(name.encode()).hexdigest()[:8]
        return f"{name[: FUNCTION_NAME_MAX - 9].rstrip('-')}-{digest}"

    def alarm_name(self, *parts: str) -> str:
        return self.resource_name(*parts)


class _Reader:
    """Context values arrive as strings from ``-c key=value`` and as JSON from cdk.json."""

    def __init__(self, node: Node) -> None:
        self.node = node

    def raw(self, key: str) -> Any:
        return self.node.try_get_context(PREFIX + key)

    def text(self, key: str, default: str) -> str:
        value = self.raw(key)
        return default if value is None else str(value).strip()

    def boolean(self, key: str, default: bool) -> bool:
        value = self.raw(key)
        if value is None:
            return default
        if isinstance(value, bool):
            return value
        text = str(value).strip().lower()
        if text in {"true", "1", "yes"}:
            return True
        if text in {"false", "0", "no", ""}:
            return False
        raise ContextError(f"{PREFIX}{key}={value!r}: true or false")

    def number(self, key: str, default: float, *, minimum: float, maximum: float) -> float:
        value = self.raw(key)
        if value is None:
            return default
        try:
            number = float(value)
        except (TypeError, ValueError):
            raise ContextError(f"{PREFIX}{key}={value!r} is not a number") from None
        if not minimum <= number <= maximum:
            raise ContextError(f"{PREFIX}{key}={value!r}: between {minimum:g} and {maximum:g}")
        return int(number) if number.is_integer() else number

    def integer(self, key: str, default: int, *, minimum: int = 1, maximum: int = 1_000_000) -> int:
        number = self.number(key, default, minimum=minimum, maximum=maximum)
        if not float(number).is_integer():
            raise ContextError(f"{PREFIX}{key}={number!r} is not a whole number")
        return int(number)
