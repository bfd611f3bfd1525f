"""CSV cells that a spreadsheet opens as data, never as a formula (the OWASP CSV-injection rule).

Every CSV the tool writes (``-o csv`` and ``report ... --format csv``) passes its cells through
:func:`neutralise`: a text cell that begins with ``=``, ``+``, ``-``, ``@``, a tab or a carriage
return gets a leading single quote (``'=HYPERLINK(...)``), which spreadsheets show as text and
scripts can strip. Numbers stay numbers: a JSON number, and a text cell that is exactly a plain
decimal number (``-1.5``, money such as ``-12.50``), is written as it is, because a spreadsheet
reads it as that number and nothing else; any other text starting with ``-`` (``-2+3``,
``-cmd``) is neutralised.
"""

from __future__ import annotations

import json
import re
from typing import Any

FORMULA_START = ("=", "+", "-", "@", "\t", "\r")
_PLAIN_NUMBER = re.compile(r"^-?\d+(\.\d+)?([eE][+-]?\d+)?$")


def neutralise(text: str) -> str:
    """``text`` with a leading ``'`` when a spreadsheet would otherwise evaluate it."""
    if text.startswith(FORMULA_START) and not _PLAIN_NUMBER.match(text):
        return "'" + text
    return text


def cell(value: Any) -> Any:
    """One JSON-ready value as a CSV cell: empty for null, ``true``/``false``, numbers as they
    are, lists and objects as compact JSON text, text neutralised."""
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int | float):
        return value
    if isinstance(value, dict | list):
        return neutralise(json.dumps(value, ensure_ascii=False, separators=(",", ":")))
    return neutralise(str(value))
