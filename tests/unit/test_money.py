"""Money: decimal amounts in each currency's minor units, never a float."""

from __future__ import annotations

from decimal import Decimal

import pytest

from functions.payment import money


@pytest.mark.parametrize(
    ("text", "currency", "minor", "shown"),
    [
        ("19.90", "USD", 1990, "19.90"),
        ("19.9", "EUR", 1990, "19.90"),
        ("1500", "JPY", 1500, "1500"),
        ("1500.00", "JPY", 1500, "1500"),
        ("0.01", "GBP", 1, "0.01"),
        ("999999.99", "USD", 99_999_999, "999999.99"),
    ],
)
def test_amounts_convert_to_minor_units_and_back(
    text: str, currency: str, minor: int, shown: str
) -> None:
    amount = money.parse_amount(text, currency)
    assert isinstance(amount, Decimal)
    assert money.to_minor(amount, currency) == minor
    assert money.format_amount(amount, currency) == shown


@pytest.mark.parametrize(
    ("text", "currency"),
    [("10.5", "JPY"), ("1.001", "USD"), ("0", "USD"), ("-1", "USD"), ("abc", "USD"),
     ("1000000.00", "USD"), ("NaN", "USD"), ("10", "XYZ"), ("10", "KWD")],
)  # fmt: skip
def test_amounts_that_do_not_fit_are_refused(text: str, currency: str) -> None:
    with pytest.raises(money.MoneyError):
        money.parse_amount(text, currency)
