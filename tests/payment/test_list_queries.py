"""The Payment lists read their pages from an index at depth (EXPLAIN of the store's own
statements on 60,000 invoices and 20,000 plans), and would scan the table without one."""

from __future__ import annotations

from typing import Any

import pytest

from functions.payment import store

pytestmark = [pytest.mark.integration, pytest.mark.usefixtures("db_clean")]

HEAVY_USER = "00000000-0000-4000-8000-000000000001"
PLAN = "00000000-0000-4000-8000-0000000000a1"


@pytest.fixture
def many_invoices(admin_sql: Any) -> None:
    """60,000 invoices: 4,000 of one user, the rest spread; a third paid."""
    admin_sql.run(
        "INSERT INTO lms_payment.plans (id, name, price, currency, interval) "
        "VALUES (CAST(:id AS uuid), 'Pro', 19.90, 'USD', 'month')",
        id=PLAN,
    )
    admin_sql.run(
        """
        INSERT INTO lms_payment.invoices (id, user_id, plan_id, plan_name, plan_interval,
          amount, currency, status, due_at, paid_at, paid_by, created_at)
        SELECT gen_random_uuid(),
               CASE WHEN g <= 4000 THEN CAST(:heavy AS uuid) ELSE gen_random_uuid() END,
               CAST(:plan AS uuid), 'Pro', 'month', 19.90, 'USD',
               CASE WHEN g % 3 = 0 THEN 'PAID' ELSE 'OPEN' END,
               now() + interval '7 days',
               CASE WHEN g % 3 = 0 THEN now() END,
               CASE WHEN g % 3 = 0 THEN gen_random_uuid() END,
               now() - make_interval(mins => g)
        FROM generate_series(1, 60000) AS g
        """,
        heavy=HEAVY_USER,
        plan=PLAN,
    )
    admin_sql.run("ANALYZE lms_payment.invoices")


@pytest.fixture
def many_plans(admin_sql: Any) -> None:
    admin_sql.run(
        """
        INSERT INTO lms_payment.plans (id, name, price, currency, interval, status, created_at)
        SELECT gen_random_uuid(), 'Plan ' || g, 9.90, 'EUR', 'year',
               CASE WHEN g % 4 = 0 THEN 'ARCHIVED' ELSE 'ACTIVE' END,
               now() - make_interval(mins => g)
        FROM generate_series(1, 20000) AS g
        """
    )
    admin_sql.run("ANALYZE lms_payment.plans")


def _plan(admin_sql: Any, sql: str, params: dict[str, Any], generic: bool) -> str:
    admin_sql.run("SET search_path = lms_payment")
    admin_sql.run(f"SET plan_cache_mode = {'force_generic_plan' if generic else 'auto'}")
    try:
        return "\n".join(r[0] for r in admin_sql.run("EXPLAIN " + sql, **params))
    finally:
        admin_sql.run("RESET plan_cache_mode")
        admin_sql.run("RESET search_path")


def _deep(admin_sql: Any, table: str, where: str, offset: int, **params: Any) -> dict[str, str]:
    row = admin_sql.run(
        f"SELECT created_at::text, id::text FROM lms_payment.{table} WHERE {where} "
        f"ORDER BY created_at DESC, id DESC OFFSET {offset} LIMIT 1",
        **params,
    )[0]
    return {"created_at": row[0], "after_id": row[1]}


def _assert_index_order(plan: str, index: str, table: str) -> None:
    assert "Seq Scan" not in plan, plan
    assert f"Index Scan Backward using {index} on {table}" in plan, plan
    assert not [line for line in plan.splitlines() if "Sort" in line and "->" in line], plan


@pytest.mark.parametrize("generic", [False, True], ids=["custom-plan", "generic-plan"])
def test_my_invoices_pages_use_the_user_indexes_at_depth(
    many_invoices: None, admin_sql: Any, generic: bool
) -> None:
    base = {"user_id": HEAVY_USER, "limit": 21}
    mine = "user_id = CAST(:u AS uuid)"
    deep = _deep(admin_sql, "invoices", mine, 3500, u=HEAVY_USER)
    deep_paid = _deep(admin_sql, "invoices", mine + " AND status = 'PAID'", 1200, u=HEAVY_USER)
    paid = {**base, "status": "PAID"}

    plans = {
        "all": _plan(admin_sql, store.MY_INVOICES, base, generic),
        "all-deep": _plan(admin_sql, store.MY_INVOICES_AFTER, {**base, **deep}, generic),
        "status": _plan(admin_sql, store.MY_INVOICES_BY_STATUS, paid, generic),
        "status-deep": _plan(
            admin_sql, store.MY_INVOICES_BY_STATUS_AFTER, {**paid, **deep_paid}, generic
        ),
    }

    _assert_index_order(plans["all"], "ix_invoices_user_id", "invoices")
    _assert_index_order(plans["all-deep"], "ix_invoices_user_id", "invoices")
    _assert_index_order(plans["status"], "ix_invoices_user_status", "invoices")
    _assert_index_order(plans["status-deep"], "ix_invoices_user_status", "invoices")
    for name in ("all-deep", "status-deep"):
        condition = plans[name].split("Index Cond:")[1].splitlines()[0]
        assert "user_id" in condition and "created_at" in condition, plans[name]


@pytest.mark.parametrize("generic", [False, True], ids=["custom-plan", "generic-plan"])
def test_the_plans_page_uses_the_active_plans_index_at_depth(
    many_plans: None, admin_sql: Any, generic: bool
) -> None:
    deep = _deep(admin_sql, "plans", "status = 'ACTIVE'", 12000)
    first = _plan(admin_sql, store.ACTIVE_PLANS, {"limit": 21}, generic)
    far = _plan(admin_sql, store.ACTIVE_PLANS_AFTER, {"limit": 21, **deep}, generic)
    _assert_index_order(first, "ix_plans_active_created", "plans")
    _assert_index_order(far, "ix_plans_active_created", "plans")


def test_without_its_indexes_my_invoices_would_scan_the_table(
    many_invoices: None, admin_sql: Any
) -> None:
    admin_sql.run("BEGIN")
    try:
        for name in ("ix_invoices_user_id", "ix_invoices_user_status"):
            admin_sql.run(f"DROP INDEX lms_payment.{name}")
        plan = _plan(admin_sql, store.MY_INVOICES, {"user_id": HEAVY_USER, "limit": 21}, False)
    finally:
        admin_sql.run("ROLLBACK")
    assert "Seq Scan on invoices" in plan, plan
