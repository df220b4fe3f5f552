"""Unit-test fixtures: an environment of the test's own, and caches forgotten around it."""

from __future__ import annotations

import os
from collections.abc import Iterator

import pytest

from lms_platform import auth, pagination
from lms_platform.aws import reset_clients
from lms_platform.settings import reset_settings

_AWS_VARIABLES = ("AWS_ENDPOINT_URL", "AWS_REGION", "AWS_DEFAULT_REGION")


def _forget_cached_configuration() -> None:
    reset_settings()
    reset_clients()
    auth.signing_key.cache_clear()
    pagination._key.cache_clear()


@pytest.fixture
def env(monkeypatch: pytest.MonkeyPatch) -> Iterator[pytest.MonkeyPatch]:
    """No ``LMS_*`` nor AWS endpoint/region variables; settings re-read before and after.

    Tests set what they need with ``env.setenv``; the session's environment (used by the
    integration tests) comes back untouched when the test ends.
    """
    for name in list(os.environ):
        if name.startswith("LMS_") or name in _AWS_VARIABLES:
            monkeypatch.delenv(name)
    _forget_cached_configuration()
    yield monkeypatch
    _forget_cached_configuration()
