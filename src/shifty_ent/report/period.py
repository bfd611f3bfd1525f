"""The reporting period: ``[start, end)`` in UTC, from ``--start``/``--end`` or sensible defaults.

A date alone means midnight UTC; ``--end`` is exclusive, so ``--start 2026-01-01 --end 2026-02-01``
is exactly January. Without ``--end`` the period ends now (the one clock, so ``SHIFTY_NOW`` moves
it); without ``--start`` it covers the 30 days before the end.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta

from shifty_ent.core.clock import bounded_range

DEFAULT_DAYS = 30


@dataclass(frozen=True)
class Period:
    start: datetime
    end: datetime

    @property
    def days(self) -> float:
        return (self.end - self.start).total_seconds() / 86400

    def contains(self, when: datetime | None) -> bool:
        return when is not None and self.start <= when < self.end

    def label(self) -> str:
        return f"{self.start.isoformat()} to {self.end.isoformat()} (end exclusive)"

    def public(self) -> dict[str, str]:
        return {"start": self.start.isoformat(), "end": self.end.isoformat()}

    def day_list(self) -> list[date]:
        """Every UTC calendar day the period touches, in order."""
        first = self.start.date()
        last = (self.end - timedelta(microseconds=1)).date()
        return [first + timedelta(days=i) for i in range((last - first).days + 1)]


def parse_period(
    start: str | None, end: str | None, *, now: datetime, default_days: int = DEFAULT_DAYS
) -> Period:
    """Build the period from the command's options; exit 2 when it is empty or reversed."""
    return Period(*bounded_range(start, end, now=now, default_days=default_days))


def month_bounds(when: datetime) -> tuple[datetime, datetime]:
    """The UTC calendar month holding ``when``: ``[first day 00:00, next first day 00:00)``."""
    first = when.astimezone(UTC).replace(day=1, hour=0, minute=0, second=0, microsecond=0)
    nxt = (first + timedelta(days=32)).replace(day=1)
    return first, nxt


def week_start(day: date) -> date:
    """Monday of the ISO week holding ``day``."""
    return day - timedelta(days=day.weekday())
