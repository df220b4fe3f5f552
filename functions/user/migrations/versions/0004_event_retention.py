"""Published outbox rows and inbox rows deleted after the retention period: the indexes
the retention job and a replay read, and how far the job has deleted.

Revision ID: 0004
Revises: 0003
"""

from __future__ import annotations

from lms_platform.migrations import add_event_retention, drop_event_retention

revision = "0004"
down_revision = "0003"
branch_labels = None
depends_on = None


def upgrade() -> None:
    add_event_retention()


def downgrade() -> None:
    drop_event_retention()
