"""Lambda, locally: a fixed pool of worker threads, each one execution environment.

On Lambda an environment runs one invocation at a time and keeps its module globals and
its database connection between invocations; ``lms_platform.db.database`` keeps one
connection per thread, so a pool of N threads holds at most N connections per service,
reused from one request to the next, as N warm environments would.
"""

from __future__ import annotations

import importlib
import secrets
import threading
import time
from collections.abc import Callable
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import Any

Handler = Callable[[dict[str, Any], Any], Any]

ACCOUNT_ID = "123456789012"  # the account moto and LocalStack answer for


@dataclass
class LambdaContext:
    """The context object Lambda passes to a handler (the attributes powertools reads)."""

    function_name: str
    timeout_seconds: float = 30.0
    memory_limit_in_mb: int = 512
    function_version: str = "$LATEST"
    region: str = "us-east-1"
    aws_request_id: str = field(default_factory=lambda: secrets.token_hex(16))
    client_context: Any = None
    identity: Any = None
    _started: float = field(default_factory=time.monotonic)

    @property
    def invoked_function_arn(self) -> str:
        return f"arn:aws:lambda:{self.region}:{ACCOUNT_ID}:function:{self.function_name}"

    @property
    def log_group_name(self) -> str:
        return f"/aws/lambda/{self.function_name}"

    @property
    def log_stream_name(self) -> str:
        return f"local/[{self.function_version}]{threading.current_thread().name}"

    def get_remaining_time_in_millis(self) -> int:
        left = self.timeout_seconds - (time.monotonic() - self._started)
        return max(0, int(left * 1000))


class HandlerNotFound(Exception):
    pass


class Handlers:
    """Handler functions by dotted path (``functions.user.api.register.handler``), each
    module imported on its first invocation, as a cold start would."""

    def __init__(self) -> None:
        self._found: dict[str, Handler] = {}
        self._lock = threading.Lock()

    def register(self, path: str, handler: Handler) -> None:
        """Serve ``path`` with ``handler`` without importing anything (tests, fakes)."""
        with self._lock:
            self._found[path] = handler

    def get(self, path: str) -> Handler:
        found = self._found.get(path)
        if found is not None:
            return found
        module_name, _, attribute = path.rpartition(".")
        try:
            module = importlib.import_module(module_name)
        except ModuleNotFoundError as error:
            if error.name and module_name.startswith(error.name):
                raise HandlerNotFound(f"no module {module_name} for handler {path}") from error
            raise
        handler: Handler | None = getattr(module, attribute, None)
        if not callable(handler):
            raise HandlerNotFound(f"{module_name} has no callable {attribute!r}")
        with self._lock:
            self._found[path] = handler
        return handler


class WorkerPool:
    """Invocations run on ``size`` long-lived threads; callers wait for the result."""

    def __init__(self, size: int, handlers: Handlers | None = None, region: str = "us-east-1"):
        self.size = size
        self.handlers = handlers or Handlers()
        self.region = region
        self._executor = ThreadPoolExecutor(max_workers=size, thread_name_prefix="lambda")

    def submit(
        self, handler_path: str, event: dict[str, Any], *, function_name: str, timeout: float
    ) -> Future[Any]:
        def invoke() -> Any:
            handler = self.handlers.get(handler_path)
            context = LambdaContext(function_name, timeout_seconds=timeout, region=self.region)
            return handler(event, context)

        return self._executor.submit(invoke)

    def invoke(
        self, handler_path: str, event: dict[str, Any], *, function_name: str, timeout: float
    ) -> Any:
        """Run the handler on a worker; its result, or its exception, or ``TimeoutError``."""
        future = self.submit(handler_path, event, function_name=function_name, timeout=timeout)
        return future.result(timeout=timeout)

    def shutdown(self) -> None:
        self._executor.shutdown(wait=True, cancel_futures=True)
        self._close_connections()

    def _close_connections(self) -> None:
        from lms_platform.db import reset_databases

        reset_databases()
