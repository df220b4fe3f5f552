"""The scheduled relay of one service (``LMS_SERVICE``): sends what its outbox still holds."""

from __future__ import annotations

import logging
from typing import Any

from lms_platform.db import database
from lms_platform.outbox import relay
from lms_platform.settings import get_settings

logger = logging.getLogger(__name__)


def handler(event: dict[str, Any], lambda_context: Any) -> dict[str, int]:
    service = get_settings().service
    if not service:
        raise RuntimeError("LMS_SERVICE names the service whose outbox this relay sweeps")
    sent = relay(database(f"lms_{service}"))
    if sent:
        logger.info("relay published events", extra={"service": service, "count": sent})
    return {"published": sent}
