"""Render results as table (people), json, jsonl or csv (scripts).

JSON keeps full UUIDs, ISO 8601 times with offset and money as decimal strings. Tables shorten ids
to 8 characters (any unique prefix is accepted back) and flatten lists. Messages for people go to
stderr so that stdout stays parseable.
"""

from __future__ import annotations

import csv
import io
import json
import os
import sys
from collections.abc import Sequence
from typing import Any

from shifty_ent.core.canonical import to_jsonable


def default_format() -> str:
    """Table on a terminal, JSON when piped (CI steps and scripts)."""
    return "table" if sys.stdout.isatty() else "json"


def _rows(data: Any) -> list[dict[str, Any]]:
    plain = to_jsonable(data)
    if isinstance(plain, list):
        return [r if isinstance(r, dict) else {"value": r} for r in plain]
    return [plain if isinstance(plain, dict) else {"value": plain}]


def _cell(key: str, value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, list):
        return ", ".join(_cell(key, v) for v in value)
    if isinstance(value, dict):
        return json.dumps(value, separators=(",", ":"), ensure_ascii=False)
    text = str(value)
    if (key == "id" or key.endswith("_id")) and len(text) == 36 and text.count("-") == 4:
        return text[:8]
    return text


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


def to_text(data: Any, fmt: str, *, columns: Sequence[str] | None = None) -> str:
    """The rendered document as a string (tables excluded: they need a console).

    A JSON list puts one compact object per line (quick to write, still easy to read and to
    ``grep``); a single object is indented.
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
        rows = _rows(data)
        keys = list(columns) if columns else _keys(rows)
        buf = io.StringIO()
        writer = csv.writer(buf, lineterminator="\n")
        writer.writerow(keys)
        for row in rows:
            writer.writerow(
                [
                    json.dumps(row.get(k), ensure_ascii=False)
                    if isinstance(row.get(k), dict | list)
                    else ("" if row.get(k) is None else row.get(k))
                    for k in keys
                ]
            )
        return buf.getvalue()
    raise ValueError(fmt)


def _keys(rows: list[dict[str, Any]]) -> list[str]:
    keys: list[str] = []
    for row in rows:
        for k in row:
            if k not in keys:
                keys.append(k)
    return keys


def render(
    data: Any,
    fmt: str,
    *,
    columns: Sequence[str] | None = None,
    title: str | None = None,
) -> None:
    """Write ``data`` (an object or a list of objects) to stdout in ``fmt``."""
    if fmt != "table":
        sys.stdout.write(to_text(data, fmt, columns=columns))
        sys.stdout.flush()
        return
    from rich.console import Console
    from rich.table import Table

    console = Console(file=sys.stdout, width=_width(), highlight=False, soft_wrap=False)
    plain = to_jsonable(data)
    if isinstance(plain, list):
        rows = _rows(plain)
        if not rows:
            console.print("(none)")
            return
        keys = list(columns) if columns else _keys(rows)
        table = Table(title=title, show_lines=False, header_style="bold")
        for key in keys:
            table.add_column(key, overflow="fold")
        for row in rows:
            table.add_row(*[_cell(k, row.get(k)) for k in keys])
        console.print(table)
        return
    obj = _rows(plain)[0]
    table = Table(title=title, show_header=False, box=None, pad_edge=False)
    table.add_column("field", style="bold")
    table.add_column("value", overflow="fold")
    for key in columns or obj.keys():
        value = obj.get(key)
        table.add_row(key, value if isinstance(value, str) else _cell("", value))
    console.print(table)


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
