"""The read model of courses keeps whether enrolling needs a subscription (the shared model's
own helper, as every service that keeps the model does).

Revision ID: 0003
Revises: 0002
"""

from __future__ import annotations

from alembic import op

from lms_platform.read_models import courses

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None


def upgrade() -> None:
    courses.add_requires_subscription()


def downgrade() -> None:
    op.drop_column("courses", "requires_subscription")
