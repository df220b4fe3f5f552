"""Scheduled jobs, locally: each service's declared jobs (``Service.jobs``) and those the
platform gives it (``topology.jobs``: the outbox and inbox retention) run on their
schedule, as EventBridge Scheduler runs them on AWS. ``LMS_JOB_INTERVAL_SECONDS`` runs
every job that often instead (a tester who does not want to wait five minutes)."""

from __future__ import annotations

import importlib
import logging
import threading
import time
from collections.abc import Iterable

from lms_platform import topology
from lms_platform.service import Job, Service

logger = logging.getLogger("lms.jobs")


class JobSchedule:
    def __init__(
        self, services: Iterable[Service], stop: threading.Event, *, interval: float | None
    ) -> None:
        self.jobs: list[tuple[Service, Job]] = [(s, j) for s in services for j in topology.jobs(s)]
        self.stop = stop
        self.interval = interval
        self._threads = [
            threading.Thread(target=self._run, args=(s, j), name=f"job-{j.name}", daemon=True)
            for s, j in self.jobs
        ]

    def start(self) -> None:
        if self.interval is None or self.interval > 0:
            for thread in self._threads:
                thread.start()

    def join(self, timeout: float | None = None) -> None:
        for thread in self._threads:
            if thread.is_alive():
                thread.join(timeout)

    def describe(self) -> str:
        if not self.jobs or (self.interval is not None and self.interval <= 0):
            return "off"
        # A job the platform gives several services is one line, naming them.
        owners: dict[Job, list[str]] = {}
        for service, job in self.jobs:
            owners.setdefault(job, []).append(service.name)
        return ", ".join(
            (
                f"{job.name} every {self.interval:g} s"
                if self.interval
                else f"{job.name} every {job.every_minutes} min"
            )
            + (f" ({' '.join(names)})" if len(names) > 1 else "")
            for job, names in owners.items()
        )

    def _run(self, service: Service, job: Job) -> None:
        every = self.interval or job.every_minutes * 60.0
        path = service.job_path(job)
        while not self.stop.wait(every):
            started = time.perf_counter()
            try:
                module_name, _, attribute = path.rpartition(".")
                result = getattr(importlib.import_module(module_name), attribute)({}, None)
            except Exception:
                logger.exception("%s failed; the next run retries", job.name)
                continue
            logger.debug("%s %s %.0fms", job.name, result, (time.perf_counter() - started) * 1000)
