"""Frozen views of one group's rows for the others (each group's ``api.py`` declares its own).

A view copies the fields it names off the row, so a caller holds plain values: it cannot change
the row behind the owning group's services, and reads nothing the view does not promise.
"""

from __future__ import annotations

from dataclasses import fields
from typing import Any, TypeVar

V = TypeVar("V")


def view_of(cls: type[V], row: object, **extra: Any) -> V:
    """The dataclass ``cls`` filled from ``row``'s attributes of the same names; ``extra`` gives
    the fields the row has no attribute for."""
    names = [f.name for f in fields(cls)]  # type: ignore[arg-type]  # cls is a dataclass
    return cls(**{n: getattr(row, n) for n in names if n not in extra}, **extra)
