"""Resolve what a user types (<X>: full UUID, unique id prefix, or unique name) to one row."""

from __future__ import annotations

import re
import uuid
from typing import Any, TypeVar

from sqlalchemy import String, cast, func, select
from sqlalchemy.orm import Session

from shifty_ent.core.errors import InvalidInput, NotFound

T = TypeVar("T")
_HEX = re.compile(r"^[0-9a-fA-F-]+$")
MIN_PREFIX = 4


def short_id(value: uuid.UUID | str | None) -> str:
    """The 8-character prefix the CLI shows in tables."""
    return str(value)[:8] if value else ""


def parse_uuid(text: str, *, what: str = "id") -> uuid.UUID:
    try:
        return uuid.UUID(str(text))
    except ValueError:
        raise InvalidInput(f"{what}: {text!r} is not a valid UUID") from None


def prefix_clause(column: Any, prefix: str, dialect: str) -> Any:
    """``column`` starts with ``prefix`` (dashes ignored), whatever the UUID storage."""
    clean = prefix.replace("-", "").lower()
    if dialect == "postgresql":
        text = func.replace(cast(column, String), "-", "")
    else:  # SQLite stores Uuid as 32 hex characters
        text = func.lower(cast(column, String))
    return text.like(clean + "%")


def resolve(
    session: Session,
    model: type[T],
    ref: str,
    *,
    what: str,
    tenant_id: uuid.UUID | None = None,
    name_attr: str | None = "name",
    extra: Any = None,
) -> T:
    """Find one ``model`` row by UUID, unique prefix or unique name, inside ``tenant_id``.

    A 36-character value that is not a UUID is invalid input (exit 2); a value that matches
    nothing is not found (exit 3); a prefix or name matching several rows is ambiguous (exit 2).
    """
    ref = (ref or "").strip()
    if not ref:
        raise InvalidInput(f"{what}: an id or name is required")
    id_col = model.id  # type: ignore[attr-defined]  # every model resolved has an id
    base = select(model)
    if tenant_id is not None:
        base = base.where(model.tenant_id == tenant_id)  # type: ignore[attr-defined]  # tenant-owned models only
    if extra is not None:
        base = base.where(extra)
    if len(ref) == 36 and ref.count("-") == 4:
        row = session.scalars(base.where(id_col == parse_uuid(ref, what=what))).first()
        if row is None:
            raise NotFound(f"{what} {ref} not found")
        return row
    candidates: list[T] = []
    if name_attr is not None:
        candidates = list(
            session.scalars(base.where(getattr(model, name_attr) == ref).limit(2)).all()
        )
        if len(candidates) > 1:
            raise InvalidInput(f"{what} name {ref!r} is ambiguous; use the id")
    if not candidates and len(ref) >= MIN_PREFIX and _HEX.match(ref):
        dialect = session.get_bind().dialect.name
        candidates = list(
            session.scalars(base.where(prefix_clause(id_col, ref, dialect)).limit(2)).all()
        )
        if len(candidates) > 1:
            raise InvalidInput(f"{what} prefix {ref!r} is ambiguous; give more characters")
    if not candidates:
        raise NotFound(f"{what} {ref!r} not found")
    return candidates[0]
