"""How one value reads in a table cell for people (never in JSON or CSV, which stay exact).

Values arrive as JSON-ready data (see :func:`shifty_ent.core.canonical.to_jsonable`), so a
time is an ISO 8601 string and money is a decimal string; the key says what a number means:

- times: seconds precision, in the local zone (``TZ``, else the system's), with the offset;
- sizes (``size_bytes``, ``*_bytes``, ``size`` of a file): binary units, ``2.0 GiB``;
- money (``price``, ``cost``, ``budget``, ``amount``, ``spend``, ``gpu_rate`` keys): ``$`` and two
  decimals, or three significant digits below one dollar (``$0.412``), never 30 digits;
- other fractions: at most two decimals (``0.67``);
- booleans: ``yes``/``no``, inside nested values too; nested objects: ``key: value, ...``;
- ids: the first 8 characters of a UUID (any unique prefix is accepted back).

Headers are the JSON keys in Title Case (``size_bytes`` reads ``Size``, ``gpu_type`` ``GPU
Type``).
"""

from __future__ import annotations

import os
import re
from datetime import datetime, tzinfo
from decimal import Decimal, InvalidOperation
from functools import cache
from typing import Any

_ISO_TIME = re.compile(r"^\d{4}-\d{2}-\d{2}[T ]\d{2}:\d{2}(:\d{2}(\.\d+)?)?(Z|[+-]\d{2}:?\d{2})?$")
_DECIMAL = re.compile(r"^-?\d+(\.\d+)?$")
_MONEY_WORDS = frozenset({"price", "cost", "budget", "amount", "spend"})
_MONEY_RATES = frozenset({"gpu_rate", "storage_rate", "bandwidth_rate"})  # not learning_rate
_ACRONYMS = {
    "id": "ID",
    "ids": "IDs",
    "gpu": "GPU",
    "url": "URL",
    "xp": "XP",
    "sha256": "SHA-256",
    "usd": "USD",
    "hf": "HF",
    "s3": "S3",
    "ok": "OK",
    "api": "API",
    "pii": "PII",
    "phi": "PHI",
    "gb": "GB",
    "mb": "MB",
    "ram": "RAM",
    "cpu": "CPU",
    "sla": "SLA",
    "ttl": "TTL",
}
# keys whose Title Case would mislead once the value is rendered (the unit moves into the cell)
_LABELS = {"size_bytes": "Size", "bytes": "Size"}
NESTED_MAX = 48  # characters of a nested value in a list table (the full text: --wide or show)


def header(key: str) -> str:
    """``size_bytes`` -> ``Size``, ``gpu_type`` -> ``GPU Type``, ``created_at`` -> ``Created
    At``."""
    if key in _LABELS:
        return _LABELS[key]
    words = [w for w in key.split("_") if w]
    if len(words) > 1 and words[-1] == "bytes":
        words = words[:-1]
    return " ".join(_ACRONYMS.get(w.lower(), w[:1].upper() + w[1:]) for w in words) or key


_SIZE_KEYS = frozenset({"bytes", "size", "total_size", "size_before"})  # not batch_size


def is_size(key: str) -> bool:
    return key in _SIZE_KEYS or key.endswith("_bytes")


def is_money(key: str) -> bool:
    words = key.lower().split("_")
    return bool(_MONEY_WORDS.intersection(words)) or key.lower() in _MONEY_RATES


def is_id(key: str) -> bool:
    return key == "id" or key.endswith("_id") or key.endswith("_ids")


def cell(key: str, value: Any, *, nested_max: int | None = None, short_ids: bool = True) -> str:
    """``value`` (JSON-ready) as people read it in the column ``key``; ``nested_max`` cuts a
    long nested value, ``short_ids`` shortens UUIDs (list tables; a detail view shows them
    whole)."""
    if value is None:
        return ""
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, dict | list):
        text = nested(key, value, short_ids=short_ids)
        if nested_max is not None and len(text) > nested_max:
            return text[: nested_max - 1].rstrip() + "…"
        return text
    if isinstance(value, int):
        return size(value) if is_size(key) else str(value)
    if isinstance(value, float):
        if is_money(key):
            return money(Decimal(repr(value)))
        return size(int(value)) if is_size(key) else ratio(value)
    text = str(value)
    if is_money(key) and _DECIMAL.match(text):
        return money(Decimal(text))
    if _ISO_TIME.match(text):
        return when(text)
    if short_ids and is_id(key) and len(text) == 36 and text.count("-") == 4:
        return text[:8]
    return text


def nested(key: str, value: Any, *, short_ids: bool = True) -> str:
    """A list or object as short text: ``auto_delete: no, days: 30``; lists joined by commas."""
    if isinstance(value, dict):
        return ", ".join(f"{k}: {_inner(str(k), v, short_ids)}" for k, v in value.items())
    if isinstance(value, list):
        sep = "; " if any(isinstance(v, dict) for v in value) else ", "
        return sep.join(_inner(key, v, short_ids) for v in value)
    return cell(key, value, short_ids=short_ids)


def _inner(key: str, value: Any, short_ids: bool) -> str:
    if isinstance(value, dict):
        return "(" + nested(key, value, short_ids=short_ids) + ")"
    if isinstance(value, list):
        return "[" + nested(key, value, short_ids=short_ids) + "]"
    return cell(key, value, short_ids=short_ids)


def size(n: int) -> str:
    """Bytes in binary units: ``512 B``, ``1.5 KiB``, ``2.0 GiB``."""
    amount = float(n)
    for unit in ("B", "KiB", "MiB", "GiB", "TiB", "PiB"):
        if abs(amount) < 1024 or unit == "PiB":
            return f"{int(amount)} B" if unit == "B" else f"{amount:.1f} {unit}"
        amount /= 1024
    raise AssertionError("unreachable")


def money(value: Decimal) -> str:
    """``$1,234.50``; below one dollar three significant digits (``$0.412``, ``$0.0000417``)."""
    sign = "-" if value < 0 else ""
    value = abs(value)
    if value >= 1 or value == 0:
        return f"{sign}${value:,.2f}"
    try:
        places = max(2, min(8, 2 - value.adjusted()))
        text = f"{value:.{places}f}"
    except InvalidOperation:
        text = str(value)
    whole, _, frac = text.partition(".")
    frac = frac.rstrip("0").ljust(2, "0")
    return f"{sign}${whole}.{frac}"


def ratio(value: float) -> str:
    """At most two decimals (``0.67``, ``12.5``); tiny values keep two significant digits."""
    if value != value or value in (float("inf"), float("-inf")):
        return str(value)
    if value != 0 and abs(value) < 0.01:
        return f"{value:.2g}"
    text = f"{value:.2f}".rstrip("0")
    return text + "0" if text.endswith(".") else text


def when(text: str) -> str:
    """An ISO 8601 time as ``2026-03-01 10:15:30+01:00`` in the local zone (seconds precision)."""
    try:
        at = datetime.fromisoformat(text.replace("Z", "+00:00"))
    except ValueError:
        return text
    if at.tzinfo is not None:
        at = at.astimezone(local_zone())
    return at.isoformat(sep=" ", timespec="seconds")


def local_zone() -> tzinfo | None:
    """The zone ``TZ`` names (read at each call, so a wrapper or a test may set it); None for
    the system's local zone, whose offset ``astimezone`` then finds for each instant (DST)."""
    return _zone(os.environ.get("TZ", "").lstrip(":"))


@cache
def _zone(name: str) -> tzinfo | None:
    if not name or name.startswith("/"):
        return None
    try:
        from zoneinfo import ZoneInfo

        return ZoneInfo(name)
    except (ValueError, KeyError, OSError):
        return None
