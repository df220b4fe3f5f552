"""A consumer Lambda for the feeder tests: fails every event named "poison"."""

from __future__ import annotations

import json
from typing import Any

from aws_lambda_powertools.utilities.batch import (
    BatchProcessor,
    EventType,
    process_partial_response,
)
from aws_lambda_powertools.utilities.data_classes.sqs_event import SQSRecord

seen: list[str] = []


def _record(record: SQSRecord) -> None:
    name = json.loads(record.body)["detail"]["name"]
    seen.append(name)
    if name == "poison":
        raise ValueError("this event always fails")


def handler(event: dict[str, Any], context: Any) -> dict[str, Any]:
    return process_partial_response(  # type: ignore[return-value]
        event=event,
        record_handler=_record,
        processor=BatchProcessor(event_type=EventType.SQS),
        context=context,
    )
