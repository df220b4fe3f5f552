"""The User service's tables, as the seed design gives them, plus outbox and inbox.

Revision ID: 0001
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql as pg

from lms_platform.migrations import create_outbox_and_inbox

revision = "0001"
down_revision = None
branch_labels = None
depends_on = None

NOW = sa.text("now()")


def upgrade() -> None:
    op.create_table(
        "users",
        sa.Column("id", pg.UUID(as_uuid=True), primary_key=True),
        # Stored lower-cased, so uniqueness holds in any letter case.
        sa.Column("email", sa.Text, nullable=False),
        sa.Column("password_hash", sa.Text, nullable=False),
        sa.Column("status", sa.Text, nullable=False, server_default="ACTIVE"),
        sa.Column("created_at", sa.TIMESTAMP(timezone=True), nullable=False, server_default=NOW),
        sa.Column("updated_at", sa.TIMESTAMP(timezone=True), nullable=False, server_default=NOW),
        sa.UniqueConstraint("email", name="uq_users_email"),
        sa.CheckConstraint("email = lower(email)", name="ck_users_email_lower"),
        sa.CheckConstraint("status IN ('ACTIVE', 'SUSPENDED')", name="ck_users_status"),
    )
    # users(email) is served by the unique constraint's index.
    op.create_index("ix_users_status", "users", ["status"])
    # The admin list pages in (created_at, id) order.
    op.create_index("ix_users_created_at_id", "users", ["created_at", "id"])

    op.create_table(
        "profiles",
        sa.Column("id", pg.UUID(as_uuid=True), primary_key=True),
        sa.Column(
            "user_id",
            pg.UUID(as_uuid=True),
            sa.ForeignKey("users.id", ondelete="CASCADE", name="fk_profiles_user"),
            nullable=False,
        ),
        sa.Column("display_name", sa.Text, nullable=False),
        sa.Column("avatar_url", sa.Text),
        sa.Column("bio", sa.Text),
        sa.Column("updated_at", sa.TIMESTAMP(timezone=True), nullable=False, server_default=NOW),
        # profiles(user_id) is served by this constraint's index.
        sa.UniqueConstraint("user_id", name="uq_profiles_user_id"),
    )

    op.create_table(
        "roles",
        sa.Column("id", pg.UUID(as_uuid=True), primary_key=True),
        sa.Column("name", sa.Text, nullable=False),
        sa.Column("description", sa.Text, nullable=False),
        sa.UniqueConstraint("name", name="uq_roles_name"),
    )
    op.execute(
        """
        INSERT INTO roles (id, name, description) VALUES
          (gen_random_uuid(), 'STUDENT', 'Enrolls in courses and completes lessons'),
          (gen_random_uuid(), 'INSTRUCTOR', 'Creates and teaches courses'),
          (gen_random_uuid(), 'ADMIN', 'Manages users, roles and organizations')
        """
    )

    op.create_table(
        "user_roles",
        sa.Column(
            "user_id",
            pg.UUID(as_uuid=True),
            sa.ForeignKey("users.id", ondelete="CASCADE", name="fk_user_roles_user"),
            nullable=False,
        ),
        sa.Column(
            "role_id",
            pg.UUID(as_uuid=True),
            sa.ForeignKey("roles.id", name="fk_user_roles_role"),
            nullable=False,
        ),
        sa.Column("assigned_at", sa.TIMESTAMP(timezone=True), nullable=False, server_default=NOW),
        # user_roles(user_id) is served by the primary key's index (user_id first).
        sa.PrimaryKeyConstraint("user_id", "role_id", name="pk_user_roles"),
    )

    op.create_table(
        "organizations",
        sa.Column("id", pg.UUID(as_uuid=True), primary_key=True),
        sa.Column("name", sa.Text, nullable=False),
        sa.Column("slug", sa.Text, nullable=False),
        sa.Column("settings", pg.JSONB, nullable=False, server_default=sa.text("'{}'::jsonb")),
        sa.Column("created_at", sa.TIMESTAMP(timezone=True), nullable=False, server_default=NOW),
        sa.Column("updated_at", sa.TIMESTAMP(timezone=True), nullable=False, server_default=NOW),
        sa.UniqueConstraint("slug", name="uq_organizations_slug"),
    )
    op.create_index("ix_organizations_created_at_id", "organizations", ["created_at", "id"])

    create_outbox_and_inbox()


def downgrade() -> None:
    for table in ("inbox", "outbox", "organizations", "user_roles", "roles", "profiles", "users"):
        op.drop_table(table)
