"""The Assignment service's tables, as the seed design gives them; the read models of courses
and enrollments its consumer keeps from Course and Enrollment events; outbox and inbox.

Scores are ``numeric(8, 2)``: exact, at most 999,999.99, two decimal places.

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
SCORE = sa.Numeric(8, 2)


def upgrade() -> None:
    op.create_table(
        "assignments",
        sa.Column("id", pg.UUID(as_uuid=True), primary_key=True),
        sa.Column("course_id", pg.UUID(as_uuid=True), nullable=False),
        sa.Column("lesson_id", pg.UUID(as_uuid=True)),
        sa.Column("title", sa.Text, nullable=False),
        sa.Column("description", sa.Text, nullable=False, server_default=""),
        sa.Column("due_at", sa.TIMESTAMP(timezone=True)),
        sa.Column("max_score", SCORE, nullable=False),
        # Null: any grade passes.
        sa.Column("passing_score", SCORE),
        sa.Column("created_at", sa.TIMESTAMP(timezone=True), nullable=False, server_default=NOW),
        sa.Column("updated_at", sa.TIMESTAMP(timezone=True), nullable=False, server_default=NOW),
        # Raised with every change; the assignment's events carry it.
        sa.Column("version", sa.BigInteger, nullable=False, server_default="1"),
        # Archived by its teachers: it keeps its work and takes no more.
        sa.Column("archived_at", sa.TIMESTAMP(timezone=True)),
        # What the newest Course events kept in the read model say (set by the consumer's
        # hooks, under the course row's lock): its lesson is no longer in the course; the
        # course is archived. Either closes the assignment to submissions.
        sa.Column("lesson_removed", sa.Boolean, nullable=False, server_default=sa.false()),
        sa.Column("course_archived", sa.Boolean, nullable=False, server_default=sa.false()),
        sa.CheckConstraint("max_score > 0", name="ck_assignments_max_score"),
        sa.CheckConstraint(
            "passing_score >= 0 AND passing_score <= max_score",
            name="ck_assignments_passing_score",
        ),
    )
    # The seed's assignments(course_id), extended by the keyset of a course's list.
    op.create_index("ix_assignments_course_id", "assignments", ["course_id", "created_at", "id"])

    op.create_table(
        "submissions",
        sa.Column("id", pg.UUID(as_uuid=True), primary_key=True),
        sa.Column(
            "assignment_id",
            pg.UUID(as_uuid=True),
            # No cascade: an assignment with submissions is never deleted (archived instead).
            sa.ForeignKey("assignments.id", name="fk_submissions_assignment"),
            nullable=False,
        ),
        sa.Column("user_id", pg.UUID(as_uuid=True), nullable=False),
        # The assignment's course (it never changes), for "my submissions in a course".
        sa.Column("course_id", pg.UUID(as_uuid=True), nullable=False),
        sa.Column("submitted_at", sa.TIMESTAMP(timezone=True), nullable=False, server_default=NOW),
        # {"text": ..., "links": [...]}, bounded by the request's model.
        sa.Column("content", pg.JSONB, nullable=False),
        sa.Column("status", sa.Text, nullable=False),
        # Submitted after the due date; kept when the status becomes GRADED.
        sa.Column("late", sa.Boolean, nullable=False),
        # The student's newest submission to the assignment: the one that counts.
        sa.Column("latest", sa.Boolean, nullable=False),
        # The client's Idempotency-Key and a digest of the request it came with.
        sa.Column("idempotency_key", sa.Text),
        sa.Column("request_digest", sa.Text),
        sa.CheckConstraint(
            "status IN ('SUBMITTED', 'LATE', 'GRADED')", name="ck_submissions_status"
        ),
        sa.CheckConstraint(
            "(idempotency_key IS NULL) = (request_digest IS NULL)",
            name="ck_submissions_idempotency",
        ),
        sa.UniqueConstraint(
            "user_id", "idempotency_key", name="uq_submissions_user_idempotency_key"
        ),
    )
    # The seed's submissions(assignment_id), submissions(user_id) and
    # submissions(submitted_at). The first two are extended by the keyset their lists page
    # on, newest first: an assignment's submissions, and "my submissions".
    op.create_index(
        "ix_submissions_assignment_id", "submissions", ["assignment_id", "submitted_at", "id"]
    )
    op.create_index("ix_submissions_user_id", "submissions", ["user_id", "submitted_at", "id"])
    op.create_index("ix_submissions_submitted_at", "submissions", ["submitted_at"])
    # The other shapes of the lists, each read in index order at any depth: by status, by
    # student, the latest per student (with or without a status), mine in one course.
    op.create_index(
        "ix_submissions_assignment_status",
        "submissions",
        ["assignment_id", "status", "submitted_at", "id"],
    )
    op.create_index(
        "ix_submissions_assignment_user",
        "submissions",
        ["assignment_id", "user_id", "submitted_at", "id"],
    )
    op.create_index(
        "ix_submissions_latest",
        "submissions",
        ["assignment_id", "submitted_at", "id"],
        postgresql_where=sa.text("latest"),
    )
    op.create_index(
        "ix_submissions_latest_status",
        "submissions",
        ["assignment_id", "status", "submitted_at", "id"],
        postgresql_where=sa.text("latest"),
    )
    op.create_index(
        "ix_submissions_user_course", "submissions", ["user_id", "course_id", "submitted_at", "id"]
    )
    # At most one latest submission per student and assignment.
    op.create_index(
        "uq_submissions_latest",
        "submissions",
        ["assignment_id", "user_id"],
        unique=True,
        postgresql_where=sa.text("latest"),
    )

    op.create_table(
        "grades",
        sa.Column("id", pg.UUID(as_uuid=True), primary_key=True),
        sa.Column(
            "submission_id",
            pg.UUID(as_uuid=True),
            sa.ForeignKey("submissions.id", name="fk_grades_submission"),
            nullable=False,
        ),
        sa.Column("score", SCORE, nullable=False),
        sa.Column("feedback", sa.Text, nullable=False, server_default=""),
        # Judged when graded: the score reached the assignment's passing score of that
        # moment, or it had none (SubmissionGraded says the same).
        sa.Column("passed", sa.Boolean, nullable=False),
        # Who gave the grade as it stands, and when; a regrade changes both.
        sa.Column("graded_at", sa.TIMESTAMP(timezone=True), nullable=False, server_default=NOW),
        sa.Column("graded_by", pg.UUID(as_uuid=True), nullable=False),
        # 1 for the first grade, raised by each regrade; SubmissionGraded carries it.
        sa.Column("version", sa.BigInteger, nullable=False, server_default="1"),
        sa.Column(
            "first_graded_at", sa.TIMESTAMP(timezone=True), nullable=False, server_default=NOW
        ),
        sa.CheckConstraint("score >= 0", name="ck_grades_score"),
        # One grade per submission; its index is the seed's grades(submission_id).
        sa.UniqueConstraint("submission_id", name="uq_grades_submission_id"),
    )

    # --- the read models, written only by the consumer of Course and Enrollment events ---
    courses.create_tables()
    enrollments.create_tables()

    create_outbox_and_inbox()


def downgrade() -> None:
    for table in (
        "inbox",
        "outbox",
        "enrollments",
        "course_instructors",
        "course_lessons",
        "courses",
        "grades",
        "submissions",
        "assignments",
    ):
        op.drop_table(table)
