"""Schema, role and Alembic migrations per service.

Each service owns schema ``lms_<name>`` and logs in as role ``lms_<name>``, whose search
path is that schema alone and which is granted nothing outside it: another service's
tables are unreachable, not merely unused. Tables are owned by the migrating (admin)
role, so a service cannot alter its own structure at run time either.

Migrations are Alembic revisions in ``functions/<service>/migrations/versions``; the
version table lives inside the service's schema. This module is run by ``make run``, by
the tests and, on AWS, by the migration function on every deployment. It is the only
place SQLAlchemy is imported: request handlers never pay for it.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from importlib import import_module
from pathlib import Path
from typing import TYPE_CHECKING, Any

import sqlalchemy as sa
from alembic.config import Config
from alembic.runtime.environment import EnvironmentContext
from alembic.script import ScriptDirectory

if TYPE_CHECKING:
    from lms_platform.service import Service

logger = logging.getLogger(__name__)


# What the database itself bounds for a service's role, whoever connects as it: one
# statement, one wait for a lock, a transaction left open and idle. Set on the role (applied
# by the server when a session starts) rather than by SET in the session, which would pin
# the session to one server connection behind RDS Proxy. All shorter than any function's
# timeout (routes 10 s), and the statement timeout shorter than the client's socket timeout
# (settings.db_socket_timeout, 6 s), so that in the normal case the server ends a slow
# statement and the connection stays usable. client_connection_check_interval lets the
# server notice a client that closed its socket while a statement still runs (Linux only:
# skipped where the server cannot do it).
ROLE_LIMITS = {
    "statement_timeout": "4s",
    "lock_timeout": "2s",
    "idle_in_transaction_session_timeout": "10s",
}
OPTIONAL_ROLE_LIMITS = {"client_connection_check_interval": "500ms"}


@dataclass(frozen=True)
class RoleLogin:
    """How a service role authenticates: no password (local trust/peer) or this one."""

    password: str | None = None


def engine_for(url: str) -> sa.Engine:
    if url.startswith("postgresql://"):
        url = "postgresql+pg8000://" + url.removeprefix("postgresql://")
    from lms_platform.db import params_from_url

    params = params_from_url(url)
    connect_args: dict[str, Any] = {}
    if params.unix_sock:
        connect_args["unix_sock"] = params.unix_sock
        url = url.split("?", 1)[0]
    if params.tls:
        from lms_platform.db import _ssl_context

        connect_args["ssl_context"] = _ssl_context(params.ca_file)
        url = url.split("?", 1)[0]
    return sa.create_engine(url, connect_args=connect_args, poolclass=sa.pool.NullPool)


def migrations_dir(service: Service) -> Path:
    package = import_module(service.package)
    return Path(package.__file__ or "").resolve().parent / "migrations"


def provision(connection: sa.Connection, service: Service, login: RoleLogin) -> None:
    """Create the schema and the service's role (idempotent)."""
    schema, role = service.schema, service.role
    connection.execute(sa.text(f'CREATE SCHEMA IF NOT EXISTS "{schema}"'))
    exists = connection.execute(
        sa.text("SELECT 1 FROM pg_roles WHERE rolname = :role"), {"role": role}
    ).scalar()
    if not exists:
        connection.execute(sa.text(f'CREATE ROLE "{role}" LOGIN'))
    if login.password is not None:
        # A bind parameter cannot stand in DDL; quote the literal the server's way.
        quoted = connection.execute(
            sa.text("SELECT quote_literal(:p)"), {"p": login.password}
        ).scalar()
        connection.execute(sa.text(f'ALTER ROLE "{role}" LOGIN PASSWORD {quoted}'))
    connection.execute(sa.text(f'ALTER ROLE "{role}" SET search_path = "{schema}"'))
    # Timestamps leave the database in UTC, whatever the server's default.
    connection.execute(sa.text(f"ALTER ROLE \"{role}\" SET timezone = 'UTC'"))
    for name, value in ROLE_LIMITS.items():
        connection.execute(sa.text(f"ALTER ROLE \"{role}\" SET {name} = '{value}'"))
    for name, value in OPTIONAL_ROLE_LIMITS.items():
        if _server_accepts(connection, name, value):
            connection.execute(sa.text(f"ALTER ROLE \"{role}\" SET {name} = '{value}'"))
    connection.execute(sa.text(f'REVOKE ALL ON SCHEMA public FROM "{role}"'))
    connection.execute(sa.text(f'GRANT USAGE ON SCHEMA "{schema}" TO "{role}"'))


def _server_accepts(connection: sa.Connection, name: str, value: str) -> bool:
    """Whether this server takes ``name = value`` (tried in a savepoint, then undone)."""
    savepoint = connection.begin_nested()
    try:
        connection.execute(sa.text(f"SET LOCAL {name} = '{value}'"))
    except sa.exc.DBAPIError:
        savepoint.rollback()
        return False
    savepoint.rollback()
    return True


def grant(connection: sa.Connection, service: Service) -> None:
    schema, role = service.schema, service.role
    connection.execute(
        sa.text(
            f'GRANT SELECT, INSERT, UPDATE, DELETE ON ALL TABLES IN SCHEMA "{schema}" TO "{role}"'
        )
    )
    connection.execute(
        sa.text(f'GRANT USAGE, SELECT ON ALL SEQUENCES IN SCHEMA "{schema}" TO "{role}"')
    )
    # The role reads its migration state but never writes it.
    connection.execute(
        sa.text(f'REVOKE INSERT, UPDATE, DELETE ON "{schema}".alembic_version FROM "{role}"')
    )


def upgrade(connection: sa.Connection, service: Service, target: str = "heads") -> None:
    config = Config()
    config.set_main_option("script_location", str(migrations_dir(service)))
    script = ScriptDirectory.from_config(config)

    def steps(revision: Any, _context: Any) -> Any:
        return script._upgrade_revs(target, revision)

    connection.execute(sa.text(f'SET LOCAL search_path = "{service.schema}"'))
    with EnvironmentContext(config, script, fn=steps, destination_rev=target) as env:
        env.configure(
            connection=connection,
            version_table_schema=service.schema,
            transactional_ddl=True,
        )
        env.run_migrations()


def migrate(admin_url: str, services: list[Service], logins: dict[str, RoleLogin]) -> None:
    """Bring every service's schema to its newest revision; one transaction per service.

    A transaction-level advisory lock makes concurrent runs (two deployments, two test
    workers) take turns instead of racing on the same DDL.
    """
    engine = engine_for(admin_url)
    try:
        for service in services:
            with engine.begin() as connection:
                connection.execute(
                    sa.text("SELECT pg_advisory_xact_lock(hashtext(:s))"), {"s": service.schema}
                )
                provision(connection, service, logins.get(service.name, RoleLogin()))
                upgrade(connection, service)
                grant(connection, service)
            logger.info("migrated", extra={"service": service.name})
    finally:
        engine.dispose()


# --- tables every service has -----------------------------------------------------------


def create_outbox_and_inbox() -> None:
    """For a service's first revision: the outbox it publishes from and the inbox its
    consumers record deliveries in."""
    from alembic import op
    from sqlalchemy.dialects import postgresql as pg

    op.create_table(
        "outbox",
        sa.Column("id", pg.UUID(as_uuid=True), primary_key=True),
        sa.Column("source", sa.Text, nullable=False),
        sa.Column("event_type", sa.Text, nullable=False),
        sa.Column("detail", pg.JSONB, nullable=False),
        sa.Column("occurred_at", sa.TIMESTAMP(timezone=True), nullable=False),
        sa.Column("published_at", sa.TIMESTAMP(timezone=True)),
    )
    # The relay's sweep reads only unpublished rows, oldest first.
    op.create_index(
        "ix_outbox_unpublished",
        "outbox",
        ["occurred_at"],
        postgresql_where=sa.text("published_at IS NULL"),
    )
    op.create_table(
        "inbox",
        sa.Column("event_id", pg.UUID(as_uuid=True), nullable=False),
        sa.Column("handler", sa.Text, nullable=False),
        sa.Column("event_type", sa.Text, nullable=False),
        sa.Column(
            "received_at", sa.TIMESTAMP(timezone=True), nullable=False, server_default=sa.func.now()
        ),
        sa.PrimaryKeyConstraint("event_id", "handler", name="pk_inbox"),
    )


def add_outbox_destination() -> None:
    """For a service's next revision (a new service: right after ``create_outbox_and_inbox``):
    where an outbox row goes, the bus (an event) or the service's own queue (a task).

    What a revision calls must never change once released: a change is a new helper."""
    from alembic import op

    # A constant default: PostgreSQL adds the column without rewriting the table.
    op.add_column("outbox", sa.Column("destination", sa.Text, nullable=False, server_default="bus"))
    op.create_check_constraint(
        "ck_outbox_destination", "outbox", sa.text("destination IN ('bus', 'queue')")
    )


def add_event_retention() -> None:
    """For a service's next revision (a new service: right after ``add_outbox_destination``):
    what the retention job (``lms_platform.retention``) and a replay read, indexed, and
    where the job records how far it has deleted.

    - published outbox rows by ``occurred_at``: the job deletes the oldest, a replay reads
      them in order from a point in time (the unpublished ones have their own index);
    - inbox rows by ``received_at``: the job deletes the oldest;
    - ``event_retention``: per table (``outbox``, ``inbox``) the time before which rows may
      have been deleted. A rebuild from a replay needs every event: it refuses when a
      source's outbox has been pruned.
    """
    from alembic import op

    op.create_index(
        "ix_outbox_published",
        "outbox",
        ["occurred_at"],
        postgresql_where=sa.text("published_at IS NOT NULL"),
    )
    op.create_index("ix_inbox_received_at", "inbox", ["received_at"])
    op.create_table(
        "event_retention",
        sa.Column("kind", sa.Text, primary_key=True),
        sa.Column("pruned_before", sa.TIMESTAMP(timezone=True), nullable=False),
        sa.CheckConstraint("kind IN ('outbox', 'inbox')", name="ck_event_retention_kind"),
    )


def drop_event_retention() -> None:
    from alembic import op

    op.drop_table("event_retention")
    op.drop_index("ix_inbox_received_at", "inbox")
    op.drop_index("ix_outbox_published", "outbox")
