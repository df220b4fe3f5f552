"""The Course service's read model of users, kept from User events only.

A user's status and roles are kept with the user's version that set them (the User
service raises it with every change of status or roles, and each such event carries the
whole state as of its version); an event older than the kept state changes nothing. So
the read model ends the same whatever order the events arrive in and however often.
"""

from __future__ import annotations

import logging
from typing import Any

from functions.course import store
from lms_events import user as events
from lms_events.envelope import Envelope
from lms_platform.db import UnitOfWork

logger = logging.getLogger(__name__)


def apply_user(uow: UnitOfWork, envelope: Envelope[Any]) -> None:
    data = envelope.data
    if isinstance(data, events.UserRegistered):
        # A registration is the user's first version, whether or not it says so.
        status, roles, version = "ACTIVE", data.roles, data.version or 1
    else:
        status, roles, version = data.status, data.roles, data.version
    if roles is None or version is None:
        # Published before events carried the user's state: it cannot be placed in order.
        logger.warning(
            "user event without the user's version or state; skipped",
            extra={"event_id": str(envelope.event_id), "event_type": envelope.event_type},
        )
        return
    uow.execute(store.APPLY_USER, id=data.user_id, status=status, roles=roles, version=version)
