"""Every event of every service, and the JSON Schemas generated from them."""

from __future__ import annotations

import json
from pathlib import Path

from lms_events import assignment, content, course, enrollment, payment, user
from lms_events.envelope import Envelope, EventData

ALL_EVENTS: tuple[type[EventData], ...] = (
    *user.EVENTS,
    *course.EVENTS,
    *enrollment.EVENTS,
    *content.EVENTS,
    *assignment.EVENTS,
    *payment.EVENTS,
)

SCHEMA_DIR = Path(__file__).resolve().parent.parent / "schemas"


def schema_path(event: type[EventData]) -> Path:
    return SCHEMA_DIR / event.source / f"{event.event_type}.v{event.event_version}.json"


def schema_of(event: type[EventData]) -> str:
    schema = Envelope[event].model_json_schema(by_alias=True)  # type: ignore[valid-type]
    schema["title"] = f"{event.event_type} v{event.event_version}"
    schema["$id"] = f"urn:lms:event:{event.source}:{event.event_type}:v{event.event_version}"
    return json.dumps(schema, indent=2, sort_keys=True) + "\n"


def write_schemas() -> list[Path]:
    written = []
    for event in ALL_EVENTS:
        path = schema_path(event)
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(schema_of(event))
        written.append(path)
    return written


def stale_schemas() -> list[Path]:
    """Schema files that differ from what the models generate now (or are missing)."""
    return [
        schema_path(e)
        for e in ALL_EVENTS
        if not schema_path(e).exists() or schema_path(e).read_text() != schema_of(e)
    ]


if __name__ == "__main__":
    for path in write_schemas():
        print(path)
