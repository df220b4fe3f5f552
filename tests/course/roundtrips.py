"""Counting database round trips: each flush of pg8000's socket is one request/answer."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any

import pg8000.core
import pytest


@dataclass
class RoundTrips:
    count: int = 0


@contextmanager
def counting_round_trips(monkeypatch: pytest.MonkeyPatch) -> Iterator[RoundTrips]:
    """Round trips to PostgreSQL made inside the block (every connection, this process).

    pg8000 flushes its socket once per exchange and then waits for the answer, so the
    flushes are the round trips: a warm prepared statement is one, BEGIN and COMMIT
    (simple queries) one each, and a statement's first preparation two more.
    """
    trips = RoundTrips()
    original = pg8000.core._flush

    def flush(sock: Any) -> None:
        trips.count += 1
        original(sock)

    monkeypatch.setattr(pg8000.core, "_flush", flush)
    try:
        yield trips
    finally:
        monkeypatch.setattr(pg8000.core, "_flush", original)
