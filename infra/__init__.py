"""The CDK app: network, data, events, API, and one construct per declared service.

The app reads the service declarations (``functions.registry.SERVICES``) and the shared
names (``lms_platform.topology``), so the platform and event packages must be importable
even when the project is not installed (``python -m infra.app`` from a fresh clone).
"""

from __future__ import annotations

import sys
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent

for _source in (REPO / "layers" / "platform", REPO / "events", REPO):
    if str(_source) not in sys.path:
        sys.path.append(str(_source))
