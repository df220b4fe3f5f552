"""Progress recomputed in chunks after a course's lessons change, and enrollments versioned.

- ``enrollments.version``: raised with every change of an enrollment; its events carry it.
- ``ix_enrollments_course_keyset``: a course's enrollments in id order, the recompute's
  keyset; and room on each page for updated rows.
- ``outline_recomputes``: per course, the recompute under way (or the last one done): for
  which lesson list, how far, and which task may continue it.

Revision ID: 0003
Revises: 0002
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql as pg

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None

NOW = sa.text("now()")


def upgrade() -> None:
    # A constant default: PostgreSQL adds the column without rewriting the table.
    op.add_column(
        "enrollments", sa.Column("version", sa.BigInteger, nullable=False, server_default="1")
    )
    op.create_index("ix_enrollments_course_keyset", "enrollments", ["course_id", "id"])
    # Room on each page for a row's next version: a recompute or a completion rewrites the
    # row without touching an indexed column, and with room on its page PostgreSQL does it
    # without new entries in the table's six indexes (a HOT update; ~30% more enrollments
    # recomputed per second in ``make bench-recompute``). Pages written from now on.
    op.execute("ALTER TABLE enrollments SET (fillfactor = 85)")
    op.create_table(
        "outline_recomputes",
        sa.Column("course_id", pg.UUID(as_uuid=True), primary_key=True),
        # The course's outline version whose lessons the enrollments are being brought to.
        sa.Column("outline_version", sa.BigInteger, nullable=False),
        # The task entitled to continue; any other (a repeat, an older one) stops.
        sa.Column("task_id", pg.UUID(as_uuid=True), nullable=False),
        # The keyset: every enrollment of the course with an id up to this one is done.
        # The nil UUID (before every other) until the first chunk.
        sa.Column("after_enrollment_id", pg.UUID(as_uuid=True), nullable=False),
        sa.Column("chunks", sa.Integer, nullable=False, server_default="0"),
        # The size of the last chunk (sizes follow the time chunks take).
        sa.Column("chunk_size", sa.Integer),
        sa.Column("enrollments", sa.BigInteger, nullable=False, server_default="0"),
        sa.Column("changed", sa.BigInteger, nullable=False, server_default="0"),
        sa.Column("started_at", sa.TIMESTAMP(timezone=True), nullable=False, server_default=NOW),
        sa.Column("updated_at", sa.TIMESTAMP(timezone=True), nullable=False, server_default=NOW),
        sa.Column("finished_at", sa.TIMESTAMP(timezone=True)),
    )
    # The operator's view: the recomputes still running.
    op.create_index(
        "ix_outline_recomputes_running",
        "outline_recomputes",
        ["started_at"],
        postgresql_where=sa.text("finished_at IS NULL"),
    )


def downgrade() -> None:
    op.drop_table("outline_recomputes")
    op.execute("ALTER TABLE enrollments RESET (fillfactor)")
    op.drop_index("ix_enrollments_course_keyset", "enrollments")
    op.drop_column("enrollments", "version")
