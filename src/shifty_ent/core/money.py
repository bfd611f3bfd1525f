"""Money formatting without database imports (the output layer needs it on every command)."""

from __future__ import annotations

from decimal import Decimal


def money_str(value: Decimal | None) -> str | None:
    """Money as the JSON contract wants it: a decimal string with at least two places."""
    if value is None:
        return None
    norm = value.normalize()
    exponent = norm.as_tuple().exponent
    if isinstance(exponent, int) and exponent >= -2:
        return format(value.quantize(Decimal("0.01")), "f")
    return format(norm, "f")
