"""How one value reads in an HTML report: money, times, numbers, ids, and yes/no by meaning.

Money reads ``$1,234.56`` (USD, two decimals), times ``2026-11-27 09:54:59`` (UTC, to the second),
ids are cut to 8 characters and hashes to 12 (the section lists them in full), and a yes/no or a
count is coloured by what it means for the reader (see the judges in :mod:`.document`), never by
its value. Text wraps only at spaces: a hyphenated word or a date is kept whole.
"""

from __future__ import annotations

import html
import re
from datetime import UTC, date, datetime
from decimal import ROUND_HALF_UP, Decimal, InvalidOperation
from typing import Any

from shifty_ent.report.document import BAD_IF_NONZERO, BAD_IF_TRUE, GOOD_IF_TRUE

CURRENCY = "$"  # budgets and prices are plain USD throughout the tool
SHORT = {"id": 8, "hash": 12}  # characters of an id or a hash shown in a table
ISO_TIME = re.compile(r"^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}")


def esc(text: str) -> str:
    return html.escape(text, quote=True)


def one_line(text: str) -> str:
    """Escaped text on one line (a spool holds one row per line)."""
    return esc(text).replace("\r", " ").replace("\n", " ")


_ACRONYMS = {"nist": "NIST", "gpu": "GPU", "xp": "XP", "pii": "PII", "phi": "PHI", "pct": "%"}


def label(key: str) -> str:
    """``over_monthly_budget`` -> ``Over monthly budget``; ``nist_purge`` -> ``NIST purge``."""
    words = [_ACRONYMS.get(w, w) for w in key.split("_") if w]
    text = " ".join(words)
    return text[:1].upper() + text[1:]


def money(value: Any) -> str | None:
    """``16.129032`` -> ``$16.13`` (two decimals, thousands separated); None when not money."""
    try:
        amount = Decimal(str(value))
    except (InvalidOperation, ValueError):
        return None
    if not amount.is_finite():
        return None
    rounded = amount.quantize(Decimal("0.01"), rounding=ROUND_HALF_UP)
    sign = "-" if rounded < 0 else ""
    return f"{sign}{CURRENCY}{abs(rounded):,.2f}"


def number(value: float | int | Decimal) -> str:
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, int) or float(value).is_integer():
        return f"{int(value):,}"
    return f"{float(value):,.2f}"


def when(value: Any) -> str | None:
    """A time to the second, in UTC: ``2026-11-23 09:54:59`` (None when it is not a time)."""
    if isinstance(value, datetime):
        moment = value
    elif isinstance(value, str) and ISO_TIME.match(value):
        try:
            moment = datetime.fromisoformat(value)
        except ValueError:
            return None
    else:
        return None
    if moment.tzinfo is not None:
        moment = moment.astimezone(UTC)
    return moment.strftime("%Y-%m-%d %H:%M:%S")


def plain_text(value: Any) -> str:
    """Text for a value no kind describes."""
    if value is None:
        return ""
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, int | float | Decimal):
        return number(value)
    if isinstance(value, datetime):
        return when(value) or value.isoformat()
    if isinstance(value, date):
        return value.isoformat()
    if isinstance(value, list | tuple | set | frozenset):
        return ", ".join(plain_text(v) for v in value)
    if isinstance(value, dict):
        return ", ".join(f"{k}: {plain_text(v)}" for k, v in value.items())
    return str(value)


def tone(value: Any, judge: str | None) -> str:
    """``bad``, ``good`` or ``""`` (informational): what a value means, not what it is."""
    if judge is None or value is None:
        return ""
    if judge in (GOOD_IF_TRUE, BAD_IF_TRUE) and isinstance(value, bool):
        bad = value if judge == BAD_IF_TRUE else not value
        return "bad" if bad else "good"
    if judge == BAD_IF_NONZERO and isinstance(value, int | float) and not isinstance(value, bool):
        return "bad" if value else "good"
    return ""


MARK = {"bad": "\u26a0\u00a0", "good": "\u2713\u00a0"}


def toned(text: str, mood: str) -> str:
    if not mood:
        return text
    return f'<span class="{mood}">{MARK[mood]}{text}</span>'


def wrap_at_spaces(text: str) -> str:
    """Escaped text that wraps only at spaces: a word with a hyphen ("personal-30d", a date)
    is kept whole; only a long path may also wrap after a slash."""
    words = []
    for word in text.split(" "):
        out = one_line(word)
        if len(word) > 24 and "/" in word:  # each part whole, a break allowed after a slash
            out = "/<wbr>".join(
                f'<span class="nowrap">{part}</span>' if "-" in part else part
                for part in out.split("/")
            )
        elif ISO_TIME.match(word):  # a time inside text: date and time each whole
            day, _, clock = out.partition("T")
            out = f'<span class="nowrap">{day}</span><wbr><span class="nowrap">T{clock}</span>'
        elif "-" in word:
            out = f'<span class="nowrap">{out}</span>'
        words.append(out)
    return " ".join(words)


def cell(value: Any, kind: str, judge: str | None = None) -> tuple[str, str]:
    """(inner HTML, td class) for one value of a column of ``kind``."""
    if value is None or value == "":
        return '<span class="none">\u2014</span>', ""
    if kind in SHORT:
        text = str(value)
        short = text[: SHORT[kind]]
        return f"<code>{one_line(short)}</code>", "nowrap"
    if kind == "money":
        shown = money(value)
        if shown is not None:
            return shown, "n"
    if kind == "time":
        shown = when(value)
        if shown is not None:
            day, _, clock = shown.partition(" ")
            return f"<span>{day}</span> <span>{clock}</span>", "t"
    if kind == "pct" and isinstance(value, int | float) and not isinstance(value, bool):
        return f"{float(value):.1f}\u00a0%", "n"
    if isinstance(value, bool):
        return toned("yes" if value else "no", tone(value, judge)), "nowrap"
    if isinstance(value, int | float | Decimal):
        return toned(number(value), tone(value, judge)), "n"
    return wrap_at_spaces(plain_text(value)), ""


def figure_text(value: Any, kind: str | None) -> tuple[str, str]:
    """(inner HTML, extra class) for a summary figure."""
    if value is None or value == "":
        return "not set" if kind == "money" else "\u2014", "none"
    if kind == "money" and (shown := money(value)) is not None:
        return shown, ""
    if kind in SHORT:
        return f"<code>{one_line(str(value)[: SHORT[kind]])}</code>", ""
    if (shown := when(value)) is not None:
        day, _, clock = shown.partition(" ")
        return f'<span class="nowrap">{day}</span> <span class="nowrap">{clock} UTC</span>', ""
    if kind == "pct" and isinstance(value, int | float) and not isinstance(value, bool):
        return f"{float(value):.1f}\u00a0%", ""
    return wrap_at_spaces(plain_text(value)), ""
