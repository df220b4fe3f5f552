"""The Course service's tables, as the seed design gives them, plus outbox and inbox.

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
        "courses",
        sa.Column("id", pg.UUID(as_uuid=True), primary_key=True),
        sa.Column("title", sa.Text, nullable=False),
        sa.Column("slug", sa.Text, nullable=False),
        sa.Column("description", sa.Text),
        sa.Column("status", sa.Text, nullable=False, server_default="DRAFT"),
        # Raised by every change to the course (under the row's lock) and carried by every
        # event, so consumers can tell a newer fact from a late one.
        sa.Column("version", sa.BigInteger, nullable=False, server_default="0"),
        sa.Column("created_at", sa.TIMESTAMP(timezone=True), nullable=False, server_default=NOW),
        sa.Column("updated_at", sa.TIMESTAMP(timezone=True), nullable=False, server_default=NOW),
        # courses(slug) is served by this constraint's index.
        sa.UniqueConstraint("slug", name="uq_courses_slug"),
        sa.CheckConstraint(
            "status IN ('DRAFT', 'PUBLISHED', 'ARCHIVED')", name="ck_courses_status"
        ),
    )
    op.create_index("ix_courses_status", "courses", ["status"])
    op.create_index("ix_courses_created_at", "courses", ["created_at"])
    # The catalog: published courses newest first, keyset on (created_at, id). Partial, so
    # it holds the catalog alone, in the catalog's order.
    op.create_index(
        "ix_courses_published_created_at_id",
        "courses",
        ["created_at", "id"],
        postgresql_where=sa.text("status = 'PUBLISHED'"),
    )

    op.create_table(
        "modules",
        sa.Column("id", pg.UUID(as_uuid=True), primary_key=True),
        sa.Column(
            "course_id",
            pg.UUID(as_uuid=True),
            sa.ForeignKey("courses.id", ondelete="CASCADE", name="fk_modules_course"),
            nullable=False,
        ),
        sa.Column("title", sa.Text, nullable=False),
        sa.Column("sort_order", sa.Integer, nullable=False),
        sa.CheckConstraint("sort_order >= 0", name="ck_modules_sort_order"),
        # Checked at commit, so a reorder may pass through duplicates inside its statement.
        sa.UniqueConstraint(
            "course_id",
            "sort_order",
            name="uq_modules_course_sort_order",
            deferrable=True,
            initially="DEFERRED",
        ),
    )
    op.create_index("ix_modules_course_id", "modules", ["course_id"])

    op.create_table(
        "lessons",
        sa.Column("id", pg.UUID(as_uuid=True), primary_key=True),
        sa.Column(
            "module_id",
            pg.UUID(as_uuid=True),
            sa.ForeignKey("modules.id", ondelete="CASCADE", name="fk_lessons_module"),
            nullable=False,
        ),
        sa.Column("title", sa.Text, nullable=False),
        sa.Column("type", sa.Text, nullable=False),
        sa.Column("duration_minutes", sa.Integer),
        sa.Column("sort_order", sa.Integer, nullable=False),
        sa.CheckConstraint(
            "type IN ('video', 'pdf', 'quiz', 'text', 'assignment')", name="ck_lessons_type"
        ),
        sa.CheckConstraint("duration_minutes >= 0", name="ck_lessons_duration"),
        sa.CheckConstraint("sort_order >= 0", name="ck_lessons_sort_order"),
        sa.UniqueConstraint(
            "module_id",
            "sort_order",
            name="uq_lessons_module_sort_order",
            deferrable=True,
            initially="DEFERRED",
        ),
    )
    op.create_index("ix_lessons_module_id", "lessons", ["module_id"])

    op.create_table(
        "course_instructors",
        sa.Column(
            "course_id",
            pg.UUID(as_uuid=True),
            sa.ForeignKey("courses.id", ondelete="CASCADE", name="fk_course_instructors_course"),
            nullable=False,
        ),
        sa.Column("user_id", pg.UUID(as_uuid=True), nullable=False),
        sa.Column("role", sa.Text, nullable=False),
        sa.Column("assigned_at", sa.TIMESTAMP(timezone=True), nullable=False, server_default=NOW),
        sa.PrimaryKeyConstraint("course_id", "user_id", name="pk_course_instructors"),
        sa.CheckConstraint("role IN ('OWNER', 'INSTRUCTOR')", name="ck_course_instructors_role"),
    )
    # "Courses I teach" looks instructors up by user.
    op.create_index("ix_course_instructors_user_id", "course_instructors", ["user_id"])

    create_outbox_and_inbox()


def downgrade() -> None:
    for table in ("inbox", "outbox", "course_instructors", "lessons", "modules", "courses"):
        op.drop_table(table)
