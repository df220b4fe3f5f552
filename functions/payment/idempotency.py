"""Idempotency keys with Stripe's semantics, kept in the service's own database.

A client that retries a request sends the same ``Idempotency-Key``. Per caller and key:

- the first request claims the key with the request's fingerprint (the operation, its
  target and its body, hashed) and a lease for as long as it may run;
- its final answer (status and body) is stored with the state change that made it final,
  in the same transaction, and replayed to every later request with the same key and the
  same fingerprint, marked ``Idempotent-Replayed: true`` -- a failure (a declined card, an
  invoice already paid) as much as a success;
- a request with the key and another fingerprint is refused (422), and one that comes
  while the first still holds the lease gets 409 (try again shortly);
- a request that ended without a final answer (the gateway did not answer in time) keeps
  nothing: the lease is released and a retry with the key takes up the same work where it
  stopped, under the same gateway keys, so nothing is charged twice; if its function died
  instead, the retry may take over when the lease runs out;
- keys are kept 24 hours; after that the same key starts a new request.

The records are rows next to the business rows (not a cache beside the database), so an
answer and the change it reports commit together or not at all.
"""

from __future__ import annotations

import hashlib
import json
import uuid
from dataclasses import dataclass
from typing import Annotated, Any

from functions.payment import store
from lms_platform.db import Database, UnitOfWork
from lms_platform.http import (
    PROBLEM_JSON,
    Conflict,
    Header,
    Problem,
    Response,
    problem_body,
)

KEEP_SECONDS = 24 * 3600
# Longer than a route function may run (10 s): a lease outlives the request that took it,
# so a retry never takes over a request that is still running.
LEASE_SECONDS = 30
REPLAYED = "Idempotent-Replayed"

IdempotencyKey = Annotated[
    str,
    Header(
        "Idempotency-Key",
        pattern=r"^[!-~]{1,255}$",
        description="a unique key per intended operation (a UUID v4), reused on retries",
    ),
]


class KeyInUse(Conflict):
    title = "Idempotency key in use"
    headers = {"Retry-After": "1"}  # noqa: RUF012 (read-only class default)


class KeyReused(Problem):
    status, title = 422, "Idempotency key reused"


def fingerprint(operation: str, target: object, body: Any) -> str:
    text = json.dumps([operation, str(target), body], sort_keys=True, separators=(",", ":"))
    return hashlib.sha256(text.encode()).hexdigest()


@dataclass(frozen=True)
class Claim:
    """The key held by this request."""

    user_id: uuid.UUID
    key: str
    id: uuid.UUID  # this use of the key
    # First sent now (nothing can have been done under it yet), rather than taken up again.
    fresh: bool = False


def claim(uow: UnitOfWork, user_id: uuid.UUID, key: str, fingerprint: str) -> Claim | Response:
    """The key for this request, or the answer it gets instead: the stored response
    replayed, or a ``KeyReused``/``KeyInUse`` problem raised. Commits nothing itself."""
    claimed = uow.fetch_one(
        store.CLAIM_KEY,
        user_id=user_id,
        key=key,
        id=uuid.uuid4(),
        fingerprint=fingerprint,
        lease=float(LEASE_SECONDS),
        keep=float(KEEP_SECONDS),
    )
    if claimed is not None:
        return Claim(user_id, key, claimed["id"], bool(claimed["fresh"]))
    record = uow.fetch_one(store.KEY_RECORD, user_id=user_id, key=key)
    assert record is not None, "the key's row is locked by the claim"
    if record["fingerprint"] != fingerprint:
        raise KeyReused("this Idempotency-Key was used with another request; use a new key")
    if record["response_status"] is not None:
        return replay(record["response_status"], record["response_body"])
    raise KeyInUse("a request with this Idempotency-Key is still in progress; retry shortly")


def replay(status: int, body: str) -> Response:
    return Response(
        status_code=status,
        body=body,
        headers={REPLAYED: "true"},
        content_type=PROBLEM_JSON if status >= 400 else "application/json",
    )


def finish(uow: UnitOfWork, held: Claim, status: int, body: str) -> Response:
    """Keep the final answer (in the caller's transaction) and return it."""
    uow.execute(
        store.FINISH_KEY, user_id=held.user_id, key=held.key, id=held.id, status=status, body=body
    )
    return Response(
        status_code=status,
        body=body,
        content_type=PROBLEM_JSON if status >= 400 else "application/json",
    )


def finish_problem(uow: UnitOfWork, held: Claim, problem: Problem) -> Response:
    response = finish(
        uow,
        held,
        problem.status,
        problem_body(problem.status, problem.title, problem.detail, **problem.extensions),
    )
    response.headers.update(problem.headers)
    return response


def release(db: Database, held: Claim) -> None:
    db.execute(store.RELEASE_KEY, user_id=held.user_id, key=held.key, id=held.id)


def forget(uow: UnitOfWork, held: Claim) -> None:
    uow.execute(store.FORGET_KEY, user_id=held.user_id, key=held.key, id=held.id)
