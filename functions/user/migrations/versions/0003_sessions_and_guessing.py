"""Sessions (refresh tokens), login attempts, emails compared after NFKC and case folding,
and a per-user version for the events that change a user's status or roles.

Revision ID: 0003
"""

from __future__ import annotations

import unicodedata

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql as pg

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None

NOW = sa.text("now()")


def _normalize(email: str) -> str:
    # As functions.user.models.normalize_email does it today; kept here so that this
    # revision means the same thing forever.
    return unicodedata.normalize("NFKC", unicodedata.normalize("NFKC", email).casefold()).strip()


def upgrade() -> None:
    _normalize_emails()

    # Raised with every change to the user's status or roles, in the same transaction, and
    # carried by the events that announce them: consumers keep the newest.
    op.add_column("users", sa.Column("version", sa.BigInteger, nullable=False, server_default="1"))

    # A session is one login: the family of refresh tokens that rotate from it. Revoking
    # the session ends them all.
    op.create_table(
        "sessions",
        sa.Column("id", pg.UUID(as_uuid=True), primary_key=True),
        sa.Column(
            "user_id",
            pg.UUID(as_uuid=True),
            sa.ForeignKey("users.id", ondelete="CASCADE", name="fk_sessions_user"),
            nullable=False,
        ),
        sa.Column("created_at", sa.TIMESTAMP(timezone=True), nullable=False, server_default=NOW),
        sa.Column("revoked_at", sa.TIMESTAMP(timezone=True)),
        sa.Column("revoked_reason", sa.Text),
        sa.CheckConstraint(
            "revoked_reason IN ('LOGOUT', 'REUSE', 'SUSPENDED', 'ROLE_REVOKED', "
            "'PASSWORD_CHANGED')",
            name="ck_sessions_revoked_reason",
        ),
        sa.CheckConstraint(
            "(revoked_at IS NULL) = (revoked_reason IS NULL)", name="ck_sessions_revoked"
        ),
    )
    # Revoking a user's sessions reads the live ones by user.
    op.create_index(
        "ix_sessions_user_id_live",
        "sessions",
        ["user_id"],
        postgresql_where=sa.text("revoked_at IS NULL"),
    )

    op.create_table(
        "refresh_tokens",
        sa.Column("id", pg.UUID(as_uuid=True), primary_key=True),
        sa.Column(
            "session_id",
            pg.UUID(as_uuid=True),
            sa.ForeignKey("sessions.id", ondelete="CASCADE", name="fk_refresh_tokens_session"),
            nullable=False,
        ),
        # SHA-256 of the token: it is 256 random bits, so a fast hash is as good as a slow
        # one, and the token itself is never stored.
        sa.Column("token_hash", sa.LargeBinary, nullable=False),
        sa.Column("issued_at", sa.TIMESTAMP(timezone=True), nullable=False, server_default=NOW),
        sa.Column("expires_at", sa.TIMESTAMP(timezone=True), nullable=False),
        # Set when the token is exchanged for the next one: presenting it again is reuse.
        sa.Column("spent_at", sa.TIMESTAMP(timezone=True)),
        sa.UniqueConstraint("token_hash", name="uq_refresh_tokens_token_hash"),
        sa.CheckConstraint("octet_length(token_hash) = 32", name="ck_refresh_tokens_hash"),
    )
    op.create_index("ix_refresh_tokens_session_id", "refresh_tokens", ["session_id"])

    # Login attempts per account (the normalized email, whether an account has it or not)
    # and per source address, with the lock their backoff sets.
    op.create_table(
        "login_attempts",
        sa.Column("scope", sa.Text, nullable=False),
        sa.Column("key", sa.Text, nullable=False),
        sa.Column("failures", sa.Integer, nullable=False, server_default="0"),
        sa.Column("locked_until", sa.TIMESTAMP(timezone=True)),
        sa.Column("last_failed_at", sa.TIMESTAMP(timezone=True)),
        sa.PrimaryKeyConstraint("scope", "key", name="pk_login_attempts"),
        sa.CheckConstraint("scope IN ('ACCOUNT', 'ADDRESS')", name="ck_login_attempts_scope"),
        sa.CheckConstraint("failures >= 0", name="ck_login_attempts_failures"),
    )


def _normalize_emails() -> None:
    """Bring every stored email to its NFKC case-folded form.

    Two accounts whose emails become equal cannot both be kept under one address, and
    which one should is a person's decision: the migration stops and names them.
    """
    connection = op.get_bind()
    rows = connection.execute(sa.text("SELECT id, email FROM users ORDER BY created_at, id"))
    seen: dict[str, object] = {}
    changed: list[dict[str, object]] = []
    clashes: list[str] = []
    for user_id, email in rows:
        normalized = _normalize(email)
        if normalized in seen:
            clashes.append(f"{seen[normalized]} and {user_id} are both {normalized!r}")
            continue
        seen[normalized] = user_id
        if normalized != email:
            changed.append({"id": user_id, "email": normalized})
    if clashes:
        raise RuntimeError(
            "accounts whose emails are equal after NFKC normalization and case folding; "
            "change or remove one of each pair, then migrate again: " + "; ".join(clashes)
        )
    op.drop_constraint("ck_users_email_lower", "users", type_="check")
    if changed:
        # No transient duplicate either: a row changes only to a form no other row has.
        connection.execute(
            sa.text(
                "UPDATE users SET email = c.email, updated_at = now() "
                "FROM unnest(CAST(:ids AS uuid[]), CAST(:emails AS text[])) AS c(id, email) "
                "WHERE users.id = c.id"
            ),
            {"ids": [c["id"] for c in changed], "emails": [c["email"] for c in changed]},
        )
    # PostgreSQL has no case folding before version 18 and its lower() differs from
    # Unicode's folding (Cherokee folds to capitals), so the check is what both agree on:
    # NFKC-normalized, and no ASCII capital survives folding.
    op.create_check_constraint(
        "ck_users_email_folded", "users", "email IS NFKC NORMALIZED AND email !~ '[A-Z]'"
    )


def downgrade() -> None:
    op.drop_table("login_attempts")
    op.drop_table("refresh_tokens")
    op.drop_table("sessions")
    op.drop_column("users", "version")
    op.drop_constraint("ck_users_email_folded", "users", type_="check")
    op.create_check_constraint("ck_users_email_lower", "users", "email = lower(email)")
