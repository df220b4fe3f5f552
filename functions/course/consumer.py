"""The Course service's consumer of User events (SQS batches from its queue).

The handler name is the inbox's key: ``(event_id, handler)`` records that an effect
happened. It must never change, or a redelivered event would be applied again.
"""

from __future__ import annotations

from functions.course import read_model, store
from lms_events import user as events
from lms_platform.inbox import EventConsumer, Subscription

USERS = "course.users"

consumer = EventConsumer(
    store.db, [Subscription(event, USERS, read_model.apply_user) for event in events.STATE_EVENTS]
)

handler = consumer.handler
