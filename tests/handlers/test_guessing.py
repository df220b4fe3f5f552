"""Guessing: failed logins counted per account and per source address, a backoff that
doubles, 429 with Retry-After before any hashing, the same whether the account exists or
not; an administrator lifts a lock; emails compared after NFKC and case folding."""

from __future__ import annotations

import dataclasses
import threading
from collections.abc import Callable, Iterator
from datetime import timedelta
from typing import Any

import pytest

from functions.user import lockout
from lms_platform import auth
from tests.handlers.conftest import PASSWORD, Account
from tests.support import Reply, as_caller, call, scalar, wide

WRONG = "not the password at all"


def _login(email: str, password: str = PASSWORD, source_ip: str = "203.0.113.7") -> Reply:
    return call(
        "POST", "/auth/login", body={"email": email, "password": password}, source_ip=source_ip
    )


def _attempts(admin_sql: Any, scope: str, key: str) -> dict[str, Any] | None:
    rows = admin_sql.run(
        "SELECT failures, EXTRACT(EPOCH FROM locked_until - last_failed_at)"
        " FROM lms_user.login_attempts WHERE scope = :s AND key = :k",
        s=scope,
        k=key,
    )
    if not rows:
        return None
    failures, lock = rows[0]
    return {"failures": failures, "lock_seconds": None if lock is None else round(float(lock))}


def _let_lock_expire(admin_sql: Any, scope: str, key: str) -> None:
    """As if the lock's time had passed (the tests do not sleep through backoffs)."""
    admin_sql.run(
        "UPDATE lms_user.login_attempts SET locked_until = now() - interval '1 millisecond'"
        " WHERE scope = :s AND key = :k",
        s=scope,
        k=key,
    )


@pytest.fixture
def minute_locks(monkeypatch: pytest.MonkeyPatch) -> None:
    """First locks of a minute rather than a second, so that no answer depends on how fast
    this machine runs the test. The real schedule is checked on the stored rows (one test
    below) and in tests/unit/test_lockout.py."""
    for scope, policy in list(lockout.POLICIES.items()):
        slow = dataclasses.replace(policy, first_delay=timedelta(minutes=1))
        monkeypatch.setitem(lockout.POLICIES, scope, slow)


@pytest.fixture
def hashes(monkeypatch: pytest.MonkeyPatch) -> Iterator[list[int]]:
    """How many password verifications (argon2) ran: the real function, counted."""
    count = [0]
    lock = threading.Lock()
    real = auth.verify_password

    def counted(stored_hash: str | None, password: str) -> bool:
        with lock:
            count[0] += 1
        return real(stored_hash, password)

    monkeypatch.setattr(auth, "verify_password", counted)
    yield count


def _problem_shape(reply: Reply) -> tuple[int, str, str | None]:
    headers = {k.lower(): v for k, v in reply.headers.items()}
    return reply.status, reply.body["title"], headers.get("retry-after")


# --- per account ----------------------------------------------------------------------------


def test_five_failures_lock_the_account_and_the_answers_do_not_tell_if_it_exists(
    register: Callable[..., Account], hashes: list[int], minute_locks: None
) -> None:
    # Given an account, and an email that has none
    register("ada@example.com")
    known, unknown = [], []
    # When each is tried with wrong passwords seven times
    for _ in range(7):
        known.append(_problem_shape(_login("ada@example.com", WRONG)))
        unknown.append(_problem_shape(_login("nobody@example.com", WRONG)))
    # Then five 401s, then 429 with Retry-After, for both alike
    expected = [(401, "Invalid credentials")] * 5 + [(429, "Too many attempts")] * 2
    assert [k[:2] for k in known] == [u[:2] for u in unknown] == expected
    assert all(50 <= int(wait) <= 60 for _, _, wait in known[5:] + unknown[5:])
    # And the locked attempts did no argon2 work: ten verifications, not fourteen
    assert hashes[0] == 10
    # And while locked, even the right password is refused, before hashing
    right = _login("ada@example.com")
    assert _problem_shape(right)[:2] == (429, "Too many attempts")
    assert right.content_type == "application/problem+json"
    assert hashes[0] == 10


def test_the_backoff_doubles_and_a_success_resets_the_account(
    register: Callable[..., Account], admin_sql: Any
) -> None:
    register("ada@example.com")
    account = ("ACCOUNT", "ada@example.com")
    for _ in range(5):
        _login("ada@example.com", WRONG)
    # The fifth failure locked the account for a second
    assert _attempts(admin_sql, *account) == {"failures": 5, "lock_seconds": 1}
    # Each failure after a lock has passed doubles it: 2 s, then 4 s
    _let_lock_expire(admin_sql, *account)
    assert _login("ada@example.com", WRONG).status == 401
    assert _attempts(admin_sql, *account) == {"failures": 6, "lock_seconds": 2}
    _let_lock_expire(admin_sql, *account)
    _login("ada@example.com", WRONG)
    assert _attempts(admin_sql, *account) == {"failures": 7, "lock_seconds": 4}
    # When the lock has passed and the right password comes, Then the count starts over
    _let_lock_expire(admin_sql, *account)
    assert _login("ada@example.com").status == 200
    assert _attempts(admin_sql, *account) is None
    assert _login("ada@example.com", WRONG).status == 401
    assert _attempts(admin_sql, *account) == {"failures": 1, "lock_seconds": None}


def test_fifty_wrong_guesses_at_once_do_not_slip_past_the_limit(
    register: Callable[..., Account], admin_sql: Any, hashes: list[int], minute_locks: None
) -> None:
    # Given an account (its first lock a minute: see minute_locks)
    register("ada@example.com")
    # And fifty guesses sent at the same moment
    guesses = 50
    barrier = threading.Barrier(guesses)
    replies: list[Reply] = []
    lock = threading.Lock()

    def guess(n: int) -> None:
        from functions.user import store

        store.db().read("SELECT 1")  # each thread's connection opened before the race
        barrier.wait()
        try:
            reply = _login("ada@example.com", f"guess number {n}")
        finally:
            store.db().discard_connection()  # this thread's own: closed with it
        with lock:
            replies.append(reply)

    threads = [threading.Thread(target=guess, args=(n,)) for n in range(guesses)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=120)
    # Then five were checked (401) and forty-five refused before hashing (429)
    statuses = sorted(r.status for r in replies)
    assert statuses == [401] * 5 + [429] * 45
    assert hashes[0] == 5
    assert _attempts(admin_sql, "ACCOUNT", "ada@example.com") == {
        "failures": 5,
        "lock_seconds": 60,
    }
    waits = [
        {k.lower(): v for k, v in r.headers.items()}["retry-after"]
        for r in replies
        if r.status == 429
    ]
    assert len(waits) == 45 and all(50 <= int(w) <= 60 for w in waits), waits


def test_a_wrong_current_password_counts_against_the_account(
    register: Callable[..., Account], admin_sql: Any, minute_locks: None
) -> None:
    ada = register("ada@example.com")
    caller = as_caller(ada.id, "STUDENT", email=ada.email)
    body = {"currentPassword": WRONG, "newPassword": "a brand new long password"}
    replies = [call("POST", "/me/password", caller=caller, body=body).status for _ in range(6)]
    assert replies == [403] * 5 + [429]
    assert _login("ada@example.com").status == 429  # the same account's lock


# --- per address ----------------------------------------------------------------------------


def test_an_address_spraying_many_accounts_is_locked_past_its_higher_limit(
    register: Callable[..., Account], admin_sql: Any, minute_locks: None
) -> None:
    # Given an address one failure short of its limit (as if it had tried 49 accounts)
    register("ada@example.com")
    spray, elsewhere = "198.51.100.9", "192.0.2.44"
    _login("someone-0@example.com", WRONG, source_ip=spray)
    admin_sql.run(
        "UPDATE lms_user.login_attempts SET failures = :n WHERE scope = 'ADDRESS' AND key = :k",
        n=lockout.ADDRESS.free_failures - 1,
        k=spray,
    )
    # When it fails once more on yet another account, reaching the limit
    assert _login("someone-1@example.com", WRONG, source_ip=spray).status == 401
    # Then its next attempt, on any account, is refused, even with a right password
    assert _problem_shape(_login("ada@example.com", source_ip=spray))[:2] == (
        429,
        "Too many attempts",
    )
    # And other addresses, and the account itself, are not affected
    assert _login("ada@example.com", source_ip=elsewhere).status == 200
    assert _attempts(admin_sql, "ADDRESS", spray) == {
        "failures": lockout.ADDRESS.free_failures,
        "lock_seconds": 60,
    }


def test_a_successful_login_gives_its_address_back_the_attempt(
    register: Callable[..., Account], admin_sql: Any
) -> None:
    register("ada@example.com")
    _login("ada@example.com", WRONG)
    _login("ada@example.com")
    assert _attempts(admin_sql, "ADDRESS", "203.0.113.7") == {"failures": 1, "lock_seconds": None}


def test_ipv6_addresses_are_counted_by_their_64_bit_prefix(
    register: Callable[..., Account], admin_sql: Any
) -> None:
    register("ada@example.com")
    _login("ada@example.com", WRONG, source_ip="2001:db8:1:2::a")
    _login("ada@example.com", WRONG, source_ip="2001:db8:1:2:ffff::1")
    assert _attempts(admin_sql, "ADDRESS", "2001:db8:1:2::/64") == {
        "failures": 2,
        "lock_seconds": None,
    }


def test_registering_with_a_taken_email_counts_against_the_address_and_a_locked_one_hashes_nothing(
    register: Callable[..., Account], admin_sql: Any, hashes: list[int], monkeypatch: Any
) -> None:
    register("ada@example.com")
    body = {"email": "ada@example.com", "password": PASSWORD, "displayName": "Probe"}
    probe = "198.51.100.20"
    assert call("POST", "/auth/register", body=body, source_ip=probe).status == 409
    assert _attempts(admin_sql, "ADDRESS", probe) == {"failures": 1, "lock_seconds": None}
    # Given the address locked
    admin_sql.run(
        "UPDATE lms_user.login_attempts SET locked_until = now() + interval '30 seconds'"
        " WHERE scope = 'ADDRESS' AND key = :k",
        k=probe,
    )
    hashed = [0]
    real_hash = auth.hash_password
    monkeypatch.setattr(
        auth, "hash_password", lambda p: hashed.__setitem__(0, hashed[0] + 1) or real_hash(p)
    )
    # When it registers a new account, Then 429 before any hashing, and no account
    fresh = {"email": "grace@example.com", "password": PASSWORD, "displayName": "Grace"}
    reply = call("POST", "/auth/register", body=fresh, source_ip=probe)
    assert reply.status == 429
    assert 20 <= int({k.lower(): v for k, v in reply.headers.items()}["retry-after"]) <= 30
    assert hashed[0] == 0
    assert (
        scalar(admin_sql, "SELECT count(*) FROM lms_user.users WHERE email = 'grace@example.com'")
        == 0
    )
    # And a successful registration elsewhere leaves that address's count as it was
    assert call("POST", "/auth/register", body=fresh, source_ip="192.0.2.1").status == 201
    assert _attempts(admin_sql, "ADDRESS", "192.0.2.1") == {"failures": 0, "lock_seconds": None}


# --- an administrator lifts a lock ----------------------------------------------------------


def test_an_admin_clears_a_lock_and_the_user_logs_in_at_once(
    register: Callable[..., Account], admin: Account, admin_sql: Any, minute_locks: None
) -> None:
    ada = register("ada@example.com")
    for _ in range(6):
        _login("ada@example.com", WRONG)
    assert _login("ada@example.com").status == 429
    path = "/users/{userId}/login-lock"
    # A student may not lift it; an unknown user is 404
    denied = call("DELETE", path, caller=ada.caller, path_params={"userId": str(ada.id)})
    assert denied.status == 403
    missing = call(
        "DELETE",
        path,
        caller=admin.caller,
        path_params={"userId": "00000000-0000-4000-8000-000000000000"},
    )
    assert missing.status == 404
    # An administrator lifts it: 204, and the right password works at once
    cleared = call("DELETE", path, caller=admin.caller, path_params={"userId": str(ada.id)})
    assert (cleared.status, cleared.body) == (204, None)
    assert _attempts(admin_sql, "ACCOUNT", "ada@example.com") is None
    assert _login("ada@example.com").status == 200
    # And lifting a lock that is not there is the same 204
    again = call("DELETE", path, caller=admin.caller, path_params={"userId": str(ada.id)})
    assert again.status == 204


# --- one account per email, whatever its Unicode form ---------------------------------------


def test_full_width_and_case_variants_of_an_email_are_the_same_account(
    register: Callable[..., Account], admin_sql: Any
) -> None:
    # Given an account registered with full-width letters and capitals
    account = register(wide("ADA@Example.com"))
    # Then it is stored in its folded form
    assert account.email == "ada@example.com"
    assert (
        scalar(admin_sql, "SELECT email FROM lms_user.users WHERE id = :u", u=account.id)
        == "ada@example.com"
    )
    # And the plain form logs in, and cannot register again, nor can another look-alike
    assert _login("Ada@Example.com").status == 200
    assert _login(wide("ada") + "@example.com").status == 200
    body = {"email": "ADA@EXAMPLE.COM", "password": PASSWORD, "displayName": "Twin"}
    assert call("POST", "/auth/register", body=body).status == 409
    body["email"] = wide("ada") + "@" + wide("example") + ".com"
    assert call("POST", "/auth/register", body=body).status == 409
    # And failures on either form count against the one account
    _login(wide("ADA") + "@example.com", WRONG)
    _login("ada@example.com", WRONG)
    assert _attempts(admin_sql, "ACCOUNT", "ada@example.com") == {
        "failures": 2,
        "lock_seconds": None,
    }
