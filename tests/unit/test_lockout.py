"""The lockout rule on its own: the schedule of delays, forgetting, and what an address is."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from functions.user import lockout
from functions.user.lockout import ACCOUNT, ADDRESS, Counted, Refused, address_key, decide

NOW = datetime(2026, 11, 30, 12, 0, tzinfo=UTC)


def _row(scope: str, failures: int, locked_until: datetime | None, last: datetime | None) -> dict:
    return {
        "scope": scope,
        "key": "k",
        "failures": failures,
        "locked_until": locked_until,
        "last_failed_at": last,
    }


def test_the_account_delay_doubles_from_the_fifth_failure_up_to_an_hour() -> None:
    delays = [ACCOUNT.delay(n) for n in range(1, 20)]
    seconds = [None if d is None else d.total_seconds() for d in delays]
    assert seconds[:4] == [None] * 4
    assert seconds[4:12] == [1, 2, 4, 8, 16, 32, 64, 128]
    assert seconds[16:] == [3600.0] * 3  # 2**12 s would pass the hour: capped
    assert ACCOUNT.delay(10_000) == timedelta(hours=1)


def test_the_address_has_more_room_than_an_account() -> None:
    assert ADDRESS.delay(ADDRESS.free_failures - 1) is None
    assert ADDRESS.delay(ADDRESS.free_failures) == timedelta(seconds=1)
    assert ADDRESS.free_failures > ACCOUNT.free_failures


def test_a_locked_scope_refuses_with_the_seconds_left_rounded_up() -> None:
    row = _row("ACCOUNT", 6, NOW + timedelta(seconds=1.2), NOW)
    assert decide(row, NOW) == Refused(retry_after=2)
    almost = _row("ACCOUNT", 6, NOW + timedelta(milliseconds=1), NOW)
    assert decide(almost, NOW) == Refused(retry_after=1)


def test_an_attempt_counts_as_the_next_failure_and_sets_the_lock_it_would_earn() -> None:
    assert decide(_row("ACCOUNT", 3, None, NOW), NOW) == Counted("ACCOUNT", "k", 4, None)
    assert decide(_row("ACCOUNT", 4, None, NOW), NOW) == Counted(
        "ACCOUNT", "k", 5, NOW + timedelta(seconds=1)
    )
    # a lock that has passed lets the next attempt through, at twice the delay
    passed = _row("ACCOUNT", 5, NOW - timedelta(seconds=1), NOW - timedelta(seconds=2))
    assert decide(passed, NOW) == Counted("ACCOUNT", "k", 6, NOW + timedelta(seconds=2))


def test_a_scope_quiet_for_long_enough_starts_counting_again() -> None:
    quiet = _row("ACCOUNT", 9, NOW - timedelta(hours=1), NOW - ACCOUNT.forget_after)
    assert decide(quiet, NOW) == Counted("ACCOUNT", "k", 1, None)
    recent = _row("ADDRESS", 9, None, NOW - ADDRESS.forget_after + timedelta(seconds=1))
    assert decide(recent, NOW) == Counted("ADDRESS", "k", 10, None)


def test_addresses_are_ipv4_or_the_64_bit_prefix_of_ipv6() -> None:
    assert address_key("203.0.113.7") == "203.0.113.7"
    assert address_key("2001:db8:1:2:3:4:5:6") == "2001:db8:1:2::/64"
    assert address_key("::ffff:203.0.113.7") == "203.0.113.7"
    assert address_key("") == address_key(None) == address_key("not an ip") == "unknown"
    assert lockout.POLICIES == {"ACCOUNT": ACCOUNT, "ADDRESS": ADDRESS}
