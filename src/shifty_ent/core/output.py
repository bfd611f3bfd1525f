"""Render results as table (people), json, jsonl or csv (scripts).

JSON keeps full UUIDs, ISO 8601 times with offset and money as decimal strings. Tables are for
people: readable values (:mod:`shifty_ent.core.cells`) in columns that fit the terminal
(:mod:`shifty_ent.core.tablefit`). CSV holds every field, safe to open in a spreadsheet
(:mod:`shifty_ent.core.csvsafe`). Messages for people go to stderr so that stdout stays
parseable.
"""

from __future__ import annotations

import csv
import io
import json
import os
import sys
from collections.abc import Sequence
from typing import Any

from shifty_ent.core import cells, csvsafe
from shifty_ent.core.canonical import to_jsonable
from shifty_ent.core.errors import InvalidInput


def default_format() -> str:
    """Table on a terminal, JSON when piped (CI steps and scripts)."""
    return "table" if sys.stdout.isatty() else "json"


def _rows(data: Any) -> list[dict[str, Any]]:
    plain = to_jsonable(data)
    if isinstance(plain, list):
        return [r if isinstance(r, dict) else {"value": r} for r in plain]
    return [plain if isinstance(plain, dict) else {"value": plain}]


_ENCODER = json.JSONEncoder(ensure_ascii=False, default=to_jsonable)


def encode(value: Any, *, indent: int | None = None) -> str:
    """``value`` as JSON text, walked by the standard library's C encoder.

    The C encoder handles dicts, lists and strings itself and calls :func:`to_jsonable` only for
    the leaves it does not know (UUID, datetime, Decimal, ORM rows); converting the whole tree
    first, or pretty-printing it with ``indent`` (which the C encoder cannot do), costs several
    times the query behind a long listing. Keys that JSON cannot hold (UUIDs) take the slow road.
    """
    try:
        if indent is None:
            return _ENCODER.encode(value)
        return json.dumps(value, ensure_ascii=False, default=to_jsonable, indent=indent)
    except TypeError:
        return json.dumps(to_jsonable(value), ensure_ascii=False, indent=indent)


def to_text(
    data: Any,
    fmt: str,
    *,
    choose: Sequence[str] | None = None,
    columns: Sequence[str] | None = None,
    quiet: bool = False,
) -> str:
    """The rendered document as a string (tables excluded: they need a console).

    A JSON list puts one compact object per line (quick to write, still easy to read and to
    ``grep``); a single object is indented. JSON and JSONL always carry every field. CSV carries
    every field too (nested values as JSON text), or the ``choose`` columns (``--columns``); with
    no rows its header is the command's default ``columns``.
    """
    if fmt == "json":
        if isinstance(data, list | tuple):
            if not data:
                return "[]\n"
            return "[\n  " + ",\n  ".join(map(encode, data)) + "\n]\n"
        return encode(data, indent=2) + "\n"
    if fmt == "jsonl":
        items = data if isinstance(data, list | tuple) else [data]
        return "".join(encode(i) + "\n" for i in items)
    if fmt == "csv":
        rows = _rows(data) if not _empty(data) else []
        listing = isinstance(data, list | tuple)
        keys = (
            select(_keys(rows), choose=choose, listing=listing, quiet=quiet)
            if rows
            else list(choose or columns or ())
        )
        buf = io.StringIO()
        writer = csv.writer(buf, lineterminator="\n")
        writer.writerow([csvsafe.neutralise(k) for k in keys])
        for row in rows:
            writer.writerow([csvsafe.cell(row.get(k)) for k in keys])
        return buf.getvalue()
    raise ValueError(fmt)


def _empty(data: Any) -> bool:
    return isinstance(data, list | tuple) and not data


def _keys(rows: list[dict[str, Any]]) -> list[str]:
    keys: dict[str, None] = {}
    for row in rows:
        keys.update(dict.fromkeys(row))
    return list(keys)


def _norm(name: str) -> str:
    return name.strip().lower().replace("-", "_").replace(" ", "_")


def select(
    available: Sequence[str],
    *,
    choose: Sequence[str] | None = None,
    default: Sequence[str] | None = None,
    wide: bool = False,
    listing: bool = True,
    quiet: bool = False,
) -> list[str]:
    """The columns to show: ``choose`` (``--columns``, checked against ``available``), else all
    with ``wide``, else the command's ``default`` set (those present), else all.

    A chosen name may be the JSON key or the header people see (``size`` for ``size_bytes``),
    in any case. With no rows there is nothing to check a name against: the names are kept.
    An unknown name is exit 2 for a ``listing``; for one object (what a command created,
    changed or showed: it may already have acted, and exit 2 promises nothing changed) it is a
    warning on stderr and the object shows its other chosen fields, or all of them.
    """
    if choose:
        if not available:
            return list(choose)
        by_name: dict[str, str] = {}
        for k in available:
            by_name.setdefault(_norm(k), k)
        for k in available:
            by_name.setdefault(_norm(cells.header(k)), k)
        picked: list[str] = []
        unknown = [c for c in choose if _norm(c) not in by_name]
        if unknown:
            text = (
                f"unknown column {', '.join(repr(c) for c in unknown)} for --columns; "
                f"choose from: {', '.join(available)}"
            )
            if listing:
                raise InvalidInput(text)
            message(f"warning: {text}", quiet=quiet)
        for c in choose:
            key = by_name.get(_norm(c))
            if key is not None and key not in picked:
                picked.append(key)
        return picked or list(available)
    if wide or not default:
        return list(available)
    present = [k for k in default if k in available]
    return present or list(available)


def render(
    data: Any,
    fmt: str,
    *,
    columns: Sequence[str] | None = None,
    title: str | None = None,
    choose: Sequence[str] | None = None,
    wide: bool = False,
    quiet: bool = False,
) -> None:
    """Write ``data`` (an object or a list of objects) to stdout in ``fmt``.

    ``columns`` is the command's default table columns (the rest: ``--wide``); ``choose`` the
    columns the user named (``--columns``).
    """
    if fmt != "table":
        sys.stdout.write(to_text(data, fmt, choose=choose, columns=columns, quiet=quiet))
        sys.stdout.flush()
        return
    from shifty_ent.core import tablefit

    plain = to_jsonable(data)
    width = _width()
    if isinstance(plain, list):
        rows = _rows(plain)
        if not rows:
            sys.stdout.write("(none)\n")
            return
        keys = select(_keys(rows), choose=choose, default=columns, wide=wide)
        hidden = tablefit.print_rows(
            rows, keys, width=width, title=title, wide=wide, drop=not (choose or wide)
        )
        if hidden:
            message(
                f"({len(hidden)} more column{'s' if len(hidden) > 1 else ''} at this width: "
                f"{', '.join(hidden)}; see --wide or --columns)",
                quiet=quiet,
            )
        return
    obj = _rows(plain)[0]
    keys = select(list(obj), choose=choose, default=columns, wide=wide, listing=False, quiet=quiet)
    tablefit.print_fields(obj, keys, width=width, title=title)


def _width() -> int | None:
    cols = os.environ.get("COLUMNS")
    return int(cols) if cols and cols.isdigit() else None


def message(text: str, *, quiet: bool = False) -> None:
    """A line for people, on stderr (never mixed into JSON on stdout)."""
    if not quiet:
        sys.stderr.write(text.rstrip("\n") + "\n")
        sys.stderr.flush()


def progress_enabled(quiet: bool = False) -> bool:
    """Progress bars only on an interactive terminal, never when piped or quiet."""
    return not quiet and sys.stderr.isatty()
