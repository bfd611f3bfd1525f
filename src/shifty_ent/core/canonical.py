"""Canonical JSON (RFC 8785, JCS) and conversion of our values to plain JSON types.

Hashes (audit chain) and signatures (certificates, reports) are computed over canonical bytes, so
the same content always gives the same digest whatever key order or whitespace a file has.
"""

from __future__ import annotations

import dataclasses
import enum
import hashlib
import json
import uuid
from datetime import date, datetime
from decimal import Decimal
from pathlib import Path
from typing import Any

import orjson
import rfc8785

from shifty_ent.core.money import money_str


def to_jsonable(value: Any) -> Any:
    """UUID -> str, datetime -> ISO 8601 with offset, Decimal -> str, objects -> dicts."""
    if value is None or isinstance(value, bool | int | str):
        return value
    if isinstance(value, float):
        return value
    if isinstance(value, uuid.UUID):
        return str(value)
    if isinstance(value, datetime):
        return value.isoformat()
    if isinstance(value, date):
        return value.isoformat()
    if isinstance(value, Decimal):
        return money_str(value)
    if isinstance(value, enum.Enum):
        return to_jsonable(value.value)
    if isinstance(value, Path):
        return str(value)
    if isinstance(value, dict):
        return {str(k): to_jsonable(v) for k, v in value.items()}
    if isinstance(value, list | tuple | set | frozenset):
        return [to_jsonable(v) for v in value]
    public = getattr(value, "public", None)
    if callable(public):
        return to_jsonable(public())
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        return to_jsonable(dataclasses.asdict(value))
    dump = getattr(value, "model_dump", None)
    if callable(dump):
        return to_jsonable(dump())
    raise TypeError(f"cannot convert {type(value).__name__} to JSON")


def canonical_json(value: Any) -> bytes:
    """RFC 8785 bytes of ``value`` (after :func:`to_jsonable`)."""
    return rfc8785.dumps(to_jsonable(value))


def sha256_hex(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


_SORTED = orjson.OPT_SORT_KEYS | orjson.OPT_PASSTHROUGH_DATETIME | orjson.OPT_PASSTHROUGH_DATACLASS


def compact_json(value: Any) -> str:
    """Compact JSON with sorted keys: how SQLite stores JSON columns, and (for events without
    floats) the RFC 8785 text of audit details, so the chain check can hash stored text as is.
    Keys that cannot be sorted together (ints beside strings) keep their order."""
    try:
        return orjson.dumps(value, option=_SORTED).decode()
    except TypeError:  # what orjson refuses (non-string keys, integers beyond 64 bits)
        try:
            return json.dumps(value, ensure_ascii=False, separators=(",", ":"), sort_keys=True)
        except TypeError:
            return json.dumps(value, ensure_ascii=False, separators=(",", ":"))
