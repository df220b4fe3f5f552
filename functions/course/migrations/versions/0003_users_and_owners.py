"""The Course service's read model of users (status and roles, from User events), and one
owner per course.

Revision ID: 0003
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql as pg

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None


def upgrade() -> None:
    # Who may be made an instructor: a user the User service announced, ACTIVE, holding
    # INSTRUCTOR. Kept with the user's version that set it; a lower version changes nothing.
    op.create_table(
        "users",
        sa.Column("id", pg.UUID(as_uuid=True), primary_key=True),
        sa.Column("status", sa.Text, nullable=False),
        sa.Column("roles", pg.ARRAY(sa.Text), nullable=False),
        sa.Column("version", sa.BigInteger, nullable=False),
        sa.Column(
            "updated_at",
            sa.TIMESTAMP(timezone=True),
            nullable=False,
            server_default=sa.text("now()"),
        ),
        sa.CheckConstraint("status IN ('ACTIVE', 'SUSPENDED')", name="ck_users_status"),
    )

    # A course made before owners were guarded may have lost its owner: its longest-serving
    # instructor takes the part.
    op.execute(
        """
        UPDATE course_instructors ci SET role = 'OWNER'
        FROM (
          SELECT DISTINCT ON (course_id) course_id, user_id FROM course_instructors c
          WHERE NOT EXISTS (SELECT 1 FROM course_instructors o
                            WHERE o.course_id = c.course_id AND o.role = 'OWNER')
          ORDER BY course_id, assigned_at, user_id
        ) heir
        WHERE ci.course_id = heir.course_id AND ci.user_id = heir.user_id
        """
    )
    op.create_index(
        "uq_course_instructors_owner",
        "course_instructors",
        ["course_id"],
        unique=True,
        postgresql_where=sa.text("role = 'OWNER'"),
    )


def downgrade() -> None:
    op.drop_index("uq_course_instructors_owner", "course_instructors")
    op.drop_table("users")
