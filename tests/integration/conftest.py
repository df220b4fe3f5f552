"""Integration fixtures: the User service's database as its own role sees it."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from lms_platform.db import Database

ROLE = "lms_user"


@pytest.fixture
def db(db_clean: None) -> Iterator[Database]:
    """A ``Database`` for the User service's role, on emptied tables, closed afterwards."""
    database = Database(ROLE)
    yield database
    database.discard_connection()
