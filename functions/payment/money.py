"""Money: a ``Decimal`` amount and an ISO 4217 currency, never a float.

Each currency has its number of minor units (ISO 4217's exponent): 2 for USD and EUR, 0
for JPY and KRW. An amount may not have more decimals than its currency (``"10.5"`` JPY is
refused), travels in JSON as a decimal string with exactly its currency's decimals
(``"19.90"``, ``"1000"``), and reaches the gateway as an integer count of minor units.

The currencies served are those where ISO 4217 and the gateway (Stripe) agree on the
exponent. Left out on purpose: the three-decimal currencies (BHD, JOD, KWD, OMR, TND: the
gateway wants their last digit 0) and those the gateway counts differently from ISO (ISK,
HUF, TWD, MGA, UGX).
"""

from __future__ import annotations

from decimal import Decimal, InvalidOperation

ZERO_DECIMAL = frozenset(
    {
        "BIF",
        "CLP",
        "DJF",
        "GNF",
        "JPY",
        "KMF",
        "KRW",
        "PYG",
        "RWF",
        "VND",
        "VUV",
        "XAF",
        "XOF",
        "XPF",
    }
)
TWO_DECIMAL = frozenset(
    {
        "AED", "ARS", "AUD", "BDT", "BGN", "BRL", "CAD", "CHF", "CNY", "COP", "CZK", "DKK",
        "EGP", "EUR", "GBP", "HKD", "IDR", "ILS", "INR", "KES", "LKR", "MAD", "MXN", "MYR",
        "NGN", "NOK", "NZD", "PEN", "PHP", "PKR", "PLN", "QAR", "RON", "RSD", "SAR", "SEK",
        "SGD", "THB", "TRY", "UAH", "USD", "UYU", "ZAR",
    }
)  # fmt: skip
CURRENCIES = ZERO_DECIMAL | TWO_DECIMAL
# The gateway's largest amount: eight digits of minor units (999,999.99 USD).
MAX_MINOR_UNITS = 99_999_999


class MoneyError(ValueError):
    pass


def exponent(currency: str) -> int:
    if currency not in CURRENCIES:
        raise MoneyError(f"{currency!r} is not a supported ISO 4217 currency")
    return 0 if currency in ZERO_DECIMAL else 2


def parse_amount(text: str, currency: str) -> Decimal:
    """A positive amount in ``currency`` from its decimal string, or ``MoneyError``."""
    places = exponent(currency)
    try:
        amount = Decimal(text)
    except InvalidOperation:
        raise MoneyError("must be a decimal number such as 19.90") from None
    if not amount.is_finite() or amount <= 0:
        raise MoneyError("must be greater than zero")
    exponent_of_text = amount.as_tuple().exponent
    assert isinstance(exponent_of_text, int)
    if -exponent_of_text > places and amount != amount.quantize(Decimal(1).scaleb(-places)):
        unit = "no decimals" if places == 0 else f"at most {places} decimals"
        raise MoneyError(f"{currency} amounts have {unit}")
    if to_minor(amount, currency) > MAX_MINOR_UNITS:
        raise MoneyError(f"must be at most {format_amount(max_amount(currency), currency)}")
    return amount


def to_minor(amount: Decimal, currency: str) -> int:
    """The amount as an integer of minor units (19.90 USD -> 1990, 1000 JPY -> 1000)."""
    return int(amount.scaleb(exponent(currency)).to_integral_exact())


def format_amount(amount: Decimal, currency: str) -> str:
    """The amount with exactly its currency's decimals: ``"19.90"``, ``"1000"``."""
    return f"{amount.quantize(Decimal(1).scaleb(-exponent(currency))):f}"


def max_amount(currency: str) -> Decimal:
    return Decimal(MAX_MINOR_UNITS).scaleb(-exponent(currency))
