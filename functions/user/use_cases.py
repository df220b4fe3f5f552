"""The User service's use cases: each one unit of work, its events in the same transaction."""

from __future__ import annotations

import json
import uuid
from collections.abc import Callable
from typing import Any

from functions.user import store
from functions.user.models import (
    AccessToken,
    CreateOrganization,
    Organization,
    OrganizationPage,
    Profile,
    RegisterUser,
    Role,
    UpdateOrganization,
    UpdateProfile,
    User,
    UserPage,
    UserStatus,
)
from lms_events import user as events
from lms_platform import auth, observability
from lms_platform.db import Row, UnitOfWork
from lms_platform.http import Conflict, Forbidden, NotFound, Principal, Problem, Unauthorized

# Offset pages are for small admin lists only: deep offsets are refused, not slowly served.
MAX_PAGE_SIZE = 100
MAX_OFFSET = 10_000


class EmailTaken(Conflict):
    title = "Email already registered"


class SlugTaken(Conflict):
    title = "Slug already in use"


class InvalidCredentials(Unauthorized):
    title = "Invalid credentials"


class AccountSuspended(Problem):
    status, title = 403, "Account suspended"


class UserNotFound(NotFound):
    title = "User not found"


class OrganizationNotFound(NotFound):
    title = "Organization not found"


def _user(row: Row) -> User:
    return User(
        id=row["id"],
        email=row["email"],
        status=row["status"],
        roles=list(row["roles"] or []),
        profile=Profile(
            display_name=row["display_name"], avatar_url=row["avatar_url"], bio=row["bio"]
        ),
        created_at=row["created_at"],
        updated_at=row["updated_at"],
    )


def _organization(row: Row) -> Organization:
    return Organization.model_validate(row)


# --- accounts -------------------------------------------------------------------------------


def register(command: RegisterUser) -> User:
    return _create_user(command.email, command.password, command.display_name, ["STUDENT"])


def _create_user(email: str, password: str, display_name: str, roles: list[str]) -> User:
    password_hash = auth.hash_password(password)  # slow on purpose: outside the transaction

    def work(uow: UnitOfWork) -> User:
        row = uow.fetch_one(
            store.REGISTER,
            id=uuid.uuid4(),
            profile_id=uuid.uuid4(),
            email=email,
            password_hash=password_hash,
            display_name=display_name,
            roles=roles,
        )
        if row is None:
            raise EmailTaken("an account with this email already exists")
        user = _user(row)
        uow.outbox.add(
            events.UserRegistered(
                user_id=user.id,
                email=user.email,
                display_name=user.profile.display_name,
                roles=user.roles,
            ),
            aggregate_id=user.id,
        )
        uow.commit()
        return user

    user = store.db().transaction(work)
    observability.count("UsersRegistered")
    return user


def login(email: str, password: str) -> AccessToken:
    row = store.db().read_one(store.LOGIN_BY_EMAIL, email=email.strip().lower())
    # The same work and the same answer whether the email is unknown or the password wrong.
    if not auth.verify_password(row["password_hash"] if row else None, password) or row is None:
        raise InvalidCredentials("the email or password is wrong")
    if row["status"] != "ACTIVE":
        raise AccountSuspended("this account is suspended")
    token = auth.issue_token(row["id"], row["roles"] or [], row["email"])
    return AccessToken(access_token=token.access_token, expires_in=token.expires_in)


def get_user(user_id: uuid.UUID) -> User:
    row = store.db().read_one(store.USER_BY_ID, id=user_id)
    if row is None:
        raise UserNotFound(f"no user {user_id}")
    return _user(row)


def me(caller: Principal) -> User:
    # A token outlives nothing: an account deleted since it was issued is simply not found.
    return get_user(caller.user_id)


def update_profile(caller: Principal, change: UpdateProfile) -> User:
    fields = change.model_fields_set

    def work(uow: UnitOfWork) -> User:
        row = uow.fetch_one(store.USER_BY_ID_FOR_UPDATE, id=caller.user_id)
        if row is None:
            raise UserNotFound("the caller's account no longer exists")
        profile = uow.fetch_one(
            store.UPDATE_PROFILE,
            user_id=caller.user_id,
            display_name=change.display_name,
            set_avatar="avatar_url" in fields,
            avatar_url=str(change.avatar_url) if change.avatar_url else None,
            set_bio="bio" in fields,
            bio=change.bio,
        )
        assert profile is not None
        user = _user({**row, **profile})
        uow.outbox.add(
            events.ProfileUpdated(
                user_id=user.id,
                display_name=user.profile.display_name,
                avatar_url=user.profile.avatar_url,
                bio=user.profile.bio,
            ),
            aggregate_id=user.id,
        )
        uow.commit()
        return user

    return store.db().transaction(work)


# --- administration ---------------------------------------------------------------------


def list_users(*, limit: int, offset: int, status: str | None) -> UserPage:
    rows = store.db().read(store.LIST_USERS, status=status, limit=limit + 1, offset=offset)
    return UserPage(
        items=[_user(r) for r in rows[:limit]],
        limit=limit,
        offset=offset,
        next_offset=offset + limit if len(rows) > limit else None,
    )


def _change_user(user_id: uuid.UUID, change: Callable[[UnitOfWork], None]) -> User:
    """Lock the user, apply ``change`` (which adds its events), commit; the user after it."""

    def work(uow: UnitOfWork) -> User:
        if uow.fetch_one(store.USER_BY_ID_FOR_UPDATE, id=user_id) is None:
            raise UserNotFound(f"no user {user_id}")
        change(uow)
        row = uow.fetch_one(store.USER_BY_ID, id=user_id)
        uow.commit()
        assert row is not None
        return _user(row)

    return store.db().transaction(work)


def set_status(caller: Principal, user_id: uuid.UUID, status: UserStatus) -> User:
    if user_id == caller.user_id and status != "ACTIVE":
        raise Conflict("an administrator cannot suspend their own account")

    def change(uow: UnitOfWork) -> None:
        if uow.execute(store.SET_STATUS, id=user_id, status=status):
            uow.outbox.add(
                events.UserStatusChanged(user_id=user_id, status=status, changed_by=caller.user_id),
                aggregate_id=user_id,
            )

    return _change_user(user_id, change)


def assign_role(caller: Principal | None, user_id: uuid.UUID, role: Role) -> User:
    """Give ``user_id`` the role; a repeat changes nothing and emits nothing."""

    def change(uow: UnitOfWork) -> None:
        if uow.execute(store.ASSIGN_ROLE, user_id=user_id, role=role):
            uow.execute(store.TOUCH_USER, id=user_id)
            assigned_by = caller.user_id if caller else None
            uow.outbox.add(
                events.RoleAssigned(user_id=user_id, role=role, assigned_by=assigned_by),
                aggregate_id=user_id,
            )

    return _change_user(user_id, change)


def revoke_role(caller: Principal, user_id: uuid.UUID, role: Role) -> User:
    if user_id == caller.user_id and role == "ADMIN":
        raise Conflict("an administrator cannot revoke their own ADMIN role")

    def change(uow: UnitOfWork) -> None:
        if uow.execute(store.REVOKE_ROLE, user_id=user_id, role=role):
            uow.execute(store.TOUCH_USER, id=user_id)
            uow.outbox.add(
                events.RoleRevoked(user_id=user_id, role=role, revoked_by=caller.user_id),
                aggregate_id=user_id,
            )

    return _change_user(user_id, change)


def create_admin(email: str, password: str, display_name: str) -> User:
    """The first administrator, from the command line (never from an open endpoint).

    A new email becomes an ADMIN account; an existing account is given the ADMIN role and
    keeps its password.
    """
    normalized = email.strip().lower()
    existing = store.db().read_one(store.LOGIN_BY_EMAIL, email=normalized)
    if existing is not None:
        return assign_role(None, existing["id"], "ADMIN")
    try:
        return _create_user(normalized, password, display_name, ["ADMIN"])
    except EmailTaken:  # registered in between: promote instead
        row = store.db().read_one(store.LOGIN_BY_EMAIL, email=normalized)
        assert row is not None
        return assign_role(None, row["id"], "ADMIN")


def require_admin(caller: Principal) -> None:
    if not caller.is_admin:
        raise Forbidden("this operation is for administrators")


# --- organizations ----------------------------------------------------------------------


def create_organization(command: CreateOrganization) -> Organization:
    def work(uow: UnitOfWork) -> Organization:
        row = uow.fetch_one(
            store.CREATE_ORGANIZATION,
            id=uuid.uuid4(),
            name=command.name,
            slug=command.slug,
            settings=json.dumps(command.settings),
        )
        if row is None:
            raise SlugTaken(f"the slug {command.slug!r} is taken")
        uow.commit()
        return _organization(row)

    return store.db().transaction(work)


def get_organization(organization_id: uuid.UUID) -> Organization:
    row = store.db().read_one(store.ORGANIZATION_BY_ID, id=organization_id)
    if row is None:
        raise OrganizationNotFound(f"no organization {organization_id}")
    return _organization(row)


def list_organizations(*, limit: int, offset: int) -> OrganizationPage:
    rows = store.db().read(store.LIST_ORGANIZATIONS, limit=limit + 1, offset=offset)
    return OrganizationPage(
        items=[_organization(r) for r in rows[:limit]],
        limit=limit,
        offset=offset,
        next_offset=offset + limit if len(rows) > limit else None,
    )


def update_organization(organization_id: uuid.UUID, change: UpdateOrganization) -> Organization:
    from lms_platform.db import is_unique_violation

    settings: Any = json.dumps(change.settings) if change.settings is not None else None

    def work(uow: UnitOfWork) -> Organization:
        row = uow.fetch_one(
            store.UPDATE_ORGANIZATION,
            id=organization_id,
            name=change.name,
            slug=change.slug,
            settings=settings,
        )
        if row is None:
            raise OrganizationNotFound(f"no organization {organization_id}")
        uow.commit()
        return _organization(row)

    try:
        return store.db().transaction(work)
    except Exception as error:
        if is_unique_violation(error, "uq_organizations_slug"):
            raise SlugTaken(f"the slug {change.slug!r} is taken") from error
        raise
