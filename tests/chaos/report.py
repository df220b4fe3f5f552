"""What each fault injection counted: expected against seen, printed at the end of the run
(``make chaos``, and the reduced run inside ``make test``)."""

from __future__ import annotations

import os
from dataclasses import dataclass

# ``full``: the sizes the proof is stated in (10,000 events ...); anything else: a reduced
# run that keeps the test suite fast and injects every fault all the same.
FULL = os.environ.get("LMS_CHAOS_SIZE", "small") == "full"


def size(full: int, small: int) -> int:
    return full if FULL else small


@dataclass(frozen=True)
class Count:
    fault: str
    what: str
    expected: str
    seen: str
    holds: bool


COUNTS: list[Count] = []


def record(
    fault: str, what: str, expected: object, seen: object, holds: bool | None = None
) -> bool:
    """Keep one count for the summary; whether it holds (equal, unless told)."""
    ok = (expected == seen) if holds is None else holds
    COUNTS.append(Count(fault, what, _text(expected), _text(seen), ok))
    return ok


def _text(value: object) -> str:
    return f"{value:,}" if isinstance(value, int) and not isinstance(value, bool) else str(value)


def table() -> list[str]:
    if not COUNTS:
        return []
    widths = [
        max(len(c.what) for c in COUNTS),
        max(len(c.expected) for c in COUNTS),
        max(len(c.seen) for c in COUNTS),
    ]
    lines = [f"chaos ({'full' if FULL else 'reduced'} size): expected vs seen"]
    fault = None
    for c in COUNTS:
        if c.fault != fault:
            fault = c.fault
            lines.append(f"{fault}")
        mark = "ok " if c.holds else "BAD"
        lines.append(
            f"  {mark} {c.what:<{widths[0]}}  expected {c.expected:>{widths[1]}}"
            f"  seen {c.seen:>{widths[2]}}"
        )
    bad = sum(not c.holds for c in COUNTS)
    lines.append(f"{len(COUNTS)} counts, {bad} off")
    return lines
