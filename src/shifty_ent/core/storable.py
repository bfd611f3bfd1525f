"""Text every store keeps: no NUL character, no unpaired surrogate.

Why: PostgreSQL refuses NUL in ``text`` and in JSONB (``\\u0000``), and neither PostgreSQL nor
SQLite can encode a lone surrogate (what ``json.loads`` makes of ``"\\ud800"``) as UTF-8. Such a
value used to reach the driver and end the command with a traceback-shaped exit 1 on PostgreSQL
while SQLite kept the NUL, so the same input behaved differently per backend.

Two policies, chosen by where the text comes from:

- typed or supplied by a person (options, ``@file`` payloads, imported files): refused with exit 2
  and one line naming where the bad text sits (:func:`refuse_unstorable`);
- produced by a model or an external service: kept, with each such character written as its
  visible escape (``\\u0000``, ``\\udc80``) (:func:`escape_unstorable`).

:func:`install_guard` is the backstop on every engine: a statement whose parameters still hold
such text is refused (exit 2) before it reaches the database, whichever path built it, so no
write path can end in exit 1 and both backends answer alike.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

from shifty_ent.core.errors import InvalidInput

if TYPE_CHECKING:
    from sqlalchemy import Engine

_BAD = re.compile("[\x00\ud800-\udfff]")
WHAT_IS_BAD = "a NUL character or an unpaired surrogate, which the store cannot keep"


def has_unstorable(text: str) -> bool:
    return _BAD.search(text) is not None


def unstorable_path(value: Any, path: str = "$") -> str | None:
    """The JSON path (``$.a[2]``) of the first string or key holding unstorable text, if any."""
    if isinstance(value, str):
        return path if _BAD.search(value) else None
    if isinstance(value, Mapping):
        for key, item in value.items():
            where = f"{path}.{key}" if isinstance(key, str) else f"{path}[{key!r}]"
            if isinstance(key, str) and _BAD.search(key):
                return f"{path} (a key)"
            found = unstorable_path(item, where)
            if found:
                return found
        return None
    if isinstance(value, list | tuple):
        for i, item in enumerate(value):
            found = unstorable_path(item, f"{path}[{i}]")
            if found:
                return found
    return None


def refuse_unstorable(value: Any, what: str | None) -> Any:
    """``value`` unchanged, or InvalidInput naming ``what`` and where the bad text sits."""
    found = unstorable_path(value)
    if found is not None:
        where = "" if found == "$" else f" at {ascii(found)[1:-1][:60]}"
        prefix = f"{what}: " if what else ""
        raise InvalidInput(f"{prefix}text{where} holds {WHAT_IS_BAD}; refused")
    return value


def _escape(match: re.Match[str]) -> str:
    return f"\\u{ord(match.group()):04x}"


def escape_unstorable(value: Any) -> Any:
    """Model or service output made storable: each NUL or lone surrogate becomes its escape."""
    if isinstance(value, str):
        return _BAD.sub(_escape, value) if _BAD.search(value) else value
    if isinstance(value, Mapping):
        return {escape_unstorable(k): escape_unstorable(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [escape_unstorable(v) for v in value]
    return value


def _params_bad(params: Any) -> bool:
    if isinstance(params, str):
        return _BAD.search(params) is not None
    if isinstance(params, Mapping):
        return any(_params_bad(v) for v in params.values())
    if isinstance(params, list | tuple):
        return any(_params_bad(v) for v in params)
    # psycopg's Json/Jsonb wrap the Python value and serialise it after this hook
    inner = getattr(params, "obj", None)
    return inner is not None and unstorable_path(inner) is not None


def _guard(
    conn: Any, cursor: Any, statement: str, parameters: Any, context: Any, executemany: bool
) -> None:
    if parameters and _params_bad(parameters):
        raise InvalidInput(f"a value holds {WHAT_IS_BAD}; refused, nothing was written")


def guarded_json(serialize: Any) -> Any:
    """A JSON serializer (SQLite's JSON columns) that refuses unstorable text first."""

    def dumps(value: Any) -> str:
        if unstorable_path(value) is not None:
            raise InvalidInput(f"a value holds {WHAT_IS_BAD}; refused, nothing was written")
        return str(serialize(value))

    return dumps


def install_guard(engine: Engine) -> None:
    """Refuse, before the driver sees it, any statement whose parameters hold unstorable text."""
    from sqlalchemy import event

    event.listen(engine, "before_cursor_execute", _guard)
