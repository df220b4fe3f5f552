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

LOGIN_BY_EMAIL = """
SELECT u.id, u.email, u.status, u.password_hash,
  COALESCE(
    (SELECT array_agg(r.name ORDER BY r.name) FROM user_roles ur JOIN roles r ON r.id = ur.role_id
     WHERE ur.user_id = u.id),
    ARRAY[]::text[]
  ) AS roles
FROM users u
WHERE u.email = :email
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

TOUCH_USER = "UPDATE users SET updated_at = now() WHERE id = :id"

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
