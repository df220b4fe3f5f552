"""Guessing passwords: attempts counted per account and per source address, with a backoff
that doubles.

The rule: each scope lets ``free_failures`` failures through; the failure that reaches
that number, and each one after it, locks the scope for a delay that doubles (1 s, 2 s,
4 s ... up to ``max_delay``). While a scope is locked every attempt is refused with 429
and ``Retry-After``, before any password is hashed. A scope quiet for ``forget_after``
starts counting again from zero; a successful login clears its account's count.

The account is the normalized email as typed, whether an account has it or not, so the
answers (401 then 429) are the same for an unknown email as for a known one.

Why attempts are counted *before* the password is checked: checking takes ~50 ms of
argon2, and fifty guesses sent at once would all pass a check made before any of them had
failed. So each attempt first takes its place under the scope rows' locks, as if it were
going to fail -- which is what sets the lock -- and a success gives it back afterwards.
"""

from __future__ import annotations

import ipaddress
import math
from dataclasses import dataclass
from datetime import datetime, timedelta

from lms_platform.db import Row


@dataclass(frozen=True)
class Policy:
    scope: str  # the login_attempts.scope it counts in
    free_failures: int
    max_delay: timedelta
    forget_after: timedelta
    first_delay: timedelta = timedelta(seconds=1)

    def delay(self, failures: int) -> timedelta | None:
        """How long ``failures`` failures lock the scope (None: not at all)."""
        if failures < self.free_failures:
            return None
        doublings = failures - self.free_failures
        if doublings >= 32:  # far past any cap; keeps the arithmetic small
            return self.max_delay
        return min(self.first_delay * (1 << doublings), self.max_delay)


# Five wrong passwords in a row are a person's bad day; after that every guess costs the
# guesser twice the wait of the one before, up to an hour (so about 24 a day from then on).
ACCOUNT = Policy(
    "ACCOUNT",
    free_failures=5,
    max_delay=timedelta(hours=1),
    forget_after=timedelta(hours=24),
)
# One address may be a whole classroom behind NAT, so it gets more room; it bounds
# password spraying (one guess each on many accounts) from one place.
ADDRESS = Policy(
    "ADDRESS",
    free_failures=50,
    max_delay=timedelta(hours=1),
    forget_after=timedelta(hours=1),
)
POLICIES = {p.scope: p for p in (ACCOUNT, ADDRESS)}


@dataclass(frozen=True)
class Counted:
    """The attempt may go on; the row becomes this if it fails."""

    scope: str
    key: str
    failures: int
    locked_until: datetime | None


@dataclass(frozen=True)
class Refused:
    retry_after: int  # whole seconds, at least 1


def decide(row: Row, now: datetime) -> Counted | Refused:
    """The attempt against one scope's row (``failures``, ``locked_until``,
    ``last_failed_at``) at the database's ``now``: counted or refused."""
    policy = POLICIES[row["scope"]]
    locked_until: datetime | None = row["locked_until"]
    if locked_until is not None and locked_until > now:
        return Refused(max(1, math.ceil((locked_until - now).total_seconds())))
    last: datetime | None = row["last_failed_at"]
    recent = last is not None and now - last < policy.forget_after
    failures = (row["failures"] if recent else 0) + 1
    delay = policy.delay(failures)
    return Counted(row["scope"], row["key"], failures, now + delay if delay else None)


def address_key(source_ip: str | None) -> str:
    """The address an attempt is counted against: the IPv4 address, or the /64 of an IPv6
    one (a single host commonly holds a whole /64)."""
    try:
        address = ipaddress.ip_address((source_ip or "").strip())
    except ValueError:
        return "unknown"
    if isinstance(address, ipaddress.IPv6Address):
        if address.ipv4_mapped is not None:
            return str(address.ipv4_mapped)
        return str(ipaddress.ip_network(f"{address}/64", strict=False))
    return str(address)
