"""Events of the User service (EventBridge source ``lms.user``)."""

from __future__ import annotations

import uuid
from typing import ClassVar, Literal

from lms_events.envelope import EventData

Role = Literal["STUDENT", "INSTRUCTOR", "ADMIN"]
UserStatus = Literal["ACTIVE", "SUSPENDED"]


class UserEvent(EventData):
    source: ClassVar[str] = "lms.user"


class UserRegistered(UserEvent):
    user_id: uuid.UUID
    email: str
    display_name: str
    roles: list[Role]


class ProfileUpdated(UserEvent):
    user_id: uuid.UUID
    display_name: str
    avatar_url: str | None
    bio: str | None


class RoleAssigned(UserEvent):
    user_id: uuid.UUID
    role: Role
    assigned_by: uuid.UUID | None


class RoleRevoked(UserEvent):
    user_id: uuid.UUID
    role: Role
    revoked_by: uuid.UUID | None


class UserStatusChanged(UserEvent):
    user_id: uuid.UUID
    status: UserStatus
    changed_by: uuid.UUID | None


EVENTS: tuple[type[UserEvent], ...] = (
    UserRegistered,
    ProfileUpdated,
    RoleAssigned,
    RoleRevoked,
    UserStatusChanged,
)
