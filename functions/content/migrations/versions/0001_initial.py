"""The Content service's tables, as the seed design gives them, with what its use cases need:
versions that are also upload sessions, quiz questions per version, quiz attempts; the read
models of courses and enrollments its consumer keeps; outbox and inbox.

Revision ID: 0001
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql as pg

from lms_platform.migrations import create_outbox_and_inbox
from lms_platform.read_models import courses, enrollments

revision = "0001"
down_revision = None
branch_labels = None
depends_on = None

NOW = sa.text("now()")
UUID = pg.UUID(as_uuid=True)
TS = sa.TIMESTAMP(timezone=True)


def upgrade() -> None:
    op.create_table(
        "content_items",
        sa.Column("id", UUID, primary_key=True),
        sa.Column("course_id", UUID, nullable=False),
        sa.Column("lesson_id", UUID, nullable=False),
        sa.Column("type", sa.Text, nullable=False),
        sa.Column("title", sa.Text, nullable=False),
        # The version students see (null until one is published).
        sa.Column("current_version_id", UUID),
        # Raised with each publication (ContentPublished carries it).
        sa.Column("revision", sa.BigInteger, nullable=False, server_default="0"),
        # Quizzes: the pass mark a new quiz version starts from.
        sa.Column("pass_mark_pct", sa.SmallInteger),
        # Set from Course events: the lesson was removed, or the course archived.
        sa.Column("retired_at", TS),
        sa.Column("retired_reason", sa.Text),
        sa.Column("created_by", UUID, nullable=False),
        sa.Column("created_at", TS, nullable=False, server_default=NOW),
        sa.Column("updated_at", TS, nullable=False, server_default=NOW),
        sa.CheckConstraint("type IN ('video', 'pdf', 'quiz')", name="ck_content_items_type"),
        sa.CheckConstraint(
            "(type = 'quiz') = (pass_mark_pct IS NOT NULL)"
            " AND (pass_mark_pct IS NULL OR pass_mark_pct BETWEEN 1 AND 100)",
            name="ck_content_items_pass_mark",
        ),
        sa.CheckConstraint(
            "(retired_at IS NULL) = (retired_reason IS NULL)"
            " AND (retired_reason IS NULL"
            "      OR retired_reason IN ('LESSON_REMOVED', 'COURSE_ARCHIVED'))",
            name="ck_content_items_retired",
        ),
    )
    # The seed's content_items(course_id), (lesson_id) and (type). The lesson's index also
    # carries the list's order, so a lesson's items are read in index order.
    op.create_index("ix_content_items_course_id", "content_items", ["course_id"])
    op.create_index(
        "ix_content_items_lesson_id", "content_items", ["lesson_id", "created_at", "id"]
    )
    op.create_index("ix_content_items_type", "content_items", ["type"])

    op.create_table(
        "content_versions",
        sa.Column("id", UUID, primary_key=True),
        sa.Column(
            "content_item_id",
            UUID,
            sa.ForeignKey("content_items.id", ondelete="CASCADE", name="fk_versions_item"),
            nullable=False,
        ),
        # 1, 2, 3 ... per item, in the order versions were started.
        sa.Column("version", sa.Integer, nullable=False),
        # Files: the object's key in the content bucket, and its SHA-256 (hex) as declared
        # and then verified. Null for quiz versions.
        sa.Column("storage_path", sa.Text),
        sa.Column("checksum", sa.Text),
        sa.Column("published_at", TS),
        # PENDING (uploading: the version is the upload session), READY (verified, or a
        # quiz's questions), REJECTED (the file did not match; it was deleted).
        sa.Column("status", sa.Text, nullable=False),
        sa.Column("file_name", sa.Text),
        sa.Column("mime_type", sa.Text),
        sa.Column("size_bytes", sa.BigInteger),
        sa.Column("duration_secs", sa.Integer),
        sa.Column("pass_mark_pct", sa.SmallInteger),
        sa.Column("upload_expires_at", TS),
        sa.Column("rejected_reason", sa.Text),
        sa.Column("created_by", UUID, nullable=False),
        sa.Column("created_at", TS, nullable=False, server_default=NOW),
        sa.Column("completed_at", TS),
        # The seed's content_versions(content_item_id), as this constraint's index, which
        # also serves the versions list newest first.
        sa.UniqueConstraint("content_item_id", "version", name="uq_content_versions_item_version"),
        sa.CheckConstraint(
            "status IN ('PENDING', 'READY', 'REJECTED')", name="ck_content_versions_status"
        ),
        sa.CheckConstraint(
            "published_at IS NULL OR status = 'READY'", name="ck_content_versions_published"
        ),
        sa.CheckConstraint(
            "(storage_path IS NULL) = (checksum IS NULL)"
            " AND (storage_path IS NULL OR size_bytes > 0)",
            name="ck_content_versions_file",
        ),
    )
    op.create_foreign_key(
        "fk_items_current_version",
        "content_items",
        "content_versions",
        ["current_version_id"],
        ["id"],
    )

    op.create_table(
        "content_metadata",
        sa.Column(
            "content_item_id",
            UUID,
            sa.ForeignKey("content_items.id", ondelete="CASCADE", name="fk_metadata_item"),
            primary_key=True,
        ),
        # The version these facts describe: the item's current (published) one.
        sa.Column(
            "content_version_id",
            UUID,
            sa.ForeignKey("content_versions.id", name="fk_metadata_version"),
            nullable=False,
        ),
        sa.Column("duration_secs", sa.Integer),
        sa.Column("size_bytes", sa.BigInteger),
        sa.Column("mime_type", sa.Text),
        sa.Column("question_count", sa.Integer),
        sa.Column("updated_at", TS, nullable=False, server_default=NOW),
    )

    op.create_table(
        "quiz_questions",
        sa.Column("id", UUID, primary_key=True),
        sa.Column(
            "content_item_id",
            UUID,
            sa.ForeignKey("content_items.id", ondelete="CASCADE", name="fk_questions_item"),
            nullable=False,
        ),
        # The quiz version the question belongs to: a published quiz never changes under
        # its students; new questions make a new version.
        sa.Column(
            "content_version_id",
            UUID,
            sa.ForeignKey("content_versions.id", ondelete="CASCADE", name="fk_questions_version"),
            nullable=False,
        ),
        sa.Column("question_text", sa.Text, nullable=False),
        # [{"id": "a", "text": "..."}, ...]
        sa.Column("options", pg.JSONB, nullable=False),
        sa.Column("correct_option_id", sa.Text, nullable=False),
        sa.Column("sort_order", sa.Integer, nullable=False),
        sa.UniqueConstraint(
            "content_version_id", "sort_order", name="uq_quiz_questions_version_order"
        ),
    )
    op.create_index("ix_quiz_questions_content_item_id", "quiz_questions", ["content_item_id"])

    op.create_table(
        "quiz_attempts",
        sa.Column("id", UUID, primary_key=True),
        sa.Column(
            "content_item_id",
            UUID,
            sa.ForeignKey("content_items.id", ondelete="CASCADE", name="fk_attempts_item"),
            nullable=False,
        ),
        sa.Column(
            "content_version_id",
            UUID,
            sa.ForeignKey("content_versions.id", name="fk_attempts_version"),
            nullable=False,
        ),
        sa.Column("user_id", UUID, nullable=False),
        # {"<questionId>": "<optionId>"} as answered.
        sa.Column("answers", pg.JSONB, nullable=False),
        # [{"questionId", "chosenOptionId", "correct"}] in question order.
        sa.Column("results", pg.JSONB, nullable=False),
        sa.Column("correct_count", sa.Integer, nullable=False),
        sa.Column("question_count", sa.Integer, nullable=False),
        sa.Column("score_pct", sa.Numeric(5, 2), nullable=False),
        sa.Column("pass_mark_pct", sa.SmallInteger, nullable=False),
        sa.Column("passed", sa.Boolean, nullable=False),
        sa.Column("created_at", TS, nullable=False, server_default=NOW),
        sa.CheckConstraint(
            "correct_count BETWEEN 0 AND question_count AND question_count > 0",
            name="ck_quiz_attempts_counts",
        ),
    )
    # A student's attempts at a quiz, and everyone's, newest first: keyset (created_at, id).
    op.create_index(
        "ix_quiz_attempts_item_user",
        "quiz_attempts",
        ["content_item_id", "user_id", "created_at", "id"],
    )
    op.create_index(
        "ix_quiz_attempts_item_created", "quiz_attempts", ["content_item_id", "created_at", "id"]
    )

    # --- the read models, written only by the consumer of Course and Enrollment events ----
    courses.create_tables()
    enrollments.create_tables()

    create_outbox_and_inbox()


def downgrade() -> None:
    op.drop_constraint("fk_items_current_version", "content_items", type_="foreignkey")
    for table in (
        "inbox",
        "outbox",
        "enrollments",
        "course_instructors",
        "course_lessons",
        "courses",
        "quiz_attempts",
        "quiz_questions",
        "content_metadata",
        "content_versions",
        "content_items",
    ):
        op.drop_table(table)
