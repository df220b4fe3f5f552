"""The User service's use cases: each one unit of work, its events in the same transaction.

Sessions: a login starts a session and hands out a short-lived access token (a JWT the
gateway verifies alone, so it cannot be recalled) and an opaque refresh token (random,
stored only as its SHA-256). Refreshing spends the presented token and hands out the
next one of the same session; presenting a spent token again is taken as theft (a
racing duplicate cannot be told from a replay) and ends the whole session (RFC 9700,
refresh token rotation). Suspending a user, taking a role away and changing the
password end every session of the user at once, so access ends when the access tokens
already out expire: within one access-token lifetime.

Guessing: see ``lockout`` for the rule. Every path that hashes a password (login,
registration, a password change) takes its attempt's place first, so a locked account or
address costs no argon2 work.
"""

from __future__ import annotations

import hashlib
import json
import secrets
import uuid
from collections.abc import Callable
from typing import Any

from functions.user import lockout, store
from functions.user.models import (
    CreateOrganization,
    Organization,
    OrganizationPage,
    Profile,
    RegisterUser,
    Role,
    Tokens,
    UpdateOrganization,
    UpdateProfile,
    User,
    UserPage,
    UserStatus,
    normalize_email,
)
from lms_events import user as events
from lms_events.envelope import EventData
from lms_platform import auth, observability
from lms_platform.db import Row, UnitOfWork
from lms_platform.http import (
    Conflict,
    Forbidden,
    NotFound,
    Principal,
    Problem,
    TooManyRequests,
    Unauthorized,
)
from lms_platform.settings import get_settings

# Offset pages are for small admin lists only: deep offsets are refused, not slowly served.
MAX_PAGE_SIZE = 100
MAX_OFFSET = 10_000


class EmailTaken(Conflict):
    title = "Email already registered"


class SlugTaken(Conflict):
    title = "Slug already in use"


class InvalidCredentials(Unauthorized):
    title = "Invalid credentials"


class InvalidRefreshToken(Unauthorized):
    title = "Invalid refresh token"


class AccountSuspended(Problem):
    status, title = 403, "Account suspended"


class WrongPassword(Forbidden):
    title = "Current password is wrong"


class PasswordChangedMeanwhile(Conflict):
    title = "Password changed meanwhile"


class TooManyAttempts(TooManyRequests):
    """429; the answer carries ``Retry-After`` (seconds)."""

    title = "Too many attempts"

    def __init__(self, retry_after: int) -> None:
        super().__init__(
            f"too many failed attempts; try again in {retry_after} seconds",
            retry_after=retry_after,
        )
        self.retry_after = retry_after


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


def _require_active(row: Row) -> None:
    if row["status"] != "ACTIVE":
        raise AccountSuspended("this account is suspended")


# --- guessing -------------------------------------------------------------------------------


def _take_attempt(scopes: list[tuple[str, str]]) -> None:
    """Count one attempt against each ``(scope, key)`` before any password is hashed, or
    refuse it (429, nothing changed) while one of them is locked."""

    def work(uow: UnitOfWork) -> None:
        names, keys = [s for s, _ in scopes], [k for _, k in scopes]
        rows = uow.fetch(store.CLAIM_ATTEMPTS, scopes=names, keys=keys)
        now = max(r["now"] for r in rows)  # after every lock was taken
        decisions = [lockout.decide(r, now) for r in rows]
        refused = [d.retry_after for d in decisions if isinstance(d, lockout.Refused)]
        if refused:
            raise TooManyAttempts(max(refused))  # rolled back: a refusal counts nothing
        counted = [d for d in decisions if isinstance(d, lockout.Counted)]
        uow.execute(
            store.COUNT_ATTEMPTS,
            scopes=[c.scope for c in counted],
            keys=[c.key for c in counted],
            failures=[c.failures for c in counted],
            locked_until=[c.locked_until for c in counted],
            at=now,
        )
        uow.commit()

    store.db().transaction(work)


def _login_scopes(email: str, address: str | None) -> list[tuple[str, str]]:
    scopes = [(lockout.ACCOUNT.scope, email)]
    if address is not None:
        scopes.append((lockout.ADDRESS.scope, address))
    return scopes


def clear_login_lock(user_id: uuid.UUID) -> None:
    """An administrator lifts the user's lock (and forgets the account's failures)."""
    row = store.db().read_one(store.CLEAR_LOGIN_LOCK, id=user_id)
    if row is None or not row["users"]:
        raise UserNotFound(f"no user {user_id}")


# --- accounts -------------------------------------------------------------------------------


def register(command: RegisterUser, *, address: str | None = None) -> User:
    """A new STUDENT. A taken email is refused before hashing and counts as a failure of
    the address (registering is how one would probe which emails have accounts)."""
    if address is not None:
        _take_attempt([(lockout.ADDRESS.scope, address)])
    taken = store.db().read_one(store.EMAIL_TAKEN, email=command.email)
    if taken is not None and taken["taken"]:
        raise EmailTaken("an account with this email already exists")
    return _create_user(
        command.email, command.password, command.display_name, ["STUDENT"], address=address
    )


def _create_user(
    email: str, password: str, display_name: str, roles: list[str], *, address: str | None = None
) -> User:
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
        if address is not None:
            uow.execute(store.RELEASE_ADDRESS, address=address)
        user = _user(row)
        uow.outbox.add(
            events.UserRegistered(
                user_id=user.id,
                email=user.email,
                display_name=user.profile.display_name,
                roles=user.roles,
                version=1,
            ),
            aggregate_id=user.id,
        )
        uow.commit()
        return user

    user = store.db().transaction(work)
    observability.count("UsersRegistered")
    return user


def login(email: str, password: str, *, address: str | None = None) -> Tokens:
    """Tokens for a right email and password. The attempt is counted first (429 while the
    account or the address is locked); a wrong password and an unknown email get the same
    401 after the same work."""
    email = normalize_email(email)
    _take_attempt(_login_scopes(email, address))
    row = store.db().read_one(store.LOGIN_BY_EMAIL, email=email)
    if not auth.verify_password(row["password_hash"] if row else None, password) or row is None:
        raise InvalidCredentials("the email or password is wrong")

    def work(uow: UnitOfWork) -> Tokens:
        # The password was right: not a guess, whatever comes next.
        uow.execute(store.SETTLE_SUCCESS, account=email, address=address)
        if row["status"] != "ACTIVE":
            uow.commit()
            raise AccountSuspended("this account is suspended")
        tokens = _start_session(uow, row["id"], row["roles"], row["email"])
        uow.commit()
        return tokens

    return store.db().transaction(work)


def _new_refresh_token() -> tuple[str, bytes]:
    token = secrets.token_urlsafe(32)  # 256 random bits
    return token, _digest(token)


def _digest(token: str) -> bytes:
    return hashlib.sha256(token.encode()).digest()


def _tokens(user_id: uuid.UUID, roles: list[str], email: str, refresh_token: str) -> Tokens:
    access = auth.issue_token(user_id, roles or [], email)
    return Tokens(
        access_token=access.access_token,
        expires_in=access.expires_in,
        refresh_token=refresh_token,
        refresh_expires_in=get_settings().refresh_token_ttl_seconds,
    )


def _start_session(uow: UnitOfWork, user_id: uuid.UUID, roles: list[str], email: str) -> Tokens:
    refresh_token, digest = _new_refresh_token()
    uow.execute(
        store.START_SESSION,
        session_id=uuid.uuid4(),
        user_id=user_id,
        token_id=uuid.uuid4(),
        token_hash=digest,
        ttl=get_settings().refresh_token_ttl_seconds,
    )
    return _tokens(user_id, roles, email, refresh_token)


def refresh(refresh_token: str) -> Tokens:
    """The next tokens of the session, with the user's roles as they are now. The
    presented token is spent; presented again, it ends the session."""

    def work(uow: UnitOfWork) -> Tokens:
        row = uow.fetch_one(store.LOCK_REFRESH_TOKEN, token_hash=_digest(refresh_token))
        if row is None or row["revoked_at"] is not None or row["expired"]:
            raise InvalidRefreshToken("the refresh token is unknown, expired or revoked")
        if row["spent_at"] is not None or row["status"] != "ACTIVE":
            reason = "REUSE" if row["spent_at"] is not None else "SUSPENDED"
            uow.execute(store.REVOKE_SESSION, session_id=row["session_id"], reason=reason)
            uow.commit()  # the revocation stands although the answer is an error
            raise InvalidRefreshToken("the refresh token is no longer valid; log in again")
        uow.execute(store.SPEND_REFRESH_TOKEN, id=row["id"])
        next_token, digest = _new_refresh_token()
        uow.execute(
            store.NEXT_REFRESH_TOKEN,
            id=uuid.uuid4(),
            session_id=row["session_id"],
            token_hash=digest,
            ttl=get_settings().refresh_token_ttl_seconds,
        )
        uow.commit()
        return _tokens(row["user_id"], row["roles"], row["email"], next_token)

    return store.db().transaction(work)


def logout(refresh_token: str) -> None:
    """End the session of the token. Unknown, spent or already revoked: nothing to do, and
    the same answer (RFC 7009), so it tells nothing about the token."""
    store.db().execute(
        store.REVOKE_SESSION_OF_TOKEN, token_hash=_digest(refresh_token), reason="LOGOUT"
    )


def change_password(
    caller: Principal, current_password: str, new_password: str, *, address: str | None = None
) -> Tokens:
    """A new password: every session of the user ends, and the caller gets the first
    tokens of a new one (so the device that changed it stays signed in, no other does).
    The current password is checked under the same limits as a login."""
    row = store.db().read_one(store.CREDENTIALS_BY_ID, id=caller.user_id)
    if row is None:
        raise UserNotFound("the caller's account no longer exists")
    _require_active(row)
    _take_attempt(_login_scopes(row["email"], address))
    if not auth.verify_password(row["password_hash"], current_password):
        raise WrongPassword("the current password is not right")
    new_hash = auth.hash_password(new_password)

    def work(uow: UnitOfWork) -> Tokens:
        changed = uow.execute(
            store.SET_PASSWORD, id=row["id"], old_hash=row["password_hash"], new_hash=new_hash
        )
        if not changed:
            raise PasswordChangedMeanwhile("the password was changed by another request")
        uow.execute(store.REVOKE_USER_SESSIONS, user_id=row["id"], reason="PASSWORD_CHANGED")
        uow.execute(store.SETTLE_SUCCESS, account=row["email"], address=address)
        tokens = _start_session(uow, row["id"], row["roles"], row["email"])
        uow.commit()
        return tokens

    return store.db().transaction(work)


def get_user(user_id: uuid.UUID) -> User:
    row = store.db().read_one(store.USER_BY_ID, id=user_id)
    if row is None:
        raise UserNotFound(f"no user {user_id}")
    return _user(row)


def me(caller: Principal) -> User:
    """The caller's account. The row is read anyway, so a suspended account is refused at
    once rather than when its access token expires."""
    user = get_user(caller.user_id)
    if user.status != "ACTIVE":
        raise AccountSuspended("this account is suspended")
    return user


def update_profile(caller: Principal, change: UpdateProfile) -> User:
    fields = change.model_fields_set

    def work(uow: UnitOfWork) -> User:
        row = uow.fetch_one(store.USER_BY_ID_FOR_UPDATE, id=caller.user_id)
        if row is None:
            raise UserNotFound("the caller's account no longer exists")
        _require_active(row)
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


# What a change of status or roles announces, given the user's state after it (its new
# version, status and roles); None when the change changed nothing.
Announce = Callable[[Row], EventData]


def _change_user(user_id: uuid.UUID, change: Callable[[UnitOfWork], Announce | None]) -> User:
    """Lock the user, apply ``change``; when it changed something, raise the user's
    version and publish what it announces; commit; the user after it."""

    def work(uow: UnitOfWork) -> User:
        if uow.fetch_one(store.USER_BY_ID_FOR_UPDATE, id=user_id) is None:
            raise UserNotFound(f"no user {user_id}")
        announce = change(uow)
        if announce is not None:
            state = uow.fetch_one(store.NEXT_VERSION, id=user_id)
            assert state is not None
            uow.outbox.add(announce(state), aggregate_id=user_id)
        row = uow.fetch_one(store.USER_BY_ID, id=user_id)
        uow.commit()
        assert row is not None
        return _user(row)

    return store.db().transaction(work)


def _state(state: Row) -> dict[str, Any]:
    return {"version": state["version"], "status": state["status"], "roles": state["roles"]}


def set_status(caller: Principal, user_id: uuid.UUID, status: UserStatus) -> User:
    """Activate or suspend; suspending ends every session of the user at once."""
    if user_id == caller.user_id and status != "ACTIVE":
        raise Conflict("an administrator cannot suspend their own account")

    def change(uow: UnitOfWork) -> Announce | None:
        if not uow.execute(store.SET_STATUS, id=user_id, status=status):
            return None
        if status == "SUSPENDED":
            uow.execute(store.REVOKE_USER_SESSIONS, user_id=user_id, reason="SUSPENDED")
        return lambda state: events.UserStatusChanged(
            user_id=user_id, changed_by=caller.user_id, **_state(state)
        )

    return _change_user(user_id, change)


def assign_role(caller: Principal | None, user_id: uuid.UUID, role: Role) -> User:
    """Give ``user_id`` the role; a repeat changes nothing and emits nothing. The role is in
    the user's tokens from their next refresh."""

    def change(uow: UnitOfWork) -> Announce | None:
        if not uow.execute(store.ASSIGN_ROLE, user_id=user_id, role=role):
            return None
        assigned_by = caller.user_id if caller else None
        return lambda state: events.RoleAssigned(
            user_id=user_id, role=role, assigned_by=assigned_by, **_state(state)
        )

    return _change_user(user_id, change)


def revoke_role(caller: Principal, user_id: uuid.UUID, role: Role) -> User:
    """Take the role away; every session of the user ends, so no refresh renews it."""
    if user_id == caller.user_id and role == "ADMIN":
        raise Conflict("an administrator cannot revoke their own ADMIN role")

    def change(uow: UnitOfWork) -> Announce | None:
        if not uow.execute(store.REVOKE_ROLE, user_id=user_id, role=role):
            return None
        uow.execute(store.REVOKE_USER_SESSIONS, user_id=user_id, reason="ROLE_REVOKED")
        return lambda state: events.RoleRevoked(
            user_id=user_id, role=role, revoked_by=caller.user_id, **_state(state)
        )

    return _change_user(user_id, change)


def create_admin(email: str, password: str, display_name: str) -> User:
    """The first administrator, from the command line (never from an open endpoint).

    A new email becomes an ADMIN account; an existing account is given the ADMIN role and
    keeps its password.
    """
    normalized = normalize_email(email)
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
