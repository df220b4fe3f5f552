"""A consuming service's state: every table of its schema, compared in a way that needs no
knowledge of the tables. Columns whose values differ between two identical runs (ids the
database makes, wall-clock times) are left out; everything else must match."""

from __future__ import annotations

import json
from typing import Any

from lms_platform.service import Service

Snapshot = dict[str, list[dict[str, str]]]

# Tables that record the progress of a service's own tasks (Enrollment's recomputes).
WORK_TABLES = frozenset({"outline_recomputes"})


def tables(admin_sql: Any, service: Service) -> list[str]:
    # A partitioned table once, as its parent (which reads and routes to its partitions).
    rows = admin_sql.run(
        "SELECT c.relname FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace"
        " WHERE n.nspname = :s AND c.relkind IN ('r', 'p') AND NOT c.relispartition"
        " AND c.relname <> 'alembic_version' ORDER BY c.relname",
        s=service.schema,
    )
    return [r[0] for r in rows]


def empty(admin_sql: Any, service: Service) -> None:
    names = ", ".join(f'{service.schema}."{t}"' for t in tables(admin_sql, service))
    admin_sql.run(f"TRUNCATE {names} CASCADE")


def save(admin_sql: Any, service: Service) -> None:
    """A copy of every table of the service, kept in a schema of its own."""
    copy = f"chaos_saved_{service.name}"
    admin_sql.run(f"DROP SCHEMA IF EXISTS {copy} CASCADE")
    admin_sql.run(f"CREATE SCHEMA {copy}")
    for table in tables(admin_sql, service):
        admin_sql.run(f'CREATE TABLE {copy}."{table}" AS TABLE {service.schema}."{table}"')


def restore(admin_sql: Any, service: Service) -> None:
    """The tables as ``save`` found them."""
    empty(admin_sql, service)
    copy = f"chaos_saved_{service.name}"
    # Rows go back table by table: foreign keys are checked by triggers, off for the copy.
    admin_sql.run("SET session_replication_role = replica")
    try:
        for table in tables(admin_sql, service):
            admin_sql.run(f'INSERT INTO {service.schema}."{table}" SELECT * FROM {copy}."{table}"')
    finally:
        admin_sql.run("SET session_replication_role = DEFAULT")


def drop_saved(admin_sql: Any, service: Service) -> None:
    admin_sql.run(f"DROP SCHEMA IF EXISTS chaos_saved_{service.name} CASCADE")


def snapshot(admin_sql: Any, service: Service) -> Snapshot:
    found: Snapshot = {}
    for table in tables(admin_sql, service):
        # The tasks a consumer hands itself are its way of working, not its state: an
        # event that arrives after a newer one changes nothing and asks for no work.
        # Likewise the bookkeeping of that work (how far a chunked recompute has come, how
        # many chunks it took): it depends on when the work ran, not on what it made.
        if table in WORK_TABLES:
            continue
        only = " WHERE destination <> 'queue'" if table == "outbox" else ""
        rows = admin_sql.run(f'SELECT to_jsonb(t)::text FROM {service.schema}."{table}" t{only}')
        found[table] = [{k: json.dumps(v) for k, v in json.loads(r[0]).items()} for r in rows]
    return found


def volatile_columns(a: Snapshot, b: Snapshot) -> dict[str, set[str]]:
    """Per table, the columns whose values differ between two runs of the same deliveries."""
    found: dict[str, set[str]] = {}
    for table, rows in a.items():
        columns = set().union(*(r.keys() for r in rows)) if rows else set()
        found[table] = {
            c
            for c in columns
            if sorted(r.get(c, "") for r in rows) != sorted(r.get(c, "") for r in b.get(table, []))
        }
    return found


def comparable(state: Snapshot, volatile: dict[str, set[str]]) -> dict[str, list[str]]:
    return {
        table: sorted(
            json.dumps({k: v for k, v in row.items() if k not in volatile.get(table, set())})
            for row in rows
        )
        for table, rows in state.items()
    }


def differences(expected: dict[str, list[str]], seen: dict[str, list[str]]) -> list[str]:
    out = []
    for table in sorted(set(expected) | set(seen)):
        want, got = expected.get(table, []), seen.get(table, [])
        if want != got:
            missing = [r for r in want if r not in got][:3]
            extra = [r for r in got if r not in want][:3]
            out.append(
                f"{table}: {len(want)} rows expected, {len(got)} seen; "
                f"missing {missing} extra {extra}"
            )
    return out
