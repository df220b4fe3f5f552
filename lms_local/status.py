"""``lms outbox status``: what every outbox still holds, and the progress recomputes under way.

Per service: the outbox rows not yet sent -- events for the bus, tasks for the service's
own queue -- and how old the oldest is (the relay sends what is older than its grace
period; an old row means the bus or the queue refuses it). Then, per course, the
Enrollment service's recompute of progress after a lesson list changed: for which lesson
list, how many chunks are done and how many remain.
"""

from __future__ import annotations

import math
import uuid
from collections.abc import Iterable
from dataclasses import asdict, dataclass
from typing import Any

from lms_platform.service import Service


@dataclass(frozen=True)
class OutboxWaiting:
    service: str
    events: int
    tasks: int
    oldest_seconds: float | None  # None when nothing waits


@dataclass(frozen=True)
class RecomputeRunning:
    course_id: uuid.UUID
    title: str | None
    outline_version: int  # the lesson list being applied
    kept_version: int | None  # the newest lesson list kept (higher: a restart is coming)
    chunks_done: int
    enrollments_done: int
    enrollments_left: int
    chunks_left: int
    running_seconds: float
    idle_seconds: float  # since the last chunk: long means the chain has stalled


def outbox_waiting(services: Iterable[Service]) -> list[OutboxWaiting]:
    from lms_platform.db import database
    from lms_platform.outbox import pending

    found = []
    for service in services:
        waiting = pending(database(service.role))
        events, tasks = waiting.get("bus", (0, 0.0)), waiting.get("queue", (0, 0.0))
        ages = [age for count, age in (events, tasks) if count]
        found.append(OutboxWaiting(service.name, events[0], tasks[0], max(ages, default=None)))
    return found


def recomputes_running() -> list[RecomputeRunning]:
    from functions.enrollment import recompute

    found = []
    for row in recompute.running():
        left = int(row["remaining"])
        found.append(
            RecomputeRunning(
                course_id=row["course_id"],
                title=row["title"],
                outline_version=int(row["outline_version"]),
                kept_version=row["kept_version"],
                chunks_done=int(row["chunks"]),
                enrollments_done=int(row["enrollments"]),
                enrollments_left=left,
                # At the size chunks have reached; the last finds less than a chunk's worth.
                chunks_left=left // int(row["chunk_size"] or recompute.CHUNK_SIZE) + 1,
                running_seconds=(row["now"] - row["started_at"]).total_seconds(),
                idle_seconds=(row["now"] - row["updated_at"]).total_seconds(),
            )
        )
    return found


def as_json(outbox: list[OutboxWaiting], recomputes: list[RecomputeRunning]) -> dict[str, Any]:
    return {
        "outbox": [asdict(o) for o in outbox],
        "recomputes": [{**asdict(r), "course_id": str(r.course_id)} for r in recomputes],
    }


def render(outbox: list[OutboxWaiting], recomputes: list[RecomputeRunning]) -> str:
    lines = ["outbox (unsent rows)", f"  {'service':<12} {'events':>7} {'tasks':>7}  oldest"]
    for o in outbox:
        oldest = "-" if o.oldest_seconds is None else _duration(o.oldest_seconds)
        lines.append(f"  {o.service:<12} {o.events:>7} {o.tasks:>7}  {oldest}")
    lines.append("")
    if not recomputes:
        lines.append("progress recomputes (enrollment): none running")
        return "\n".join(lines)
    lines.append("progress recomputes (enrollment), per course")
    lines.append(
        f"  {'course':<36} {'version':>7} {'chunks done':>11} {'chunks left':>11} "
        f"{'enrollments left':>16}  running  idle  title"
    )
    for r in recomputes:
        version = str(r.outline_version)
        if r.kept_version is not None and r.kept_version > r.outline_version:
            version += "*"
        lines.append(
            f"  {r.course_id!s:<36} {version:>7} {r.chunks_done:>11,} {r.chunks_left:>11,} "
            f"{r.enrollments_left:>16,}  {_duration(r.running_seconds):>7} "
            f"{_duration(r.idle_seconds):>5}  {r.title or ''}"
        )
    if any(r.kept_version and r.kept_version > r.outline_version for r in recomputes):
        lines.append("  * the course's lessons changed only in order since: nothing to redo")
    return "\n".join(lines)


def _duration(seconds: float) -> str:
    seconds = max(0.0, seconds)
    if seconds < 60:
        return f"{math.floor(seconds)}s"
    if seconds < 3600:
        return f"{math.floor(seconds / 60)}m{math.floor(seconds % 60):02d}s"
    return f"{math.floor(seconds / 3600)}h{math.floor(seconds % 3600 / 60):02d}m"
