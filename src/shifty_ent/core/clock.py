"""The program's one clock.

Every "now" in shifty-ent comes from :func:`now`, which honours ``SHIFTY_NOW`` (ISO 8601) so that a
sweep can be previewed for a future date and tests can move time without patching.
"""

from __future__ import annotations

import os
from datetime import UTC, datetime, timedelta

from shifty_ent.core.errors import InvalidInput


def parse_instant(text: str, *, name: str = "time") -> datetime:
    """Parse ISO 8601 (a date alone means midnight UTC); naive times are taken as UTC."""
    raw = text.strip()
    if raw.endswith("Z"):
        raw = raw[:-1] + "+00:00"
    try:
        value = datetime.fromisoformat(raw)
    except ValueError:
        raise InvalidInput(f"{name}: {text!r} is not an ISO 8601 date or time") from None
    if value.tzinfo is None:
        value = value.replace(tzinfo=UTC)
    return value.astimezone(UTC)


def parse_range(
    start: str | datetime | None, end: str | datetime | None
) -> tuple[datetime | None, datetime | None]:
    """``--start``/``--end`` as UTC instants (either may be open); exit 2 when the range is
    empty or reversed. One rule for every command that takes a period."""
    a = parse_instant(start, name="--start") if isinstance(start, str) else start
    b = parse_instant(end, name="--end") if isinstance(end, str) else end
    if a is not None and b is not None and a >= b:
        raise InvalidInput(f"--start {a.isoformat()} must be before --end {b.isoformat()}")
    return a, b


def bounded_range(
    start: str | None, end: str | None, *, now: datetime, default_days: int
) -> tuple[datetime, datetime]:
    """A closed period: ``end`` defaults to ``now``, ``start`` to ``default_days`` before it."""
    start_at, end_at = parse_range(start, end)
    end_at = end_at or now.astimezone(UTC)
    start_at, _ = parse_range(start_at or end_at - timedelta(days=default_days), end_at)
    assert start_at is not None
    return start_at, end_at


def is_fixed() -> bool:
    """Whether ``SHIFTY_NOW`` replaces the real time for this process."""
    return bool(os.environ.get("SHIFTY_NOW"))


def now() -> datetime:
    """Current time, timezone-aware UTC; ``SHIFTY_NOW`` overrides it."""
    fixed = os.environ.get("SHIFTY_NOW")
    if fixed:
        return parse_instant(fixed, name="SHIFTY_NOW")
    return datetime.now(UTC)


def as_utc(value: datetime | None) -> datetime | None:
    """Databases may hand back naive datetimes (SQLite); they are stored as UTC."""
    if value is None:
        return None
    if value.tzinfo is None:
        return value.replace(tzinfo=UTC)
    return value.astimezone(UTC)
