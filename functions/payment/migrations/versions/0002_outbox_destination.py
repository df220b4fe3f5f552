"""The outbox says where each row goes: the bus (an event) or the service's own queue (a task).

Revision ID: 0002
Revises: 0001
"""

from __future__ import annotations

from alembic import op

from lms_platform.migrations import add_outbox_destination

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None


def upgrade() -> None:
    add_outbox_destination()


def downgrade() -> None:
    op.drop_column("outbox", "destination")
