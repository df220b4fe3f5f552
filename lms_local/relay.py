"""The outbox relay, locally: what the scheduled relay function does on AWS, for every
service that publishes events, on a timer (and once at start-up, and by ``lms relay``)."""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Iterable

from lms_platform.service import Service

logger = logging.getLogger("lms.relay")


def publishing(services: Iterable[Service]) -> list[Service]:
    """The services whose outbox has something to send: events, or tasks to themselves."""
    return [s for s in services if s.publishes or s.tasks]


def sweep(services: Iterable[Service], *, grace_seconds: int | None = None) -> dict[str, int]:
    """Publish every publishing service's leftover outbox rows; how many per service."""
    from lms_platform.db import database
    from lms_platform.outbox import relay

    return {
        s.name: relay(database(s.role), grace_seconds=grace_seconds) for s in publishing(services)
    }


def log_sweep(published: dict[str, int], elapsed_ms: float) -> None:
    sent = {name: count for name, count in published.items() if count}
    if sent:
        counts = ", ".join(f"{name} {count}" for name, count in sent.items())
        logger.info("relay published %s %.0fms", counts, elapsed_ms)


class RelaySchedule:
    """Every ``interval`` seconds, one sweep with the platform's grace period."""

    def __init__(self, services: Iterable[Service], interval: float, stop: threading.Event) -> None:
        self.services = publishing(services)
        self.interval = interval
        self.stop = stop
        self._thread = threading.Thread(target=self._run, name="relay", daemon=True)

    def start(self) -> None:
        if self.services and self.interval > 0:
            self._thread.start()

    def join(self, timeout: float | None = None) -> None:
        if self._thread.is_alive():
            self._thread.join(timeout)

    def _run(self) -> None:
        while not self.stop.wait(self.interval):
            started = time.perf_counter()
            try:
                published = sweep(self.services)
            except Exception:
                logger.exception("relay sweep failed; the next one retries")
                continue
            log_sweep(published, (time.perf_counter() - started) * 1000)
