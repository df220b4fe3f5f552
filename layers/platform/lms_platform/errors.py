"""Failures of what the platform depends on, as the request and event paths see them.

They live apart from ``db`` and ``http`` so that both can name them without importing
each other: the database raises ``Unavailable``, the HTTP layer answers it with a 503
problem and ``Retry-After``, a consumer reports the record failed for redelivery.
"""

from __future__ import annotations


class Unavailable(Exception):
    """The database could not answer in time, or the connection to it was lost.

    Nothing of the unit of work was committed (or, for a commit whose answer was lost,
    nothing can be known: the caller retries with the same idempotency key). The caller may
    try again shortly; the next unit of work opens a fresh connection.
    """

    public_detail = "the service could not complete the request in time; try again shortly"

    def __init__(self, reason: str, *, retry_after: int = 1) -> None:
        super().__init__(reason)
        self.reason = reason
        self.retry_after = retry_after
