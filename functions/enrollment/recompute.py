"""Progress recomputed after a course's lessons change, in chunks, whatever the course's size.

The rule (and why): a lesson list kept for a course changes the progress of every one of
its enrollments, and a course may have a million. One transaction over all of them would
lock every enrollment of the course for a minute -- every completion in the course
waiting meanwhile -- and outlast the consumer's invocation. So:

1. The consumer keeps the newer lesson list in a transaction of its own (the shared read
   model of courses) and, when lessons were added or removed, starts a recompute in the
   same transaction: the course's ``outline_recomputes`` row (which lesson list, from the
   first enrollment, and the id of the task that may continue) and the first task.
2. The task runs chunks of the course's enrollments in id order (the keyset), each its
   own short transaction: lock the recompute row, lock the chunk's enrollments, recompute
   their progress and status from rows, announce ``EnrollmentCompleted`` for those that
   have just completed, move the keyset on. A chunk's size follows the time the previous
   one took, aiming at ``CHUNK_TARGET_SECONDS``: the bound is on time, whatever the
   database's speed or load. When its invocation's time runs short the task adds the next
   task in its last chunk's transaction and stops; the chain goes on through the
   service's own queue until the last chunk marks the recompute finished.
3. Progress is recomputed from rows, so a chunk done twice changes nothing; the recompute
   row says which task may continue, so a task delivered twice, late, or for an older
   lesson list stops at its first chunk; a newer lesson list starts the recompute over.
4. A completion arriving meanwhile locks its enrollment and recomputes it against the
   lessons kept now: it is right at once, and the chunk that later reaches it finds
   nothing to change. If it waits, it waits for one chunk, never for the course.

A reorder changes no enrollment's progress, and starts nothing (a recompute under way
for the same lessons goes on).

Why the service's own queue rather than a Step Functions map or an EventBridge fan-out:
the first task commits with the lesson list in the outbox (nothing can start a recompute
that is not then run), the queue already has the consumer, its retries and its
dead-letter queue, the local runtime already feeds it, and no new AWS service or
permission beyond sending to one's own queue is needed. One chain per course runs its
chunks in order; several courses' chains run side by side.
"""

from __future__ import annotations

import logging
import time
import uuid
from dataclasses import dataclass
from functools import partial
from typing import Any, Literal

from pydantic import Field

from functions.enrollment import store
from functions.enrollment.use_cases import announce_recomputed
from lms_events.envelope import CamelModel
from lms_platform.db import Row, UnitOfWork
from lms_platform.read_models.courses import OutlineApplied
from lms_platform.tasks import TaskContext

logger = logging.getLogger(__name__)

TASK = "enrollment.recompute-progress"
# How long a chunk's transaction should take: a completion whose enrollment the chunk holds
# waits about that long at most, and the round trips each chunk costs stay a few percent.
CHUNK_TARGET_SECONDS = 0.1
# The first chunk's size, and the bounds the size moves within (``make bench-recompute``
# measures ~0.05 ms an enrollment with the table cached, ~0.15 ms at a million on a laptop).
CHUNK_SIZE = 500
MIN_CHUNK_SIZE = 50
MAX_CHUNK_SIZE = 2000
# The nil UUID sorts before every other: the keyset before the first chunk.
START = uuid.UUID(int=0)

Outcome = Literal["continue", "finished", "chained", "stale"]


class RecomputeTask(CamelModel):
    course_id: uuid.UUID
    outline_version: int = Field(ge=1)
    # The size the chunk before it settled on (none for the first task of a recompute).
    chunk_size: int | None = Field(default=None, ge=1)


def start(uow: UnitOfWork, outline: OutlineApplied) -> None:
    """The read model's outline hook: in the transaction that kept the newer lesson list."""
    if not outline.lessons_changed:
        return
    payload = RecomputeTask(course_id=outline.course_id, outline_version=outline.version)
    task_id = uow.outbox.add_task(TASK, _payload(payload))
    uow.execute(
        store.START_RECOMPUTE,
        course_id=outline.course_id,
        outline_version=outline.version,
        task_id=task_id,
        start=START,
    )


@dataclass
class _Slice:
    """What one task did, for its log line, and the size of its next chunk."""

    size: int
    chunks: int = 0
    enrollments: int = 0
    changed: int = 0
    longest_chunk: float = 0.0


def run(context: TaskContext) -> None:
    """The task handler: chunks until the recompute is done, the task is stale, or time is short."""
    task = RecomputeTask.model_validate(context.task.payload)
    done = _Slice(size=_bounded(task.chunk_size or CHUNK_SIZE))
    started = time.perf_counter()
    outcome: Outcome = "continue"
    while outcome == "continue":
        began = time.perf_counter()
        outcome = store.db().transaction(
            partial(_chunk, context=context, task=task, done=done, began=began)
        )
        elapsed = time.perf_counter() - began
        done.longest_chunk = max(done.longest_chunk, elapsed)
        logger.debug(
            "recompute chunk %s",
            outcome,
            extra={
                "course_id": str(task.course_id),
                "chunk_ms": round(elapsed * 1000, 2),
                "chunk_size": done.size,
            },
        )
        done.size = _next_size(done.size, elapsed)
    logger.info(
        "recompute slice %s",
        outcome,
        extra={
            "course_id": str(task.course_id),
            "outline_version": task.outline_version,
            "task_id": str(context.task.id),
            "outcome": outcome,
            "chunks": done.chunks,
            "enrollments": done.enrollments,
            "changed": done.changed,
            "longest_chunk_ms": round(done.longest_chunk * 1000, 1),
            "chunk_size": done.size,
            "seconds": round(time.perf_counter() - started, 3),
        },
    )


def _chunk(
    uow: UnitOfWork, context: TaskContext, task: RecomputeTask, done: _Slice, began: float
) -> Outcome:
    progress = uow.fetch_one(store.LOCK_RECOMPUTE, course_id=task.course_id)
    if not _entitled(progress, context, task):
        uow.commit()
        return "stale"
    assert progress is not None
    after = progress["after_enrollment_id"]
    locked = uow.fetch_one(store.LOCK_CHUNK, course_id=task.course_id, after=after, size=done.size)
    assert locked is not None
    rows, last = int(locked["n"]), locked["last_id"]
    changed: list[Row] = []
    if rows:
        changed = uow.fetch(store.RECOMPUTE_CHUNK, course_id=task.course_id, after=after, last=last)
        announce_recomputed(uow, changed)
    finished = rows < done.size
    # Another chunk takes about as long as the longest so far; without the time for one,
    # this transaction hands the rest to the next task, with the size chunks have reached.
    elapsed = time.perf_counter() - began
    chained = not finished and context.seconds_left() < 2 * max(done.longest_chunk, elapsed)
    if chained:
        following = task.model_copy(update={"chunk_size": _next_size(done.size, elapsed)})
        task_id = uow.outbox.add_task(TASK, _payload(following))
    else:
        task_id = progress["task_id"]
    uow.execute(
        store.ADVANCE_RECOMPUTE,
        course_id=task.course_id,
        after=last if rows else after,
        rows=rows,
        changed=len(changed),
        finished=finished,
        task_id=task_id,
        size=done.size,
    )
    uow.commit()
    done.chunks += 1
    done.enrollments += rows
    done.changed += len(changed)
    return "finished" if finished else "chained" if chained else "continue"


def _next_size(size: int, elapsed: float) -> int:
    """The size that should take about ``CHUNK_TARGET_SECONDS``, moving at most 2x a chunk."""
    factor = CHUNK_TARGET_SECONDS / elapsed if elapsed > 0 else 2.0
    return _bounded(round(size * min(2.0, max(0.5, factor))))


def _bounded(size: int) -> int:
    return min(MAX_CHUNK_SIZE, max(MIN_CHUNK_SIZE, size))


def _payload(task: RecomputeTask) -> dict[str, Any]:
    return task.model_dump(mode="json", by_alias=True, exclude_none=True)


def _entitled(progress: Row | None, context: TaskContext, task: RecomputeTask) -> bool:
    """Whether this task may do the next chunk: the recompute is of its lesson list, not
    finished, and names this task (not a repeat that lost, nor one for an older list)."""
    return (
        progress is not None
        and progress["finished_at"] is None
        and progress["outline_version"] == task.outline_version
        and _same_id(progress["task_id"], context.task.id)
    )


def _same_id(value: Any, task_id: uuid.UUID) -> bool:
    return str(value) == str(task_id)


def running() -> list[Row]:
    """The recomputes under way, with how many enrollments each has left (the operator's)."""
    return store.db().read(store.RECOMPUTES_RUNNING)
