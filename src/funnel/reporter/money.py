"""Money on the wire: exact decimals, two places, as strings."""

from decimal import ROUND_HALF_UP, Decimal
from typing import Final

_CENT: Final = Decimal("0.01")


def to_money(amount: Decimal | int) -> str:
    """`amount` rounded half up to the cent, e.g. "1234.50"; sums of cents stay exact."""
    return str(Decimal(amount).quantize(_CENT, rounding=ROUND_HALF_UP))


def average(total: Decimal, count: int) -> str:
    """`total / count` to the cent (half up), "0.00" when there is nothing to average."""
    if count == 0:
        return to_money(0)
    return to_money(total / count)
