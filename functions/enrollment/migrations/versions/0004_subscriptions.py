"""What paying buys: the courses that require a subscription, and who is subscribed until when.

- ``courses.requires_subscription``: the read model of courses keeps it (the shared model's
  own helper, as every service that keeps the model does).
- ``subscription_periods``: one row per paid invoice (``InvoicePaid`` from the Payment
  service), the span it covers; a user is subscribed while any of their rows covers now.

Revision ID: 0004
Revises: 0003
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql as pg

from lms_platform.read_models import courses

revision = "0004"
down_revision = "0003"
branch_labels = None
depends_on = None


def upgrade() -> None:
    courses.add_requires_subscription()
    op.create_table(
        "subscription_periods",
        sa.Column("invoice_id", pg.UUID(as_uuid=True), primary_key=True),
        sa.Column("user_id", pg.UUID(as_uuid=True), nullable=False),
        sa.Column("plan_id", pg.UUID(as_uuid=True), nullable=False),
        sa.Column("plan_interval", sa.Text, nullable=False),
        sa.Column("paid_at", sa.TIMESTAMP(timezone=True), nullable=False),
        # Null: for ever (a plan paid ``once``).
        sa.Column("covers_until", sa.TIMESTAMP(timezone=True)),
        sa.Column(
            "applied_at",
            sa.TIMESTAMP(timezone=True),
            nullable=False,
            server_default=sa.text("now()"),
        ),
        sa.CheckConstraint(
            "plan_interval IN ('month', 'year', 'once')", name="ck_subscription_periods_interval"
        ),
        sa.CheckConstraint(
            "(plan_interval = 'once') = (covers_until IS NULL)",
            name="ck_subscription_periods_covers_until",
        ),
    )
    # Is this user subscribed now (when enrolling): their few periods, by the index.
    op.create_index(
        "ix_subscription_periods_user", "subscription_periods", ["user_id", "covers_until"]
    )


def downgrade() -> None:
    op.drop_table("subscription_periods")
    op.drop_column("courses", "requires_subscription")
