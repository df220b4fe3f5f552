"""Many events at once in the outboxes: the story's events copied, each copy a new event
(its own id in the row and in the envelope) in the outbox of the service that made it."""

from __future__ import annotations

from collections import Counter
from typing import Any

from functions.registry import SERVICES

_COPY = """
INSERT INTO {schema}.outbox (id, source, event_type, detail, occurred_at)
SELECT n.id, o.source, o.event_type,
       jsonb_set(o.detail, '{{eventId}}', to_jsonb(n.id::text)), now() - interval '1 minute'
FROM {schema}.outbox o
CROSS JOIN LATERAL (
    SELECT gen_random_uuid() AS id FROM generate_series(1, :copies) WHERE o.id IS NOT NULL
) n
WHERE o.destination = 'bus' AND o.id = ANY(CAST(:ids AS uuid[]))
RETURNING id::text, source, event_type
"""


def fill(admin_sql: Any, story: list[dict[str, Any]], total: int) -> list[tuple[str, str, str]]:
    """About ``total`` new unpublished events spread over the outboxes; (id, source, type)."""
    copies = max(1, round(total / len(story)))
    made: list[tuple[str, str, str]] = []
    for service in SERVICES:
        ids = [e["id"] for e in story if e["source"] == service.source]
        if ids:
            rows = admin_sql.run(_COPY.format(schema=service.schema), copies=copies, ids=ids)
            made += [(r[0], r[1], r[2]) for r in rows]
    return made


def by_source(made: list[tuple[str, str, str]]) -> Counter[str]:
    return Counter(source for _, source, _ in made)


def backlog(admin_sql: Any) -> int:
    return sum(
        admin_sql.run(f"SELECT count(*) FROM {s.schema}.outbox WHERE published_at IS NULL")[0][0]
        for s in SERVICES
    )
