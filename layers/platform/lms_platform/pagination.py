"""Keyset cursors (opaque, signed: a tampered or malformed one is a 400) and page sizes."""

from __future__ import annotations

import hashlib
import hmac
import json
from collections.abc import Mapping, Sequence
from functools import lru_cache
from typing import Annotated, Any, TypeVar

from lms_platform.http import BadRequest, Query, decode_base64url, encode_base64url
from lms_platform.settings import get_settings

DEFAULT_LIMIT = 20
MAX_LIMIT = 100
_MAC_BYTES = 16

R = TypeVar("R", bound=Mapping[str, Any])

Limit = Annotated[int, Query(ge=1, le=MAX_LIMIT, description="page size")]
CursorParam = Annotated[
    str | None, Query(max_length=512, description="nextCursor of the previous page")
]


@lru_cache(maxsize=1)
def _key() -> bytes:
    settings = get_settings()
    if settings.cursor_key:
        return settings.cursor_key.encode()
    if settings.db_secret_arn:
        # On AWS the service's own secret is already read at start-up; a cursor key is
        # derived from it rather than costing another secret read.
        from lms_platform.secrets import secret_json

        password = str(secret_json(settings.db_secret_arn)["password"]).encode()
        return hmac.new(password, b"lms-cursor-key", hashlib.sha256).digest()
    raise RuntimeError("no cursor key: set LMS_CURSOR_KEY")


def encode_cursor(scope: str, values: list[Any]) -> str:
    """A cursor for the list ``scope`` positioned after the row with keys ``values``."""
    payload = json.dumps([scope, values], separators=(",", ":"), default=str).encode()
    mac = hmac.new(_key(), payload, hashlib.sha256).digest()[:_MAC_BYTES]
    return encode_base64url(mac + payload)


def decode_cursor(scope: str, cursor: str) -> list[Any]:
    try:
        raw = decode_base64url(cursor)
    except (ValueError, TypeError) as error:
        raise BadRequest("the cursor is malformed") from error
    # base64 decoding forgives stray characters, surplus padding and the unused bits of
    # the last character, so many strings decode to one signed payload: only the exact
    # string this module made is a cursor.
    if encode_base64url(raw) != cursor:
        raise BadRequest("the cursor is malformed")
    mac, payload = raw[:_MAC_BYTES], raw[_MAC_BYTES:]
    expected = hmac.new(_key(), payload, hashlib.sha256).digest()[:_MAC_BYTES]
    if len(mac) != _MAC_BYTES or not hmac.compare_digest(mac, expected):
        raise BadRequest("the cursor is invalid or was altered")
    found_scope, values = json.loads(payload)
    if found_scope != scope or not isinstance(values, list):
        raise BadRequest("the cursor belongs to another list")
    return values


# --- keyset pages on (a time, id), newest or oldest first ---------------------------------------


def keyset_after(scope: str, cursor: str | None, at: str) -> dict[str, Any]:
    """The statement parameters a page's cursor stands for: ``{at: time, "after_id": id}``
    of the last row of the page before; none for the first page (no cursor, or an empty one)."""
    if not cursor:
        return {}
    time, after_id = decode_cursor(scope, cursor)
    return {at: time, "after_id": after_id}


def keyset_page(rows: Sequence[R], limit: int, scope: str, at: str) -> tuple[list[R], str | None]:
    """A page of ``rows`` read with ``LIMIT limit + 1`` (a row past the page says another
    follows), and the cursor after its last row (its ``at`` time and id); None on the last."""
    page = list(rows[:limit])
    if len(rows) <= limit:
        return page, None
    last = page[-1]
    return page, encode_cursor(scope, [last[at].isoformat(), str(last["id"])])
