"""The User service's request and response bodies (camelCase on the wire)."""

from __future__ import annotations

import unicodedata
import uuid
from datetime import datetime
from typing import Annotated, Any, Literal

from pydantic import AfterValidator, Field, HttpUrl

from lms_platform.http import ApiModel, JsonObject

Role = Literal["STUDENT", "INSTRUCTOR", "ADMIN"]
UserStatus = Literal["ACTIVE", "SUSPENDED"]

# Limits keep hashing cost bounded and reject what no person types.
Password = Annotated[str, Field(min_length=12, max_length=128)]
DisplayName = Annotated[str, Field(min_length=1, max_length=100)]
Slug = Annotated[str, Field(min_length=2, max_length=64, pattern=r"^[a-z0-9]+(?:-[a-z0-9]+)*$")]


EMAIL_MAX_LENGTH = 254


def normalize_email(value: str) -> str:
    """The form emails are stored and compared in: NFKC, case-folded (Unicode's
    NFKC_Casefold in effect), so that ``ADA@example.com`` and the same letters written
    full-width (U+FF21...) are the same account."""
    folded = unicodedata.normalize("NFKC", unicodedata.normalize("NFKC", value).casefold())
    return folded.strip()


# The shape is checked on the email as sent -- the rule the API document states, so that
# every address it admits is accepted and no other -- and the address is then stored and
# compared in its folded form. The at sign and the dot may be written in their full-width or
# small forms (what NFKC folds to "@" and "."), so a look-alike written wholly in full-width
# letters is taken, and found to be the same account. A plain shape check: deliverability is
# proven by mail, not by a regex or a DNS lookup. "\s" is not the same set in every regex
# dialect (U+0085 is whitespace to the server's engine, not to ECMAScript's that clients
# read the document with; U+001C-U+001F and U+FEFF differ too): the pattern names them, so
# it means one thing everywhere.
_AT = r"@\uff20\ufe6b"
_DOT = r".\uff0e\ufe52"
_NOT_IN_EMAIL = rf"{_AT}\s\x1c-\x1f\x85\ufeff"
Email = Annotated[
    str,
    Field(
        max_length=EMAIL_MAX_LENGTH,
        pattern=rf"^[^{_NOT_IN_EMAIL}]+[{_AT}][^{_NOT_IN_EMAIL}]+[{_DOT}][^{_NOT_IN_EMAIL}]+$",
    ),
    AfterValidator(normalize_email),
]


class RegisterUser(ApiModel):
    email: Email
    password: Password
    display_name: DisplayName


class Login(ApiModel):
    email: Annotated[str, Field(min_length=1, max_length=EMAIL_MAX_LENGTH)]
    password: Annotated[str, Field(min_length=1, max_length=128)]


# A refresh token is 43 URL-safe characters; a little room, and nothing else is read.
RefreshTokenText = Annotated[str, Field(min_length=1, max_length=128)]


class Refresh(ApiModel):
    refresh_token: RefreshTokenText


class Logout(ApiModel):
    refresh_token: RefreshTokenText


class ChangePassword(ApiModel):
    current_password: Annotated[str, Field(min_length=1, max_length=128)]
    new_password: Password


class Tokens(ApiModel):
    """A token response: a short-lived access token and the refresh token that renews it."""

    access_token: str
    token_type: Literal["Bearer"] = "Bearer"  # noqa: S105 (a scheme name, not a secret)
    expires_in: int = Field(description="seconds the access token is valid")
    refresh_token: str
    refresh_expires_in: int = Field(description="seconds the refresh token is valid unused")


class Profile(ApiModel):
    display_name: str
    avatar_url: str | None = None
    bio: str | None = None


class User(ApiModel):
    id: uuid.UUID
    email: str
    status: UserStatus
    roles: list[Role]
    profile: Profile
    created_at: datetime
    updated_at: datetime


class UpdateProfile(ApiModel):
    display_name: DisplayName | None = None
    avatar_url: HttpUrl | None = None
    bio: Annotated[str, Field(max_length=2000)] | None = None


class UpdateUser(ApiModel):
    status: UserStatus


class UserPage(ApiModel):
    items: list[User]
    limit: int
    offset: int
    next_offset: int | None


class CreateOrganization(ApiModel):
    name: Annotated[str, Field(min_length=1, max_length=200)]
    slug: Slug
    settings: JsonObject = Field(default_factory=dict)


class UpdateOrganization(ApiModel):
    name: Annotated[str, Field(min_length=1, max_length=200)] | None = None
    slug: Slug | None = None
    settings: JsonObject | None = None


class Organization(ApiModel):
    id: uuid.UUID
    name: str
    slug: str
    settings: dict[str, Any]
    created_at: datetime
    updated_at: datetime


class OrganizationPage(ApiModel):
    items: list[Organization]
    limit: int
    offset: int
    next_offset: int | None
