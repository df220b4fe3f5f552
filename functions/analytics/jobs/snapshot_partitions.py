"""The scheduled job: the snapshots' monthly partitions made ahead, those past retention
dropped (``partitions.maintain``)."""

from __future__ import annotations

import logging
from typing import Any

from functions.analytics import partitions
from lms_platform import observability


def handler(event: dict[str, Any] | None, lambda_context: Any) -> dict[str, int]:
    with observability.Invocation("job", "analytics", "snapshot_partitions") as invocation:
        try:
            counts = partitions.maintain()
        except Exception as error:
            invocation.finish(logging.ERROR, outcome="failed", error=type(error).__name__)
            raise
        invocation.finish(outcome="done", **counts)
    return counts
