"""The program's one clock.

Every "now" in shifty-ent comes from :func:`now`, which honours ``SHIFTY_NOW`` (ISO 8601) so that a
sweep can be previewed for a future date and tests can move time without patching.
"""

from __future__ import annotations

import os
from datetime import UTC, datetime

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
