"""Column types shared by every group's tables.

- :class:`UTCDateTime` stores timezone-aware UTC on both databases (SQLite has no time zones and
  hands back naive values; this type re-attaches UTC so comparisons never mix naive and aware).
- :class:`Money` keeps USD as an integer number of micro-dollars, so ``SUM()`` in SQL is exact on
  SQLite too (its NUMERIC is a float). Python sees :class:`~decimal.Decimal`. Raw SQL aggregates
  over a Money column return micro-dollars: divide by :data:`MICROS`.
- :class:`JSONType` is JSONB on PostgreSQL and JSON text on SQLite.
"""

from __future__ import annotations

from datetime import UTC, datetime
from decimal import ROUND_HALF_EVEN, Decimal
from typing import Any

from sqlalchemy import JSON, BigInteger, DateTime
from sqlalchemy.dialects.postgresql import JSONB
from sqlalchemy.types import TypeDecorator

from shifty_ent.core.money import money_str

MICROS = 1_000_000


class UTCDateTime(TypeDecorator[datetime]):
    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Any) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            value = value.replace(tzinfo=UTC)
        value = value.astimezone(UTC)
        if dialect.name == "sqlite":
            return value.replace(tzinfo=None)
        return value

    def process_result_value(self, value: datetime | None, dialect: Any) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            return value.replace(tzinfo=UTC)
        return value.astimezone(UTC)


def to_micros(value: Decimal | int | float | str) -> int:
    """USD -> integer micro-dollars, rounding half to even."""
    dec = value if isinstance(value, Decimal) else Decimal(str(value))
    return int((dec * MICROS).quantize(Decimal(1), rounding=ROUND_HALF_EVEN))


def from_micros(value: int | None) -> Decimal | None:
    if value is None:
        return None
    # scaleb keeps a plain exponent (50.000000, never 5E+1) so f-strings print it readably
    return Decimal(int(value)).scaleb(-6)


class Money(TypeDecorator[Decimal]):
    impl = BigInteger
    cache_ok = True

    def process_bind_param(self, value: Any, dialect: Any) -> int | None:
        if value is None:
            return None
        return to_micros(value)

    def process_result_value(self, value: Any, dialect: Any) -> Decimal | None:
        return from_micros(value)


__all__ = ["MICROS", "JSONType", "Money", "UTCDateTime", "from_micros", "money_str", "to_micros"]

JSONType = JSON().with_variant(JSONB(), "postgresql")
