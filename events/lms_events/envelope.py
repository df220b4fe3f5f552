"""The envelope every event travels in (EventBridge ``Detail``), and the base of event data."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime
from typing import Any, ClassVar, Generic, TypeVar

from pydantic import BaseModel, ConfigDict, Field
from pydantic.alias_generators import to_camel


class CamelModel(BaseModel):
    """JSON in camelCase, Python in snake_case."""

    model_config = ConfigDict(alias_generator=to_camel, populate_by_name=True, frozen=True)


class EventData(CamelModel):
    """The ``data`` of one kind of event. Subclasses name their type, version and source."""

    event_type: ClassVar[str]
    event_version: ClassVar[int] = 1
    source: ClassVar[str]  # EventBridge Source, ``lms.<service>``

    def __init_subclass__(cls, **kwargs: Any) -> None:
        super().__init_subclass__(**kwargs)
        if "event_type" not in cls.__dict__:
            cls.event_type = cls.__name__


D = TypeVar("D", bound=EventData)


class Envelope(CamelModel, Generic[D]):
    event_id: uuid.UUID
    event_type: str
    event_version: int = Field(ge=1)
    occurred_at: datetime
    aggregate_id: str
    correlation_id: str | None = None
    data: D

    @classmethod
    def wrap(
        cls, data: D, *, aggregate_id: object, correlation_id: str | None = None
    ) -> Envelope[D]:
        model: Any = Envelope[type(data)]  # type: ignore[misc]
        return model(  # type: ignore[no-any-return]
            event_id=uuid.uuid4(),
            event_type=data.event_type,
            event_version=data.event_version,
            occurred_at=datetime.now(UTC),
            aggregate_id=str(aggregate_id),
            correlation_id=correlation_id,
            data=data,
        )

    @property
    def source(self) -> str:
        return self.data.source

    def detail_json(self) -> str:
        return self.model_dump_json(by_alias=True)
