"""Consumers: SQS batches of EventBridge events, each event applied once per handler.

The inbox row ``(event_id, handler)`` and the handler's effect commit in one
transaction, so a redelivered event finds its row and changes nothing. A failing record
is reported back as a partial batch failure: SQS redelivers it alone, and after the
queue's receive limit it lands in the dead-letter queue.

The same queue brings the consumer the tasks its service hands to itself
(``lms_platform.tasks``): a record that holds a task runs the task handler registered for
its name, with the time the invocation has left.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

from aws_lambda_powertools.utilities.batch import (
    BatchProcessor,
    EventType,
    process_partial_response,
)
from aws_lambda_powertools.utilities.data_classes.sqs_event import SQSRecord

from lms_events.envelope import Envelope, EventData
from lms_platform import context, observability
from lms_platform.db import Database, UnitOfWork
from lms_platform.tasks import Task, TaskContext, TaskHandler, parse_task

logger = logging.getLogger(__name__)

_CLAIM = """
INSERT INTO inbox (event_id, handler, event_type) VALUES (:event_id, :handler, :event_type)
ON CONFLICT (event_id, handler) DO NOTHING
"""

Apply = Callable[[UnitOfWork, Envelope[Any]], None]


@dataclass(frozen=True)
class Subscription:
    """``apply`` runs once per event of type ``event`` under the inbox name ``handler``."""

    event: type[EventData]
    handler: str
    apply: Apply


class EventConsumer:
    def __init__(
        self,
        db: Callable[[], Database],
        subscriptions: list[Subscription],
        tasks: Sequence[TaskHandler] = (),
    ):
        self._db = db
        self._tasks = {t.name: t for t in tasks}
        self._by_type: dict[tuple[str, str], list[Subscription]] = {}
        for s in subscriptions:
            self._by_type.setdefault((s.event.source, s.event.event_type), []).append(s)

    @property
    def subscriptions(self) -> list[Subscription]:
        return [s for group in self._by_type.values() for s in group]

    def deliver(self, event: dict[str, Any]) -> int:
        """Apply one EventBridge event (as the bus delivers it); how many handlers acted."""
        key = (str(event.get("source")), str(event.get("detail-type")))
        subscriptions = self._by_type.get(key, [])
        if not subscriptions:
            logger.info("no subscription for event; ignored", extra={"event_type": key[1]})
            return 0
        acted = 0
        for subscription in subscriptions:
            envelope = Envelope[subscription.event].model_validate(event["detail"])  # type: ignore[name-defined]
            token = context.correlation_id.set(envelope.correlation_id)
            try:
                acted += self._apply_once(subscription, envelope)
            finally:
                context.correlation_id.reset(token)
        return acted

    def _apply_once(self, subscription: Subscription, envelope: Envelope[Any]) -> int:
        database = self._db()
        invocation = observability.Invocation(
            "delivery",
            database.role.removeprefix("lms_"),
            "consumer",
            fields={
                "eventType": envelope.event_type,
                "eventId": str(envelope.event_id),
                "handler": subscription.handler,
                "correlationId": envelope.correlation_id,
            },
        )
        with invocation:
            try:
                acted = self._apply_in(database, subscription, envelope)
            except Exception as error:
                observability.count("ConsumerRecordsFailed")
                invocation.finish(logging.ERROR, outcome="failed", error=type(error).__name__)
                raise
            if not acted:
                observability.count("InboxDuplicatesSkipped")
            invocation.finish(outcome="applied" if acted else "duplicate")
        return acted

    def _apply_in(
        self, database: Database, subscription: Subscription, envelope: Envelope[Any]
    ) -> int:
        def work(uow: UnitOfWork) -> int:
            claimed = uow.execute(
                _CLAIM,
                event_id=envelope.event_id,
                handler=subscription.handler,
                event_type=envelope.event_type,
            )
            if not claimed:
                uow.commit()
                return 0
            subscription.apply(uow, envelope)
            uow.commit()
            return 1

        return database.transaction(work)

    def apply_within(self, uow: UnitOfWork, event: dict[str, Any]) -> int:
        """Apply one EventBridge event inside the caller's transaction (a rebuild of the read
        model, ``lms_platform.rebuild``): what ``deliver`` does, each handler claiming its
        inbox row, without a transaction of its own. An error fails the caller's whole
        transaction. How many handlers acted."""
        key = (str(event.get("source")), str(event.get("detail-type")))
        acted = 0
        for subscription in self._by_type.get(key, []):
            envelope = Envelope[subscription.event].model_validate(event["detail"])  # type: ignore[name-defined]
            token = context.correlation_id.set(envelope.correlation_id)
            try:
                claimed = uow.execute(
                    _CLAIM,
                    event_id=envelope.event_id,
                    handler=subscription.handler,
                    event_type=envelope.event_type,
                )
                if claimed:
                    subscription.apply(uow, envelope)
                    acted += 1
            finally:
                context.correlation_id.reset(token)
        return acted

    @property
    def task_names(self) -> list[str]:
        return list(self._tasks)

    def run_task(self, task: Task, lambda_context: Any = None) -> None:
        """Run one task with the time the invocation has left (a task it does not know fails)."""
        found = self._tasks.get(task.name)
        if found is None:
            raise LookupError(f"no handler for the task {task.name!r}")
        token = context.correlation_id.set(task.correlation_id)
        invocation = observability.Invocation(
            "task",
            task.service,
            "consumer",
            fields={
                "task": task.name,
                "taskId": str(task.id),
                "correlationId": task.correlation_id,
            },
        )
        try:
            with invocation:
                try:
                    found.run(TaskContext.for_invocation(task, lambda_context))
                except Exception as error:
                    observability.count("ConsumerRecordsFailed")
                    invocation.finish(logging.ERROR, outcome="failed", error=type(error).__name__)
                    raise
                invocation.finish(outcome="done")
        finally:
            context.correlation_id.reset(token)

    def record_handler(self, record: SQSRecord, lambda_context: Any = None) -> None:
        body = json.loads(record.body)
        task = parse_task(body)
        if task is not None:
            self.run_task(task, lambda_context)
            return
        self.deliver(body)

    def handler(self, event: dict[str, Any], lambda_context: Any) -> dict[str, Any]:
        """The Lambda entry point for an SQS event source with ReportBatchItemFailures."""
        processor = BatchProcessor(event_type=EventType.SQS)
        return process_partial_response(  # type: ignore[return-value]
            event=event,
            record_handler=self.record_handler,
            processor=processor,
            context=lambda_context,
        )
