"""The Payment service's tables: the seed's plans, invoices and payments; the idempotency
records of retried requests; the gateway's events as received (its inbox); outbox and inbox.

Revision ID: 0001
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql as pg

from lms_platform.migrations import create_outbox_and_inbox

revision = "0001"
down_revision = None
branch_labels = None
depends_on = None

NOW = sa.text("now()")
UUID = pg.UUID(as_uuid=True)
TS = sa.TIMESTAMP(timezone=True)
# Money: numeric, never a float; the currency says how many of its decimals are used.
MONEY = sa.Numeric(19, 4)
CURRENCY_CHECK = "currency ~ '^[A-Z]{3}$'"


def upgrade() -> None:
    op.create_table(
        "plans",
        sa.Column("id", UUID, primary_key=True),
        sa.Column("name", sa.Text, nullable=False),
        sa.Column("price", MONEY, nullable=False),
        sa.Column("currency", sa.Text, nullable=False),
        sa.Column("interval", sa.Text, nullable=False),
        sa.Column("features", pg.JSONB, nullable=False, server_default=sa.text("'[]'::jsonb")),
        sa.Column("status", sa.Text, nullable=False, server_default="ACTIVE"),
        sa.Column("created_at", TS, nullable=False, server_default=NOW),
        sa.Column("updated_at", TS, nullable=False, server_default=NOW),
        sa.CheckConstraint("price > 0", name="ck_plans_price"),
        sa.CheckConstraint(CURRENCY_CHECK, name="ck_plans_currency"),
        sa.CheckConstraint("interval IN ('month', 'year', 'once')", name="ck_plans_interval"),
        sa.CheckConstraint("status IN ('ACTIVE', 'ARCHIVED')", name="ck_plans_status"),
    )
    # The public list: active plans, newest first, in keyset pages.
    op.create_index(
        "ix_plans_active_created",
        "plans",
        ["created_at", "id"],
        postgresql_where=sa.text("status = 'ACTIVE'"),
    )

    op.create_table(
        "invoices",
        sa.Column("id", UUID, primary_key=True),
        sa.Column("user_id", UUID, nullable=False),
        sa.Column(
            "plan_id", UUID, sa.ForeignKey("plans.id", name="fk_invoices_plan"), nullable=False
        ),
        # The plan as it was when the invoice was made: a later change of the plan does not
        # change what this invoice charges or buys.
        sa.Column("plan_name", sa.Text, nullable=False),
        sa.Column("plan_interval", sa.Text, nullable=False),
        sa.Column("amount", MONEY, nullable=False),
        sa.Column("currency", sa.Text, nullable=False),
        sa.Column("status", sa.Text, nullable=False, server_default="OPEN"),
        sa.Column("due_at", TS, nullable=False),
        sa.Column("paid_at", TS),
        sa.Column("paid_by", UUID),  # the payment that paid it
        sa.Column("voided_at", TS),
        sa.Column("voided_by", UUID),
        sa.Column("created_at", TS, nullable=False, server_default=NOW),
        sa.Column("updated_at", TS, nullable=False, server_default=NOW),
        sa.CheckConstraint("amount > 0", name="ck_invoices_amount"),
        sa.CheckConstraint(CURRENCY_CHECK, name="ck_invoices_currency"),
        sa.CheckConstraint("status IN ('OPEN', 'PAID', 'VOID')", name="ck_invoices_status"),
        sa.CheckConstraint(
            "(status = 'PAID') = (paid_at IS NOT NULL AND paid_by IS NOT NULL)",
            name="ck_invoices_paid",
        ),
    )
    # The seed's invoices(user_id), extended by the keyset of "my invoices" (newest first),
    # and the same with a status filter.
    op.create_index("ix_invoices_user_id", "invoices", ["user_id", "created_at", "id"])
    op.create_index(
        "ix_invoices_user_status", "invoices", ["user_id", "status", "created_at", "id"]
    )

    op.create_table(
        "payments",
        sa.Column("id", UUID, primary_key=True),
        sa.Column(
            "invoice_id",
            UUID,
            sa.ForeignKey("invoices.id", name="fk_payments_invoice"),
            nullable=False,
        ),
        sa.Column("user_id", UUID, nullable=False),
        # The key this payment is known by here and at the gateway (the gateway's
        # idempotency key of the PaymentIntent's creation); see use_cases.
        sa.Column("idempotency_key", sa.Text, nullable=False),
        sa.Column("status", sa.Text, nullable=False, server_default="PROCESSING"),
        sa.Column("amount", MONEY, nullable=False),
        sa.Column("currency", sa.Text, nullable=False),
        sa.Column("payment_method", sa.Text, nullable=False),
        # The PaymentIntent; null until the gateway has answered its creation.
        sa.Column("gateway_id", sa.Text),
        sa.Column("gateway_status", sa.Text),
        sa.Column("failure_code", sa.Text),
        sa.Column("decline_code", sa.Text),
        sa.Column("failure_message", sa.Text),
        sa.Column("next_action", pg.JSONB),
        sa.Column("client_secret", sa.Text),
        sa.Column("created_at", TS, nullable=False, server_default=NOW),
        sa.Column("updated_at", TS, nullable=False, server_default=NOW),
        sa.Column("settled_at", TS),
        # The seed's unique idempotency_key; its index is payments(idempotency_key).
        sa.UniqueConstraint("idempotency_key", name="uq_payments_idempotency_key"),
        sa.UniqueConstraint("gateway_id", name="uq_payments_gateway_id"),
        sa.CheckConstraint(
            "status IN ('PROCESSING', 'REQUIRES_ACTION', 'SUCCEEDED', 'FAILED')",
            name="ck_payments_status",
        ),
    )
    op.create_index("ix_payments_invoice_id", "payments", ["invoice_id", "created_at"])
    # At most one attempt in flight per invoice: the database itself refuses a second.
    op.create_index(
        "uq_payments_one_live_per_invoice",
        "payments",
        ["invoice_id"],
        unique=True,
        postgresql_where=sa.text("status IN ('PROCESSING', 'REQUIRES_ACTION')"),
    )
    # What the reconciliation job looks for.
    op.create_index(
        "ix_payments_unsettled",
        "payments",
        ["updated_at"],
        postgresql_where=sa.text("status IN ('PROCESSING', 'REQUIRES_ACTION')"),
    )

    # Stripe's idempotency semantics for retried requests (use_cases, "Idempotency").
    op.create_table(
        "idempotency_keys",
        sa.Column("user_id", UUID, nullable=False),
        sa.Column("key", sa.Text, nullable=False),
        # Names this use of the key (made anew when an expired key is used again): the
        # payment's idempotency key here and at the gateway is made from it.
        sa.Column("id", UUID, nullable=False),
        # The request the key was first used with (operation, target, body), hashed.
        sa.Column("fingerprint", sa.Text, nullable=False),
        # While set and in the future, a request holding the key is running.
        sa.Column("locked_until", TS),
        # The first final answer, replayed to every retry with the same request.
        sa.Column("response_status", sa.SmallInteger),
        sa.Column("response_body", sa.Text),
        sa.Column("created_at", TS, nullable=False, server_default=NOW),
        sa.Column("expires_at", TS, nullable=False),
        sa.PrimaryKeyConstraint("user_id", "key", name="pk_idempotency_keys"),
        sa.UniqueConstraint("id", name="uq_idempotency_keys_id"),
    )
    op.create_index("ix_idempotency_keys_expires_at", "idempotency_keys", ["expires_at"])

    # The gateway's webhook events: each applied once, whatever the gateway resends.
    op.create_table(
        "gateway_events",
        sa.Column("id", sa.Text, primary_key=True),
        sa.Column("type", sa.Text, nullable=False),
        sa.Column("object_id", sa.Text),
        # applied | ignored (a type not acted on) | unknown_payment | stale (changed nothing)
        sa.Column("outcome", sa.Text, nullable=False),
        sa.Column("received_at", TS, nullable=False, server_default=NOW),
    )
    op.create_index("ix_gateway_events_received_at", "gateway_events", ["received_at"])

    create_outbox_and_inbox()


def downgrade() -> None:
    for table in (
        "inbox",
        "outbox",
        "gateway_events",
        "idempotency_keys",
        "payments",
        "invoices",
        "plans",
    ):
        op.drop_table(table)
