"""A course may require a subscription of those who enroll (``requires_subscription``).

Revision ID: 0004
Revises: 0003
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0004"
down_revision = "0003"
branch_labels = None
depends_on = None


def upgrade() -> None:
    # A constant default: PostgreSQL adds the column without rewriting the table, and every
    # existing course stays open to all, as it was.
    op.add_column(
        "courses",
        sa.Column("requires_subscription", sa.Boolean, nullable=False, server_default=sa.false()),
    )


def downgrade() -> None:
    op.drop_column("courses", "requires_subscription")
