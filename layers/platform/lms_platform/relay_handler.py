"""The scheduled relay of one service (``LMS_SERVICE``): sends what its outbox still holds,
and reports the backlog it leaves (``OutboxUnpublished``, ``OutboxOldestUnpublishedAgeSeconds``)
so that an alarm can say when events stop leaving."""

from __future__ import annotations

from typing import Any

from lms_platform import observability
from lms_platform.db import database
from lms_platform.outbox import backlog, relay
from lms_platform.settings import get_settings


def handler(event: dict[str, Any], lambda_context: Any) -> dict[str, Any]:
    service = get_settings().service
    if not service:
        raise RuntimeError("LMS_SERVICE names the service whose outbox this relay sweeps")
    with observability.Invocation("job", service, "relay") as invocation:
        db = database(f"lms_{service}")
        sent = relay(db)
        left, oldest = backlog(db)
        observability.gauge("OutboxUnpublished", left)
        observability.gauge("OutboxOldestUnpublishedAgeSeconds", oldest, "Seconds")
        invocation.finish(published=sent, unpublished=left, oldestAgeSeconds=oldest)
    return {"published": sent, "unpublished": left, "oldestAgeSeconds": oldest}
