"""The Enrollment service's tables, as the seed design gives them; the read model of
courses its consumer keeps from Course events; outbox and inbox.

Revision ID: 0001
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql as pg

from lms_platform.migrations import create_outbox_and_inbox
from lms_platform.read_models import courses

revision = "0001"
down_revision = None
branch_labels = None
depends_on = None

NOW = sa.text("now()")


def upgrade() -> None:
    op.create_table(
        "enrollments",
        sa.Column("id", pg.UUID(as_uuid=True), primary_key=True),
        sa.Column("user_id", pg.UUID(as_uuid=True), nullable=False),
        sa.Column("course_id", pg.UUID(as_uuid=True), nullable=False),
        sa.Column("status", sa.Text, nullable=False, server_default="ACTIVE"),
        sa.Column("progress_pct", sa.Numeric(5, 2), nullable=False, server_default="0"),
        sa.Column("completed_at", sa.TIMESTAMP(timezone=True)),
        sa.Column("enrolled_at", sa.TIMESTAMP(timezone=True), nullable=False, server_default=NOW),
        sa.Column("updated_at", sa.TIMESTAMP(timezone=True), nullable=False, server_default=NOW),
        # enrollments(user_id, course_id) is served by this constraint's index.
        sa.UniqueConstraint("user_id", "course_id", name="uq_enrollments_user_course"),
        sa.CheckConstraint(
            "status IN ('ACTIVE', 'COMPLETED', 'CANCELLED')", name="ck_enrollments_status"
        ),
        sa.CheckConstraint(
            "progress_pct >= 0 AND progress_pct <= 100", name="ck_enrollments_progress"
        ),
    )
    # The seed's enrollments(user_id, status) and enrollments(course_id), each extended by
    # the keyset of the list that filters on them, so that a page is read in index order:
    # "my enrollments" with a status, and a course's enrollments, (enrolled_at, id) newest
    # first.
    op.create_index(
        "ix_enrollments_user_status", "enrollments", ["user_id", "status", "enrolled_at", "id"]
    )
    op.create_index("ix_enrollments_course_id", "enrollments", ["course_id", "enrolled_at", "id"])
    # "My enrollments" without a status filter.
    op.create_index("ix_enrollments_user_enrolled", "enrollments", ["user_id", "enrolled_at", "id"])

    op.create_table(
        "lesson_progress",
        sa.Column("id", pg.UUID(as_uuid=True), primary_key=True),
        sa.Column(
            "enrollment_id",
            pg.UUID(as_uuid=True),
            sa.ForeignKey(
                "enrollments.id", ondelete="CASCADE", name="fk_lesson_progress_enrollment"
            ),
            nullable=False,
        ),
        sa.Column("lesson_id", pg.UUID(as_uuid=True), nullable=False),
        # Null while the lesson is started but not finished.
        sa.Column("completed_at", sa.TIMESTAMP(timezone=True)),
        sa.Column("updated_at", sa.TIMESTAMP(timezone=True), nullable=False, server_default=NOW),
        # lesson_progress(enrollment_id) is served by this constraint's index.
        sa.UniqueConstraint(
            "enrollment_id", "lesson_id", name="uq_lesson_progress_enrollment_lesson"
        ),
    )

    # --- the read model of courses, written only by the consumer of Course events ---------
    courses.create_tables()

    create_outbox_and_inbox()


def downgrade() -> None:
    for table in (
        "inbox",
        "outbox",
        "course_instructors",
        "course_lessons",
        "courses",
        "lesson_progress",
        "enrollments",
    ):
        op.drop_table(table)
