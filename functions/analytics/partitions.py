"""The snapshots' monthly partitions: made ahead of the months to come, dropped past
retention.

The service's role cannot create or drop tables; it calls the two functions the
migration made for this (``ensure_snapshot_partition``, ``drop_snapshot_partitions_before``),
which do nothing else. Dropping a month first raises the retention horizon, so that an
event of a dropped month arriving later is refused rather than counted a second time
(``counting``). Aggregates are never dropped.
"""

from __future__ import annotations

from datetime import UTC, date, datetime

from functions.analytics import counting, store
from lms_platform.settings import get_settings


def add_months(month: date, n: int) -> date:
    index = month.year * 12 + month.month - 1 + n
    return date(index // 12, index % 12 + 1, 1)


def maintain(today: date | None = None) -> dict[str, int]:
    settings = get_settings()
    this_month = (today or datetime.now(UTC).date()).replace(day=1)
    database = store.db()
    ensured = 0
    for n in range(settings.analytics_partitions_ahead_months + 1):
        row = database.read_one(store.ENSURE_PARTITION, month=add_months(this_month, n))
        ensured += bool(row and row["kept"])
    horizon = add_months(this_month, -(settings.analytics_retention_months - 1))
    dropped_row = database.read_one(store.DROP_PARTITIONS, month=horizon)
    dropped = int(dropped_row["dropped"]) if dropped_row else 0
    if dropped:
        counting.forget_partitions()
    return {"ensured": ensured, "dropped": dropped}


def partition_names() -> list[str]:
    return [str(r["name"]) for r in store.db().read(store.PARTITIONS)]
