"""The User service's SQL. Each read is one statement (one round trip once prepared)."""

from __future__ import annotations

from lms_platform.db import Database, database

ROLE = "lms_user"


def db() -> Database:
    return database(ROLE)


# A user with profile and roles, in one statement.
_USER_COLUMNS = """
  u.id, u.email, u.status, u.created_at, u.updated_at,
  p.display_name, p.avatar_url, p.bio,
  COALESCE(
    (SELECT array_agg(r.name ORDER BY r.name) FROM user_roles ur JOIN roles r ON r.id = ur.role_id
     WHERE ur.user_id = u.id),
    ARRAY[]::text[]
  ) AS roles
"""

USER_BY_ID = f"""
SELECT {_USER_COLUMNS}
FROM users u JOIN profiles p ON p.user_id = u.id
WHERE u.id = :id
"""

USER_BY_ID_FOR_UPDATE = f"""
SELECT {_USER_COLUMNS}
FROM users u JOIN profiles p ON p.user_id = u.id
WHERE u.id = :id
FOR UPDATE OF u
"""

_ROLES = """
  COALESCE(
    (SELECT array_agg(r.name ORDER BY r.name) FROM user_roles ur JOIN roles r ON r.id = ur.role_id
     WHERE ur.user_id = u.id),
    ARRAY[]::text[]
  ) AS roles
"""

LOGIN_BY_EMAIL = f"""
SELECT u.id, u.email, u.status, u.password_hash, {_ROLES}
FROM users u
WHERE u.email = :email
"""

CREDENTIALS_BY_ID = f"""
SELECT u.id, u.email, u.status, u.password_hash, {_ROLES}
FROM users u
WHERE u.id = :id
"""

# Registration in one statement: the user, the profile and the first role, or nothing when
# the email is taken (ON CONFLICT leaves the CTEs that depend on it empty).
REGISTER = """
WITH new_user AS (
  INSERT INTO users (id, email, password_hash)
  VALUES (:id, :email, :password_hash)
  ON CONFLICT ON CONSTRAINT uq_users_email DO NOTHING
  RETURNING id, email, status, created_at, updated_at
), new_profile AS (
  INSERT INTO profiles (id, user_id, display_name)
  SELECT :profile_id, id, :display_name FROM new_user
  RETURNING display_name, avatar_url, bio
), new_role AS (
  INSERT INTO user_roles (user_id, role_id)
  SELECT new_user.id, roles.id FROM new_user, roles WHERE roles.name = ANY(CAST(:roles AS text[]))
  RETURNING role_id
)
SELECT u.id, u.email, u.status, u.created_at, u.updated_at,
       p.display_name, p.avatar_url, p.bio, CAST(:roles AS text[]) AS roles
FROM new_user u, new_profile p
"""

UPDATE_PROFILE = """
UPDATE profiles SET
  display_name = COALESCE(:display_name, display_name),
  avatar_url = CASE WHEN :set_avatar THEN :avatar_url ELSE avatar_url END,
  bio = CASE WHEN :set_bio THEN :bio ELSE bio END,
  updated_at = now()
WHERE user_id = :user_id
RETURNING display_name, avatar_url, bio
"""

SET_STATUS = """
UPDATE users SET status = :status, updated_at = now() WHERE id = :id AND status <> :status
"""

ASSIGN_ROLE = """
INSERT INTO user_roles (user_id, role_id)
SELECT :user_id, id FROM roles WHERE name = :role
ON CONFLICT ON CONSTRAINT pk_user_roles DO NOTHING
"""

REVOKE_ROLE = """
DELETE FROM user_roles
WHERE user_id = :user_id AND role_id = (SELECT id FROM roles WHERE name = :role)
"""

# A change to the user's status or roles: the next version, and the state it names.
NEXT_VERSION = f"""
UPDATE users u SET version = version + 1, updated_at = now()
WHERE id = :id
RETURNING u.version, u.status, {_ROLES}
"""

EMAIL_TAKEN = "SELECT EXISTS (SELECT 1 FROM users WHERE email = :email) AS taken"

# Only when the hash is still the one the caller's current password was checked against:
# two changes at once cannot both win.
SET_PASSWORD = """
UPDATE users SET password_hash = :new_hash, updated_at = now()
WHERE id = :id AND password_hash = :old_hash
"""

# Offset pages for a small admin list; (created_at, id) is indexed.
LIST_USERS = f"""
SELECT {_USER_COLUMNS}
FROM users u JOIN profiles p ON p.user_id = u.id
WHERE (CAST(:status AS text) IS NULL OR u.status = CAST(:status AS text))
ORDER BY u.created_at, u.id
LIMIT :limit OFFSET :offset
"""

ORGANIZATION_COLUMNS = "id, name, slug, settings, created_at, updated_at"

CREATE_ORGANIZATION = f"""
INSERT INTO organizations (id, name, slug, settings)
VALUES (:id, :name, :slug, CAST(:settings AS jsonb))
ON CONFLICT ON CONSTRAINT uq_organizations_slug DO NOTHING
RETURNING {ORGANIZATION_COLUMNS}
"""

ORGANIZATION_BY_ID = f"SELECT {ORGANIZATION_COLUMNS} FROM organizations WHERE id = :id"

LIST_ORGANIZATIONS = f"""
SELECT {ORGANIZATION_COLUMNS} FROM organizations ORDER BY created_at, id LIMIT :limit OFFSET :offset
"""

UPDATE_ORGANIZATION = f"""
UPDATE organizations SET
  name = COALESCE(:name, name),
  slug = COALESCE(:slug, slug),
  settings = COALESCE(CAST(:settings AS jsonb), settings),
  updated_at = now()
WHERE id = :id
RETURNING {ORGANIZATION_COLUMNS}
"""

# --- sessions: refresh tokens that rotate, in families -------------------------------------

# A session and its first refresh token, in one statement.
START_SESSION = """
WITH session AS (
  INSERT INTO sessions (id, user_id) VALUES (:session_id, :user_id) RETURNING id
)
INSERT INTO refresh_tokens (id, session_id, token_hash, expires_at)
SELECT :token_id, id, :token_hash, now() + make_interval(secs => :ttl) FROM session
"""

# The presented token, its session and its user. The token and session rows are locked:
# two refreshes of one token take turns, and the second finds it spent; a revocation
# (logout, suspension) waits for a refresh under way and then ends the new token too.
LOCK_REFRESH_TOKEN = f"""
SELECT t.id, t.session_id, t.spent_at, t.expires_at <= now() AS expired,
  s.revoked_at, u.id AS user_id, u.email, u.status, {_ROLES}
FROM refresh_tokens t
JOIN sessions s ON s.id = t.session_id
JOIN users u ON u.id = s.user_id
WHERE t.token_hash = :token_hash
FOR UPDATE OF t, s
"""

SPEND_REFRESH_TOKEN = "UPDATE refresh_tokens SET spent_at = now() WHERE id = :id"

NEXT_REFRESH_TOKEN = """
INSERT INTO refresh_tokens (id, session_id, token_hash, expires_at)
VALUES (:id, :session_id, :token_hash, now() + make_interval(secs => :ttl))
"""

REVOKE_SESSION = """
UPDATE sessions SET revoked_at = now(), revoked_reason = :reason
WHERE id = :session_id AND revoked_at IS NULL
"""

REVOKE_SESSION_OF_TOKEN = """
UPDATE sessions SET revoked_at = now(), revoked_reason = :reason
WHERE id = (SELECT session_id FROM refresh_tokens WHERE token_hash = :token_hash)
  AND revoked_at IS NULL
"""

REVOKE_USER_SESSIONS = """
UPDATE sessions SET revoked_at = now(), revoked_reason = :reason
WHERE user_id = :user_id AND revoked_at IS NULL
"""

# --- login attempts (see lockout.py for the rule) ------------------------------------------

_SCOPES = "unnest(CAST(:scopes AS text[]), CAST(:keys AS text[])) AS k(scope, key)"

# The attempt's scope rows, made when first seen and locked in key order (two attempts on
# overlapping scopes cannot deadlock), as they are. DO UPDATE rather than DO NOTHING: it
# returns the row and holds its lock even when many first attempts arrive at once; the
# clock is read once the lock is held, since waiting for it may take a while.
CLAIM_ATTEMPTS = f"""
INSERT INTO login_attempts AS a (scope, key)
SELECT scope, key FROM {_SCOPES} ORDER BY scope, key
ON CONFLICT ON CONSTRAINT pk_login_attempts DO UPDATE SET failures = a.failures
RETURNING a.scope, a.key, a.failures, a.locked_until, a.last_failed_at, clock_timestamp() AS now
"""

COUNT_ATTEMPTS = """
UPDATE login_attempts a SET failures = c.failures, locked_until = c.locked_until,
  last_failed_at = :at
FROM unnest(CAST(:scopes AS text[]), CAST(:keys AS text[]), CAST(:failures AS int[]),
            CAST(:locked_until AS timestamptz[])) AS c(scope, key, failures, locked_until)
WHERE a.scope = c.scope AND a.key = c.key
"""

# A successful login: its account starts over, and its address gets back the attempt it
# was charged in advance.
SETTLE_SUCCESS = """
WITH account AS (
  DELETE FROM login_attempts WHERE scope = 'ACCOUNT' AND key = :account
)
UPDATE login_attempts SET failures = greatest(failures - 1, 0)
WHERE scope = 'ADDRESS' AND key = :address
"""

RELEASE_ADDRESS = """
UPDATE login_attempts SET failures = greatest(failures - 1, 0)
WHERE scope = 'ADDRESS' AND key = :address
"""

# An administrator lifts a user's lock: 1 when the user exists (lock or not), else 0.
CLEAR_LOGIN_LOCK = """
WITH target AS (
  SELECT email FROM users WHERE id = :id
), cleared AS (
  DELETE FROM login_attempts a USING target
  WHERE a.scope = 'ACCOUNT' AND a.key = target.email
)
SELECT count(*) AS users FROM target
"""
