"""The Analytics service's consumer (SQS batches from its queue, fed by one rule on every
``lms.`` source): every event kept and counted once (``counting``), Course events also into
its read model of courses (who teaches what, for the course routes), and the rebuild's
tasks (``rebuild``).

The handler names are the inbox's keys: ``(event_id, handler)`` records that an effect
happened. They must never change, or a redelivered event would be applied again.
"""

from __future__ import annotations

import logging
from typing import Any, ClassVar

from pydantic import ConfigDict, ValidationError

from functions.analytics import counting, rebuild, store
from functions.analytics.service import SERVICE
from lms_events.envelope import Envelope, EventData
from lms_platform.inbox import EventConsumer, Subscription
from lms_platform.read_models import courses
from lms_platform.tasks import TaskHandler

logger = logging.getLogger(__name__)

COURSE_HANDLERS = courses.HandlerNames(
    header="analytics.course-header",
    outline="analytics.course-outline",
    instructors="analytics.course-instructors",
)
COUNT_HANDLER = "analytics.count"


class UnknownEvent(EventData):
    """An event of a type this code does not know yet (a newer service's): kept as it came."""

    model_config = ConfigDict(extra="allow", frozen=True)
    source: ClassVar[str] = "lms."


class AnalyticsConsumer(EventConsumer):
    """Hands the counting the event exactly as it arrived, for its snapshot; keeps events of
    types it does not know as snapshots too (nothing counts them until a rule does)."""

    def deliver(self, event: dict[str, Any]) -> int:
        detail = event.get("detail")
        token = counting.raw_detail.set(detail if isinstance(detail, dict) else None)
        try:
            known = (str(event.get("source")), str(event.get("detail-type"))) in self._by_type
            if known or not str(event.get("source", "")).startswith("lms."):
                return super().deliver(event)
            try:
                envelope = Envelope[UnknownEvent].model_validate(detail)
            except ValidationError:
                logger.info(
                    "not an event envelope; ignored", extra={"event_type": event.get("detail-type")}
                )
                return 0
            return self._apply_once(
                Subscription(UnknownEvent, COUNT_HANDLER, counting.apply), envelope
            )
        finally:
            counting.raw_detail.reset(token)


consumer = AnalyticsConsumer(
    store.db,
    [
        *(Subscription(event, COUNT_HANDLER, counting.apply) for event in SERVICE.consumes),
        *courses.subscriptions(COURSE_HANDLERS),
    ],
    tasks=[TaskHandler(rebuild.TASK, rebuild.run)],
)

handler = consumer.handler
