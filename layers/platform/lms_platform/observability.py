"""What an operator sees of a function: one log line per request or delivery, metrics,
and traces when a deployment turns them on.

- Logs: the Powertools ``Logger`` of the function's service, one JSON line per request
  (service, function, request id, correlation id, cold start, status, milliseconds) and
  per delivered event. A line carries what the platform puts in it and nothing else: never
  a body, a header, a password, a token, a secret or a signed URL.
- Metrics: ``count(name)`` during an invocation; at its end they leave as one CloudWatch
  embedded-metric-format document (Powertools ``EphemeralMetrics``: the namespace is the
  stage's, ``LMS/<stage>``; the ``service`` dimension is the function's service). Under
  ``lms run`` they are shown in the invocation's log line instead.
- Traces: off unless ``LMS_TRACING`` is true. The X-Ray SDK costs ~140 ms to import, so it
  is loaded on the first traced invocation, never at import.

Correlation ids that come from a caller are checked: at most 128 characters of
``[A-Za-z0-9._:-]``; anything else is replaced by a new one, never stored or logged raw.
"""

from __future__ import annotations

import json
import logging
import os
import re
import sys
import time
import uuid
from contextvars import ContextVar
from dataclasses import dataclass, field
from functools import cache
from typing import Any

from aws_lambda_powertools.logging.formatter import BasePowertoolsFormatter

from lms_platform.settings import get_settings

_CORRELATION_ID = re.compile(r"[A-Za-z0-9._:-]{1,128}")


def valid_correlation_id(value: str | None) -> str | None:
    """``value`` when it is a well-formed correlation id, else ``None``."""
    if value and _CORRELATION_ID.fullmatch(value):
        return value
    return None


def new_correlation_id() -> str:
    return str(uuid.uuid4())


# --- metrics ------------------------------------------------------------------------------

Metric = tuple[float, str]  # value, CloudWatch unit
_counts: ContextVar[dict[str, Metric] | None] = ContextVar("metric_counts", default=None)


def count(name: str, value: float = 1) -> None:
    """Add ``value`` to the count ``name`` of the current invocation (no-op outside one)."""
    counts = _counts.get()
    if counts is not None:
        counts[name] = (counts.get(name, (0.0, "Count"))[0] + value, "Count")


def gauge(name: str, value: float, unit: str = "Count") -> None:
    """Record ``name`` as ``value`` (a level, not a sum: a backlog, an age in seconds)."""
    counts = _counts.get()
    if counts is not None:
        counts[name] = (value, unit)


def _emit_metrics(service: str, counts: dict[str, Metric]) -> None:
    from aws_lambda_powertools.metrics import EphemeralMetrics

    settings = get_settings()
    metrics = EphemeralMetrics(namespace=f"LMS/{settings.stage}", service=service)
    for name, (value, unit) in counts.items():
        metrics.add_metric(name=name, unit=unit, value=value)
    metrics.flush_metrics()


# --- logs ---------------------------------------------------------------------------------


class _Formatter(BasePowertoolsFormatter):
    """What the Powertools Logger of a service writes: the platform's own fields of a
    record (``extra={"lms": {...}}``) and nothing the record may carry by chance. Leaner
    than the default formatter (which also looks for JSON inside every message and walks
    every attribute of every record): ~3x less CPU for a request's line."""

    def __init__(self) -> None:
        super().__init__()
        self._keys: dict[str, Any] = {}

    def append_keys(self, **additional_keys: Any) -> None:
        self._keys.update(additional_keys)

    def get_current_keys(self) -> dict[str, Any]:
        return dict(self._keys)

    def remove_keys(self, keys: Any) -> None:
        for key in keys:
            self._keys.pop(key, None)

    def clear_state(self) -> None:
        self._keys.clear()

    def thread_safe_append_keys(self, **additional_keys: Any) -> None:
        self.append_keys(**additional_keys)

    def thread_safe_get_current_keys(self) -> dict[str, Any]:
        return self.get_current_keys()

    def thread_safe_remove_keys(self, keys: Any) -> None:
        self.remove_keys(keys)

    def thread_safe_clear_keys(self) -> None:
        self.clear_state()


class JsonFormatter(_Formatter):
    def format(self, record: logging.LogRecord) -> str:
        line: dict[str, Any] = {
            "level": record.levelname,
            "timestamp": _timestamp(record.created),
            "service": self._keys.get("service"),
            "message": record.getMessage(),
        }
        fields = getattr(record, "lms", None)
        if fields:
            line.update(fields)
        trace = os.environ.get("_X_AMZN_TRACE_ID")
        if trace:
            line["xrayTraceId"] = trace.split(";", 1)[0].removeprefix("Root=")
        if record.exc_info:
            line["exception"] = self.formatException(record.exc_info)
            line["exceptionName"] = record.exc_info[0].__name__ if record.exc_info[0] else None
        return json.dumps(line, separators=(",", ":"), default=str)


class TextFormatter(_Formatter):
    """``lms run``'s readable form of the same records: one short line each."""

    def format(self, record: logging.LogRecord) -> str:
        fields: dict[str, Any] = getattr(record, "lms", None) or {}
        clock = time.strftime("%H:%M:%S", time.localtime(record.created))
        kind = fields.get("kind")
        if kind == "request":
            line = (
                f"{clock} {fields.get('method')} {fields.get('path')} {fields.get('status')} "
                f"{fields.get('durationMs', 0):.0f}ms"
            )
            extras = [f"{fields.get('service')}.{fields.get('function')}"]
        elif kind == "delivery":
            line = (
                f"{clock} deliver {fields.get('eventType')} -> {fields.get('handler')} "
                f"{fields.get('outcome')} {fields.get('durationMs', 0):.0f}ms"
            )
            extras = []
        elif kind:
            shown = {k: v for k, v in fields.items() if k not in {"kind", "metrics", "coldStart"}}
            line = f"{clock} {kind} " + " ".join(f"{k}={v}" for k, v in shown.items())
            extras = []
        else:
            line, extras = f"{clock} {record.getMessage()}", []
        if fields.get("coldStart"):
            extras.append("cold")
        if fields.get("metrics"):
            extras.append(" ".join(f"{k}={v:g}" for k, v in fields["metrics"].items()))
        text = line + (f"  ({', '.join(extras)})" if extras else "")
        if record.exc_info:
            text += "\n" + self.formatException(record.exc_info)
        return text


def _timestamp(created: float) -> str:
    seconds = time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(created))
    return f"{seconds}.{int(created * 1000) % 1000:03d}Z"


class _Stream:
    """``sys.stdout`` or ``sys.stderr`` as it is when a line is written, not as it was when
    the logger was made (tests and local commands swap them)."""

    def __init__(self, name: str) -> None:
        self.name = name

    def write(self, text: str) -> int:
        return int(getattr(sys, self.name).write(text))

    def flush(self) -> None:
        getattr(sys, self.name).flush()


@cache
def logger(service: str) -> Any:
    """The Powertools Logger of ``service`` (JSON lines; readable text under ``lms run``)."""
    from aws_lambda_powertools import Logger

    settings = get_settings()
    if settings.log_format == "text":
        formatter: _Formatter = TextFormatter()
        stream = _Stream("stderr")
    else:
        formatter, stream = JsonFormatter(), _Stream("stdout")
    log = Logger(
        service=service,
        logger_formatter=formatter,
        logger_handler=logging.StreamHandler(stream),
    )
    # One line per record: not again through the root logger's handlers (Lambda's own,
    # or a local command's).
    log._logger.propagate = False
    return log


# --- one invocation -----------------------------------------------------------------------


@dataclass
class Invocation:
    """A request or a delivery being served: its fields, its counts, its clock."""

    kind: str  # "request" | "delivery"
    service: str
    function: str
    fields: dict[str, Any] = field(default_factory=dict)
    cold_start: bool = False
    _started: float = field(default_factory=time.perf_counter)
    _counts: dict[str, Metric] = field(default_factory=dict)
    _token: Any = None

    def __enter__(self) -> Invocation:
        self._token = _counts.set(self._counts)
        return self

    def __exit__(self, *exc: object) -> None:
        _counts.reset(self._token)

    def finish(self, level: int = logging.INFO, **fields: Any) -> None:
        """Write the invocation's one line, and its metrics."""
        settings = get_settings()
        record: dict[str, Any] = {
            "kind": self.kind,
            "service": self.service,
            "function": self.function,
            **self.fields,
            **fields,
            "durationMs": round((time.perf_counter() - self._started) * 1000, 2),
        }
        if self.cold_start:
            record["coldStart"] = True
        if self._counts:
            if settings.metrics_format == "emf":
                _emit_metrics(self.service, self._counts)
            else:
                record["metrics"] = {name: value for name, (value, _) in self._counts.items()}
        logger(self.service).log(level, self.kind, extra={"lms": record})


def log_error(service: str, message: str, **fields: Any) -> None:
    """An unexpected failure, with its traceback (the caller only ever sees a problem)."""
    logger(service).exception(message, extra={"lms": fields})


# --- traces -------------------------------------------------------------------------------


@cache
def tracer(service: str) -> Any:
    """The X-Ray tracer, built on the first traced invocation (its SDK import is slow)."""
    from aws_lambda_powertools import Tracer

    return Tracer(service=service)


def tracing() -> bool:
    return get_settings().tracing


def dumps(value: Any) -> str:
    return json.dumps(value, separators=(",", ":"), default=str)
