"""The scheduled job: payments left without an answer settled by asking the gateway,
expired idempotency keys and old gateway events forgotten (``use_cases.reconcile``)."""

from __future__ import annotations

import logging
from typing import Any

from functions.payment import use_cases
from lms_platform import observability


def handler(event: dict[str, Any] | None, lambda_context: Any) -> dict[str, int]:
    with observability.Invocation("job", "payment", "reconcile_payments") as invocation:
        try:
            counts = use_cases.reconcile()
        except Exception as error:
            invocation.finish(logging.ERROR, outcome="failed", error=type(error).__name__)
            raise
        invocation.finish(outcome="done", **counts)
    return counts
