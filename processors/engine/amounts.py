"""Exact points arithmetic with scaled integers.

Multipliers and rule points have at most four decimal places (schemas.programme), so each is
stored as an integer count of 1/10,000ths. A product of three such factors and a unit value
(an exact decimal ratio) is one integer fraction; the programme's rounding policy turns it into
whole points. No float ever reaches a booked amount.
"""

from collections.abc import Callable, Mapping
from decimal import Decimal, InvalidOperation
from typing import Final

SCALE: Final = 10_000
SCALE_CUBED: Final = SCALE**3

_POWERS_OF_TEN: Final = tuple(10**digits for digits in range(24))
"""Enough for any positional float repr: at most 17 significant digits after 4 zeros."""

Rounder = Callable[[int, int], int]
"""(numerator, denominator) -> whole points, for a non-negative numerator."""


def scaled(value: Decimal) -> int:
    """A four-decimal `Decimal` as an integer count of 1/10,000ths (exact by validation)."""
    return int(value * SCALE)


def _floor(numerator: int, denominator: int) -> int:
    return numerator // denominator


def _ceil(numerator: int, denominator: int) -> int:
    return -(-numerator // denominator)


def _round_half_up(numerator: int, denominator: int) -> int:
    return (2 * numerator + denominator) // (2 * denominator)


ROUNDERS: Final[Mapping[str, Rounder]] = {
    "floor": _floor,
    "ceil": _ceil,
    "round_half_up": _round_half_up,
}


def unit_ratio(value: int | float) -> tuple[int, int]:
    """A metadata number as an exact ratio of its decimal spelling: 0.1 is 1/10, not the binary
    fraction, so 10 * 0.1 GHS earns exactly 1 point."""
    if type(value) is int:
        return value, 1
    text = repr(value)
    if "e" in text:  # 1e+16, 1.5e-05: rare, left to Decimal
        return Decimal(text).as_integer_ratio()
    # '123.45' is 12345/100: not in lowest terms, which no rounding policy minds.
    whole, _, fraction = text.partition(".")
    return int(whole + fraction), _POWERS_OF_TEN[len(fraction)]


def display(value_e4: int) -> str:
    """A scaled multiplier for explanations: 15000 -> '1.5'."""
    return format((Decimal(value_e4) / SCALE).normalize(), "f")


AMOUNT_DIGITS_MAX: Final = 30


def returned_amount(value: object) -> str | None:
    """The amount as an exact decimal's text, or None if it is not a number above 0."""
    if isinstance(value, bool) or not isinstance(value, int | float):
        return None
    try:
        amount = Decimal(str(value))
    except InvalidOperation:
        return None
    if not amount.is_finite() or amount <= 0 or len(amount.as_tuple().digits) > AMOUNT_DIGITS_MAX:
        return None
    return format(amount.normalize(), "f")
