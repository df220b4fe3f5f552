"""The deployment's migration function (``functions.migrate.handler``).

Every declared service, handed to the platform's bootstrap (``lms_platform.deploy.run``):
the handler lives here, beside the registry, because the platform must not import the
services it serves. Only this function's asset carries every service's package, their
migrations and SQLAlchemy with Alembic.
"""

from __future__ import annotations

from typing import Any

from functions.registry import SERVICES
from lms_platform import deploy


def handler(event: dict[str, Any], lambda_context: Any) -> dict[str, Any]:
    # By hand (``lms rebuild-read-model --aws``): one consumer's read model from a replay.
    if isinstance(event, dict) and event.get("rebuildReadModel"):
        return deploy.rebuild_read_model(SERVICES, str(event["rebuildReadModel"]))
    return deploy.run(SERVICES)
