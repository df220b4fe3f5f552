"""Events of the User service (EventBridge source ``lms.user``).

The events that change what a user may do -- ``UserRegistered``, ``RoleAssigned``,
``RoleRevoked``, ``UserStatusChanged`` -- carry the user's ``version``: a counter the User
service raises in the same transaction as each such change, under the user row's lock.
Those that change one role or the status also carry the whole state as of that version
(``status`` and every role), so a consumer keeps the state of the highest version it has
seen and is right whatever order the events arrive in. The fields are optional only so
that events published before they existed still parse.
"""

from __future__ import annotations

import uuid
from typing import ClassVar, Literal

from pydantic import Field

from lms_events.envelope import EventData

Role = Literal["STUDENT", "INSTRUCTOR", "ADMIN"]
UserStatus = Literal["ACTIVE", "SUSPENDED"]


class UserEvent(EventData):
    source: ClassVar[str] = "lms.user"


class UserRegistered(UserEvent):
    """A new account: ACTIVE, with ``roles``, at ``version`` 1."""

    user_id: uuid.UUID
    email: str
    display_name: str
    roles: list[Role]
    version: int | None = Field(default=None, ge=1)


class UserStateChange(UserEvent):
    """The user's state after the change, as of ``version``."""

    version: int | None = Field(default=None, ge=1)
    roles: list[Role] | None = None
    status: UserStatus | None = None


class ProfileUpdated(UserEvent):
    user_id: uuid.UUID
    display_name: str
    avatar_url: str | None
    bio: str | None


class RoleAssigned(UserStateChange):
    user_id: uuid.UUID
    role: Role
    assigned_by: uuid.UUID | None


class RoleRevoked(UserStateChange):
    user_id: uuid.UUID
    role: Role
    revoked_by: uuid.UUID | None


class UserStatusChanged(UserStateChange):
    user_id: uuid.UUID
    status: UserStatus  # required here, as it always was
    changed_by: uuid.UUID | None


EVENTS: tuple[type[UserEvent], ...] = (
    UserRegistered,
    ProfileUpdated,
    RoleAssigned,
    RoleRevoked,
    UserStatusChanged,
)

# The events that carry the user's version: what a read model of users' status and roles
# subscribes to.
STATE_EVENTS: tuple[type[UserEvent], ...] = (
    UserRegistered,
    RoleAssigned,
    RoleRevoked,
    UserStatusChanged,
)
