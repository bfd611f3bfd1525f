"""Tables that fit the terminal without breaking a cell into single letters.

Each column gets at least its longest word (a time's date or clock part, an id, a status); a
word longer than :data:`FOLD_MIN` (a path, a URL) may fold, in pieces of at least that many
characters (a word up to :data:`WORD_MAX` long stays whole while :data:`KEEP` columns still
fit). When even those minimums do not fit, the default view leaves out its last columns
(the caller names them, and ``--wide`` or ``--columns`` shows them); columns the user chose are
never left out: the table is then wider than the terminal rather than unreadable.
"""

from __future__ import annotations

import sys
from collections.abc import Sequence
from typing import Any

from rich import box
from rich.cells import cell_len
from rich.console import Console
from rich.table import Table
from rich.text import Text

from shifty_ent.core import cells

FOLD_MIN = 16  # narrowest piece a long word (path, URL, hash) is folded into
WORD_MAX = 32  # words up to this long stay whole while at least KEEP columns still fit
KEEP = 4
GAP = 2  # characters between two columns (padding and the blank divider)
UNBROKEN = 12  # a cell this short stays on one line
HASH_SHOWN = 12  # characters of a long hash in a list table (the full value: --wide or show)


def print_rows(
    rows: list[dict[str, Any]],
    keys: Sequence[str],
    *,
    width: int | None,
    title: str | None = None,
    wide: bool = False,
    drop: bool = True,
) -> list[str]:
    """Print ``rows`` as a table of ``keys``; returns the keys left out to fit ``width``."""
    keys = list(keys)
    headers = [cells.header(k) for k in keys]
    body = [[_list_cell(k, row.get(k), wide) for k in keys] for row in rows]
    limit = width or _terminal_width()
    natural = [_natural(h, [r[i] for r in body]) for i, h in enumerate(headers)]
    shown = len(keys)
    # first try to keep words of up to WORD_MAX characters whole (a name, an object key),
    # leaving out more columns for it; when that leaves too few, fold long words at FOLD_MIN
    for fold in (WORD_MAX, FOLD_MIN):
        least = [_least(h, [r[i] for r in body], natural[i], fold) for i, h in enumerate(headers)]
        shown = len(keys)
        while drop and not wide and shown > 1 and sum(least[:shown]) + GAP * (shown - 1) > limit:
            shown -= 1
        if shown >= min(len(keys), KEEP):
            break
    natural, least = natural[:shown], least[:shown]
    widths = natural if wide else _fit(natural, least, limit - GAP * (shown - 1))
    table = Table(
        title=title,
        box=box.SIMPLE_HEAD,
        show_edge=False,
        pad_edge=False,
        padding=(0, 1, 0, 0),
        header_style="bold",
    )
    for i in range(shown):
        table.add_column(Text(headers[i]), width=widths[i], overflow="fold")
    for r in body:
        table.add_row(*[Text(c) for c in r[:shown]])
    total = sum(widths) + GAP * (shown - 1)
    _console(max(limit, total)).print(table)
    return keys[shown:]


def print_fields(
    obj: dict[str, Any], keys: Sequence[str], *, width: int | None, title: str | None = None
) -> None:
    """Print one object as ``Label  value`` lines, values in full (ids and hashes too)."""
    limit = width or _terminal_width()
    table = Table(title=title, show_header=False, box=None, pad_edge=False, padding=(0, 2, 0, 0))
    labels = [cells.header(k) for k in keys]
    label_width = max((cell_len(lb) for lb in labels), default=0)
    table.add_column("field", style="bold", width=label_width, no_wrap=True)
    table.add_column("value", overflow="fold", min_width=min(FOLD_MIN, limit))
    for key, label in zip(keys, labels, strict=True):
        table.add_row(Text(label), Text(cells.cell(key, obj.get(key), short_ids=False)))
    _console(max(limit, label_width + 2 + FOLD_MIN)).print(table)


def _list_cell(key: str, value: Any, wide: bool) -> str:
    text = cells.cell(key, value, nested_max=None if wide else cells.NESTED_MAX)
    if not wide and _is_hash(key, text):
        return text[:HASH_SHOWN] + "…"
    return text


def _is_hash(key: str, text: str) -> bool:
    long_hex = len(text) >= 40 and all(c in "0123456789abcdef" for c in text)
    return long_hex and ("sha" in key or "hash" in key or "fingerprint" in key)


def _natural(header: str, column: list[str]) -> int:
    lines = [line for c in column for line in c.splitlines()] + [header]
    return max(cell_len(line) for line in lines)


def _least(header: str, column: list[str], natural: int, fold: int) -> int:
    """The narrowest the column may get: its longest header word, and its longest cell word
    (a word longer than ``fold`` may fold into pieces that wide). A short cell (``2.0 GiB``,
    ``$1,234.50``) is one word: it never wraps."""
    head = max((cell_len(w) for w in header.split()), default=1)
    word = max((_longest_word(c) for c in column), default=0)
    return min(natural, max(head, min(word, fold)))


def _longest_word(text: str) -> int:
    if cell_len(text) <= UNBROKEN:
        return cell_len(text)
    return max((cell_len(w) for w in text.split()), default=0)


def _fit(natural: list[int], least: list[int], room: int) -> list[int]:
    """Natural widths when they fit in ``room``; else every column starts at its minimum and
    the space left goes first to the columns that need the least of it to stay on one line
    (most columns unwrapped), the rest to the next one in that order."""
    if sum(natural) <= room:
        return list(natural)
    widths = list(least)
    spare = room - sum(least)
    for i in sorted(range(len(widths)), key=lambda i: natural[i] - least[i]):
        give = min(natural[i] - least[i], max(spare, 0))
        widths[i] += give
        spare -= give
    return widths


def _terminal_width() -> int:
    return Console(file=sys.stdout).width


def _console(width: int) -> Console:
    return Console(file=sys.stdout, width=width, highlight=False, soft_wrap=False, markup=False)
