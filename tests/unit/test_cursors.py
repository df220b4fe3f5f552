"""Keyset cursors: opaque and signed, so a malformed, altered or foreign cursor is a 400."""

from __future__ import annotations

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from lms_platform import pagination
from lms_platform.http import BadRequest, decode_base64url, encode_base64url
from lms_platform.pagination import decode_cursor, encode_cursor
from lms_platform.settings import reset_settings

SCOPE = "users"
KEYS = ["2024-05-01T10:00:00+00:00", "0b6e3f2c-6f6e-4a4f-9d3b-2f9a0d7f1c11"]
BASE64URL = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_"


@pytest.fixture
def cursor_key(env: pytest.MonkeyPatch) -> None:
    env.setenv("LMS_CURSOR_KEY", "a cursor key for the tests")


def _use_cursor_key(env: pytest.MonkeyPatch, key: str) -> None:
    env.setenv("LMS_CURSOR_KEY", key)
    reset_settings()
    pagination._key.cache_clear()


def _refused(scope: str, cursor: str) -> BadRequest:
    with pytest.raises(BadRequest) as caught:
        decode_cursor(scope, cursor)
    return caught.value


@pytest.mark.usefixtures("cursor_key")
class TestCursor:
    def test_decoding_gives_back_the_encoded_keys(self) -> None:
        # Given a cursor after the row with these keys
        cursor = encode_cursor(SCOPE, [*KEYS, 42])
        # When it is decoded for the same list
        # Then the keys come back unchanged
        assert decode_cursor(SCOPE, cursor) == [*KEYS, 42]

    def test_a_cursor_is_url_safe_and_does_not_show_its_keys(self) -> None:
        # Given a cursor
        cursor = encode_cursor(SCOPE, KEYS)
        # Then it can travel in a query string as is, and the keys are not readable in it
        assert set(cursor) <= set(BASE64URL)
        assert KEYS[1] not in cursor

    def test_a_cursor_with_an_altered_payload_is_refused(self) -> None:
        # Given a valid cursor whose payload is rewritten (keys moved) but not re-signed
        raw = decode_base64url(encode_cursor(SCOPE, KEYS))
        mac, payload = raw[:16], raw[16:]
        forged = encode_base64url(mac + payload.replace(b"2024", b"2023"))
        # When / Then it is refused as a bad request
        error = _refused(SCOPE, forged)
        assert error.status == 400

    def test_a_cursor_signed_with_another_key_is_refused(self, env: pytest.MonkeyPatch) -> None:
        # Given a cursor made under another key (another deployment, a guess)
        _use_cursor_key(env, "some other key")
        foreign = encode_cursor(SCOPE, KEYS)
        _use_cursor_key(env, "a cursor key for the tests")
        # When / Then it is refused
        assert _refused(SCOPE, foreign).status == 400

    def test_a_cursor_of_another_list_is_refused(self) -> None:
        # Given a genuine cursor of the organizations list
        cursor = encode_cursor("organizations", KEYS)
        # When it is used on the users list, Then it is refused
        error = _refused(SCOPE, cursor)
        assert error.status == 400
        assert "another list" in str(error.detail)

    @pytest.mark.parametrize(
        "malformed",
        ["", "a", "!!!!", "not a cursor at all", "é", "%%%", "AAAA", "A" * 40, "\x00\x01"],
    )
    def test_a_malformed_cursor_is_a_bad_request(self, malformed: str) -> None:
        # Given a string that was never a cursor
        # When / Then decoding answers 400, never another exception
        assert _refused(SCOPE, malformed).status == 400

    # base64 decoders forgive a lot: characters outside the alphabet, surplus padding, and
    # the unused low bits of the last character. Each of these leaves the decoded bytes
    # (and so the MAC) intact, so only an exact-string check refuses them.
    @pytest.mark.parametrize("key", ["a", "ab", "abc"])  # the three lengths modulo 4
    @pytest.mark.parametrize(
        "mutate",
        [
            pytest.param(lambda c: c + "!", id="junk appended"),
            pytest.param(lambda c: "!" + c, id="junk prepended"),
            pytest.param(lambda c: c[:4] + "\n" + c[4:], id="newline inserted"),
            pytest.param(lambda c: c + "=", id="padding appended"),
            pytest.param(lambda c: c[:-1] + chr(ord(c[-1]) ^ 1), id="last char low bit"),
        ],
    )
    def test_a_cursor_that_decodes_to_the_same_bytes_is_still_refused(
        self, key: str, mutate: object
    ) -> None:
        # Given a genuine cursor and a variant that a lenient base64 decoder reads the same
        cursor = encode_cursor(SCOPE, [key])
        variant = mutate(cursor)  # type: ignore[operator]
        assert variant != cursor
        # When / Then the variant is refused: a cursor is one exact string
        assert _refused(SCOPE, variant).status == 400


def _mutations(cursor: str) -> st.SearchStrategy[str]:
    positions = st.integers(min_value=0, max_value=len(cursor) - 1)
    any_char = st.characters(codec="utf-8", exclude_categories=("Cs",))
    replaced = st.tuples(positions, st.sampled_from(BASE64URL + "=!. +/")).map(
        lambda p: cursor[: p[0]] + p[1] + cursor[p[0] + 1 :]
    )
    inserted = st.tuples(st.integers(0, len(cursor)), any_char).map(
        lambda p: cursor[: p[0]] + p[1] + cursor[p[0] :]
    )
    deleted = positions.map(lambda i: cursor[:i] + cursor[i + 1 :])
    truncated = positions.map(lambda i: cursor[:i])
    extended = st.text(alphabet=BASE64URL + "=", min_size=1, max_size=8).map(lambda t: cursor + t)
    return st.one_of(replaced, inserted, deleted, truncated, extended).filter(lambda m: m != cursor)


@settings(
    max_examples=300, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(data=st.data())
def test_any_mutation_of_a_cursor_is_refused(cursor_key: None, data: st.DataObject) -> None:
    # Given a genuine cursor (of any length, so every base64 tail shape occurs)
    keys = data.draw(st.lists(st.one_of(st.text(max_size=12), st.integers()), max_size=3))
    cursor = encode_cursor(SCOPE, keys)
    # When any character of it is replaced, inserted, deleted, or it is cut or extended
    mutated = data.draw(_mutations(cursor))
    # Then the mutated string is refused with a 400: a cursor is one exact string
    with pytest.raises(BadRequest):
        decode_cursor(SCOPE, mutated)
