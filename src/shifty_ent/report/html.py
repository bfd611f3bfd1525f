"""Render a report as one self-contained HTML file that reads well on a screen and on A4/Letter.

Inline CSS, inline SVG charts, no JavaScript, and a Content-Security-Policy that forbids loading
anything, so a report can never call home. The same file is what ``--format pdf`` prints.

What a reader sees is formatted by each column's ``kind`` (see :class:`Column`): money with its
currency and two decimals, times to the second, ids shortened in the table with the full value in
the section's "Full identifiers" list, yes/no coloured by what it means (``judge``), never by the
value. Cells wrap only at spaces, so "completed" or "3,000,040" are never split; sections too
wide for a page are laid out as one record per row instead of a table.

Rows are rendered one line each into the section's spool (sections may hold millions of rows,
and parts of a section may be rendered in other processes); each full identifier goes on a line
of its own, marked with ``\\x1e``, that :meth:`HtmlRenderer.assemble` moves into the list.
"""

from __future__ import annotations

import html
import math
import re
from collections.abc import Iterator, Sequence
from datetime import UTC, date, datetime
from decimal import ROUND_HALF_UP, Decimal, InvalidOperation
from typing import IO, Any

from shifty_ent.report.document import (
    BAD_IF_NONZERO,
    BAD_IF_TRUE,
    GOOD_IF_TRUE,
    SIGNED_META_KEYS,
    Chart,
    Column,
    ReportBuilder,
    Section,
)

CSP = "default-src 'none'; style-src 'unsafe-inline'; img-src data:; form-action 'none'"
CURRENCY = "$"  # budgets and prices are plain USD throughout the tool
ID_MARK = "\x1e"  # a spool line holding one full identifier, not a row
SHORT = {"id": 8, "hash": 12}
# above this many estimated characters per line a section is laid out as records, not a table
TABLE_BUDGET = 120
MAX_AXIS_LABELS = 12
_ISO_TIME = re.compile(r"^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}")
_ISO_DAY = re.compile(r"^\d{4}-\d{2}-\d{2}$")
_SEEN_CAP = 200_000  # distinct identifiers remembered per section to list each once

CSS = """
:root{--fg:#1b1f24;--muted:#57606a;--line:#d0d7de;--bg:#fff;--accent:#0b5cad;--bad:#b42318;
--bad-bg:#fef3f2;--ok:#067647;--ok-bg:#ecfdf3;--head:#f6f8fa}
*{box-sizing:border-box}
html{-webkit-print-color-adjust:exact;print-color-adjust:exact}
body{font:14px/1.45 "DejaVu Sans",system-ui,-apple-system,"Segoe UI",Roboto,sans-serif;
color:var(--fg);background:var(--bg);margin:0 auto;max-width:1100px;padding:24px}
h1{font-size:22px;margin:0 0 10px}
h2{font-size:17px;margin:26px 0 8px;border-bottom:1px solid var(--line);padding-bottom:4px;
break-after:avoid;page-break-after:avoid}
h3{font-size:14px;margin:14px 0 6px;break-after:avoid;page-break-after:avoid}
code,.mono{font-family:"DejaVu Sans Mono",ui-monospace,Menlo,Consolas,monospace;font-size:.92em}
table{border-collapse:collapse;width:100%;margin:6px 0}
th,td{border:1px solid var(--line);padding:3px 6px;text-align:left;vertical-align:top;
font-variant-numeric:tabular-nums;word-break:normal;overflow-wrap:normal;hyphens:manual}
th{background:var(--head);font-weight:600}
thead{display:table-header-group}
tr{break-inside:avoid;page-break-inside:avoid}
td.n,th.n{text-align:right}
.nowrap,td.n,td.t span{white-space:nowrap}
.scroll{overflow-x:auto}
.meta{display:grid;grid-template-columns:max-content 1fr;gap:2px 14px;margin:0 0 8px;
font-size:13px}
.meta dt{color:var(--muted)}.meta dd{margin:0}
.figures{display:grid;grid-template-columns:repeat(auto-fill,minmax(150px,1fr));gap:8px;
margin:8px 0}
.figure{border:1px solid var(--line);border-radius:6px;padding:6px 10px;break-inside:avoid}
.figure .v{font-size:17px;font-weight:600}
.figure .k{color:var(--muted);font-size:12px}
.figure.bad{border-color:var(--bad);background:var(--bad-bg)}
.figure.good{border-color:#a6d9bd}
.bad{color:var(--bad);font-weight:600}.good{color:var(--ok)}.none{color:var(--muted)}
.legend{color:var(--muted);font-size:12px;margin:4px 0 0}
.legend span{margin-right:14px;white-space:nowrap}
.records{margin:6px 0}
.rec{border:1px solid var(--line);border-radius:6px;padding:6px 10px;margin:0 0 8px;
break-inside:avoid;page-break-inside:avoid}
.rec dl{display:grid;grid-template-columns:repeat(4,minmax(0,1fr));gap:4px 12px;margin:0}
.rec dl div{min-width:0}
.rec dt{color:var(--muted);font-size:11px}
.rec dd{margin:0;word-break:normal;overflow-wrap:normal}
.rec .wide{grid-column:1/-1}
table.ids td,table.ids th{font-size:12px}
.chart{margin:6px 0 14px;break-inside:avoid;page-break-inside:avoid}
.chart svg{width:100%;height:auto;max-width:760px;display:block}
.chart .caption,.empty{color:var(--muted);font-size:12px}
.muted{color:var(--muted)}
footer{margin-top:28px;color:var(--muted);font-size:12px}
@page{margin:14mm 12mm 16mm}
@media print{
body{max-width:none;padding:0;font-size:10pt}
h1{font-size:16pt}h2{font-size:12.5pt}
.figure .v{font-size:12pt}
th,td{padding:2px 4px;font-size:9pt}
.scroll{overflow:visible}
.rec dl{grid-template-columns:repeat(3,minmax(0,1fr))}
.figures{grid-template-columns:repeat(5,minmax(0,1fr))}
}
@media screen and (max-width:700px){.rec dl{grid-template-columns:repeat(2,minmax(0,1fr))}}
"""


# ---------------------------------------------------------------- values


def esc(text: str) -> str:
    return html.escape(text, quote=True)


def _line(text: str) -> str:
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
    elif isinstance(value, str) and _ISO_TIME.match(value):
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


_MARK = {"bad": "\u26a0\u00a0", "good": "\u2713\u00a0"}


def _toned(text: str, mood: str) -> str:
    if not mood:
        return text
    return f'<span class="{mood}">{_MARK[mood]}{text}</span>'


def _paths(text: str) -> str:
    """Escaped text that wraps only at spaces: a word with a hyphen ("personal-30d", a date)
    is kept whole; only a long path may also wrap after a slash."""
    words = []
    for word in text.split(" "):
        out = _line(word)
        if len(word) > 24 and "/" in word:  # each part whole, a break allowed after a slash
            out = "/<wbr>".join(
                f'<span class="nowrap">{part}</span>' if "-" in part else part
                for part in out.split("/")
            )
        elif _ISO_TIME.match(word):  # a time inside text: date and time each whole
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
        return f"<code>{_line(short)}</code>", "nowrap"
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
        return _toned("yes" if value else "no", tone(value, judge)), "nowrap"
    if isinstance(value, int | float | Decimal):
        return _toned(number(value), tone(value, judge)), "n"
    return _paths(plain_text(value)), ""


def figure_text(value: Any, kind: str | None) -> tuple[str, str]:
    """(inner HTML, extra class) for a summary figure."""
    if value is None or value == "":
        return "not set" if kind == "money" else "\u2014", "none"
    if kind == "money" and (shown := money(value)) is not None:
        return shown, ""
    if kind in SHORT:
        return f"<code>{_line(str(value)[: SHORT[kind]])}</code>", ""
    if (shown := when(value)) is not None:
        day, _, clock = shown.partition(" ")
        return f'<span class="nowrap">{day}</span> <span class="nowrap">{clock} UTC</span>', ""
    if kind == "pct" and isinstance(value, int | float) and not isinstance(value, bool):
        return f"{float(value):.1f}\u00a0%", ""
    return _paths(plain_text(value)), ""


# ---------------------------------------------------------------- sections


def _width(column: Column) -> int:
    """Characters a column needs on one line, roughly (header words wrap at spaces)."""
    head = max((len(w) for w in column.title.split()), default=1)
    body = {"id": 8, "hash": 12, "time": 10, "money": 11, "int": 7, "pct": 7, "bool": 5}
    return max(head, body.get(column.kind, 12)) + 2


def as_records(section: Section) -> bool:
    """Whether a section is too wide for a table on an A4 page (then: one record per row)."""
    return sum(_width(c) for c in section.columns) > TABLE_BUDGET


class HtmlRenderer:
    ext = "html"

    def values_writer(self, section: Section, fh: IO[str]) -> Any:
        columns = section.columns
        records = as_records(section)
        full = [(i, c) for i, c in enumerate(columns) if c.kind in SHORT]
        write = fh.write

        def ids(values: Sequence[Any]) -> None:
            for i, c in full:
                value = values[i]
                text = "" if value is None else str(value)
                if len(text) > SHORT[c.kind]:
                    write(
                        f"{ID_MARK}<tr><th>{esc(c.title)}</th><td><code>"
                        f"{_line(text[: SHORT[c.kind]])}</code></td><td><code>{_line(text)}"
                        "</code></td></tr>\n"
                    )

        if records:

            def record(values: Sequence[Any]) -> None:
                parts = []
                for c, v in zip(columns, values, strict=True):
                    inner, _ = cell(v, c.kind, c.judge)
                    parts.append(f"<div><dt>{esc(c.title)}</dt><dd>{inner}</dd></div>")
                write('<div class="rec"><dl>' + "".join(parts) + "</dl></div>\n")
                ids(values)

            return record

        def row(values: Sequence[Any]) -> None:
            parts = []
            for c, v in zip(columns, values, strict=True):
                inner, cls = cell(v, c.kind, c.judge)
                parts.append(f'<td class="{cls}">{inner}</td>' if cls else f"<td>{inner}</td>")
            write("<tr>" + "".join(parts) + "</tr>\n")
            ids(values)

        return row

    def row_writer(self, section: Section, fh: IO[str]) -> Any:
        keys = [c.key for c in section.columns]
        write = self.values_writer(section, fh)

        def by_key(row: dict[str, Any]) -> None:
            write([row.get(k) for k in keys])

        return by_key

    def assemble(self, builder: ReportBuilder, out: IO[str]) -> None:
        meta = builder.meta
        out.write(
            '<!DOCTYPE html>\n<html lang="en">\n<head>\n<meta charset="utf-8">\n'
            f'<meta http-equiv="Content-Security-Policy" content="{CSP}">\n'
            '<meta name="viewport" content="width=device-width, initial-scale=1">\n'
            '<meta name="generator" content="shifty-ent">\n'
            f"<title>{esc(meta.title)} \u2014 {esc(meta.tenant_name)}</title>\n"
            f"<style>{CSS}{_page_footer(builder)}</style>\n</head>\n<body>\n"
        )
        out.write(f"<header>\n<h1>{esc(meta.title)}</h1>\n{_meta_block(builder)}</header>\n")
        _summary(builder, out)
        if builder.notes:
            out.write('<section id="notes">\n<h2>Notes</h2>\n<ul>\n')
            for note in builder.notes:
                out.write(f"<li>{_line(note)}</li>\n")
            out.write("</ul>\n</section>\n")
        for chart in builder.charts:
            out.write(
                f'<section class="chart" id="chart-{esc(chart.id)}">\n<h2>{esc(chart.title)}</h2>\n'
                f"{chart_html(chart)}\n</section>\n"
            )
        for section in builder.sections:
            _section(section, out)
        out.write(
            f"<footer>Generated by shifty-ent {esc(meta.tool_version)} for "
            f"{esc(meta.generated_by)} (identity: {esc(meta.identity)}) at "
            f"{esc(when(meta.generated_at) or '')} UTC. The detached Ed25519 signature is in the "
            "<code>.sig</code> file beside this one; check both with "
            "<code>shifty-ent report verify FILE</code>.</footer>\n</body>\n</html>\n"
        )


def _page_footer(builder: ReportBuilder) -> str:
    """Page numbers and the report's id at the foot of each printed page."""
    tag = re.sub(r"[^A-Za-z0-9_. -]", "", f"{builder.meta.type} report {builder.meta.report_id}")
    return (
        "@page{@bottom-left{content:"
        f'"{tag}";font:8pt sans-serif;color:#57606a}}'
        '@bottom-right{content:"page " counter(page) " of " counter(pages);'
        "font:8pt sans-serif;color:#57606a}}"
    )


def _meta_block(builder: ReportBuilder) -> str:
    meta = builder.meta.public()
    start, end = when(meta["period_start"]), when(meta["period_end"])
    made = when(meta["generated_at"]) or ""
    rows = [
        ("Report id", f"<code>{esc(meta['report_id'])}</code>"),
        ("Tenant", f"{esc(meta['tenant'])} (<code>{esc(meta['tenant_id'])}</code>)"),
        ("Period", f"{esc(start or '')} \u2013 {esc(end or '')} UTC (end exclusive)"),
        (
            "Generated",
            f"{made} UTC by {_line(meta['generated_by'])}",
        ),
        ("Identity", esc(meta["identity"])),
        ("Format", f"{esc(meta['format'])}; shifty-ent {esc(meta['tool_version'])}"),
        (
            "Audit head",
            f"event {meta['audit_head_seq']:,}, hash <code>{esc(meta['audit_head_hash'])}</code>",
        ),
    ]
    assert {"report_id", "audit_head_hash"} <= set(SIGNED_META_KEYS)
    body = "".join(f"<dt>{k}</dt><dd>{v}</dd>" for k, v in rows)
    return f'<dl class="meta">{body}</dl>\n'


LEGEND = (
    '<p class="legend"><span class="bad">\u26a0 needs attention</span>'
    '<span class="good">\u2713 as expected</span>'
    "<span>black: for information</span></p>\n"
)


def _summary(builder: ReportBuilder, out: IO[str]) -> None:
    out.write('<section id="summary">\n<h2>Summary</h2>\n<div class="figures">\n')
    judged = False
    for key, value in builder.summary.items():
        kind = builder.summary_kinds.get(key)
        mood = tone(value, builder.summary_judge.get(key))
        judged = judged or bool(mood)
        text, extra = figure_text(value, kind)
        cls = " ".join(c for c in ("figure", mood) if c)
        value_cls = " ".join(c for c in ("v", mood, extra) if c)
        inner = _MARK[mood] + text if mood else text
        out.write(
            f'<div class="{cls}"><div class="{value_cls}">{inner}</div>'
            f'<div class="k">{esc(label(key))}</div></div>\n'
        )
    out.write("</div>\n")
    if judged or any(c.judge for s in builder.sections for c in s.columns):
        out.write(LEGEND)
    out.write("</section>\n")


def _section(section: Section, out: IO[str]) -> None:
    out.write(
        f'<section id="section-{esc(section.id)}">\n'
        f"<h2>{esc(section.title)} ({section.row_count:,})</h2>\n"
    )
    if section.description:
        out.write(f'<p class="muted">{_line(section.description)}</p>\n')
    if section.row_count == 0:
        out.write('<p class="muted">None.</p>\n</section>\n')
        return
    if as_records(section):
        out.write('<div class="records">\n')
        _copy_rows(section, out)
        out.write("</div>\n")
    else:
        heads = "".join(
            f'<th class="n">{esc(c.title)}</th>'
            if c.kind in ("int", "money", "pct")
            else f"<th>{esc(c.title)}</th>"
            for c in section.columns
        )
        out.write(f'<div class="scroll"><table>\n<thead><tr>{heads}</tr></thead>\n<tbody>\n')
        _copy_rows(section, out)
        out.write("</tbody>\n</table></div>\n")
    if any(c.kind in SHORT for c in section.columns):
        seen: set[str] = set()
        listed = False
        for line in _lines(section):
            if not line.startswith(ID_MARK) or line in seen:
                continue
            if len(seen) < _SEEN_CAP:
                seen.add(line)
            if not listed:
                out.write(
                    '<h3>Full identifiers</h3>\n<p class="muted">Each shortened id or hash '
                    "above, in full.</p>\n"
                    '<table class="ids">\n<thead><tr><th>Field</th><th>Shown as</th>'
                    "<th>Full value</th></tr></thead>\n<tbody>\n"
                )
                listed = True
            out.write(line[1:])
        if listed:
            out.write("</tbody>\n</table>\n")
    out.write("</section>\n")


def _lines(section: Section) -> Iterator[str]:
    assert section.spool is not None
    for fh in (section.spool, *section.more):
        fh.flush()
        fh.seek(0)
        yield from fh


def _copy_rows(section: Section, out: IO[str]) -> None:
    """The section's rows, without the identifier lines (those go to the list after it)."""
    write = out.write
    for line in _lines(section):
        if not line.startswith(ID_MARK):
            write(line)


# ---------------------------------------------------------------- charts


def _nice_step(top: float, ticks: int = 4) -> float:
    raw = top / ticks
    power = 10 ** math.floor(math.log10(raw))
    for factor in (1, 2, 2.5, 5, 10):
        if raw <= factor * power:
            return factor * power
    return 10 * power


def _tick(value: float, unit: str) -> str:
    if unit == "USD":
        return f"{CURRENCY}{value:,.0f}" if float(value).is_integer() else f"{CURRENCY}{value:,.2f}"
    return number(value)


def _value_text(value: float, unit: str) -> str:
    return money(value) or "" if unit == "USD" else number(value)


def _day_label(day: str, with_year: bool) -> str:
    moment = datetime.strptime(day, "%Y-%m-%d")
    text = f"{moment:%b} {moment.day}"
    return f"{text} {moment.year}" if with_year else text


def chart_html(chart: Chart) -> str:
    """An inline SVG chart, or one sentence when there is nothing to draw."""
    if not chart.points or all(v == 0 for _, v in chart.points):
        sentence = chart.empty or f"No {chart.unit} in this period: nothing to chart."
        return f'<p class="empty">{_line(sentence)}</p>'
    if all(_ISO_DAY.match(lbl) for lbl, _ in chart.points):
        return _time_bars(chart)
    return _category_bars(chart)


def _svg_open(chart: Chart, width: int, height: int) -> list[str]:
    return [
        f'<svg role="img" aria-label="{esc(chart.title)}" viewBox="0 0 {width} {height}" '
        f'width="{width}" height="{height}" font-family="DejaVu Sans, sans-serif">',
        f"<title>{esc(chart.title)}</title>",
    ]


def _time_bars(chart: Chart, width: int = 760, height: int = 250) -> str:
    """Vertical bars over days (or weeks), at most ``MAX_AXIS_LABELS`` labels, none rotated."""
    left, right, top, bottom = 70, 16, 14, 42
    plot_w, plot_h = width - left - right, height - top - bottom
    peak = max(v for _, v in chart.points)
    step = _nice_step(peak)
    if all(float(v).is_integer() for _, v in chart.points):
        step = max(1.0, math.ceil(step))
    ticks = max(1, math.ceil(peak / step))
    scale_top = step * ticks
    parts = _svg_open(chart, width, height)
    for i in range(ticks + 1):
        y = top + plot_h - i / ticks * plot_h
        parts.append(
            f'<line x1="{left}" y1="{y:.1f}" x2="{left + plot_w}" y2="{y:.1f}" '
            f'stroke="{"#8c959f" if i == 0 else "#e1e4e8"}" stroke-width="1"/>'
            f'<text x="{left - 6}" y="{y + 4:.1f}" text-anchor="end" font-size="12" '
            f'fill="#57606a">{esc(_tick(step * i, chart.unit))}</text>'
        )
    n = len(chart.points)
    slot = plot_w / n
    bar_w = max(1.0, slot * 0.7)
    every = math.ceil(n / MAX_AXIS_LABELS)
    years = {lbl[:4] for lbl, _ in chart.points}
    for i, (lbl, value) in enumerate(chart.points):
        bar_h = 0.0 if value <= 0 else max(1.0, value / scale_top * plot_h)
        x = left + i * slot + (slot - bar_w) / 2
        parts.append(
            f'<rect x="{x:.1f}" y="{top + plot_h - bar_h:.1f}" width="{bar_w:.1f}" '
            f'height="{bar_h:.1f}" fill="#0b5cad"><title>{esc(lbl)}: '
            f"{esc(_value_text(value, chart.unit))} {esc(chart.unit)}</title></rect>"
        )
        if i % every == 0:
            cx = left + i * slot + slot / 2
            parts.append(
                f'<line x1="{cx:.1f}" y1="{top + plot_h}" x2="{cx:.1f}" y2="{top + plot_h + 4}" '
                'stroke="#8c959f"/>'
                f'<text x="{cx:.1f}" y="{top + plot_h + 18}" font-size="12" fill="#1b1f24" '
                f'text-anchor="middle">{esc(_day_label(lbl, len(years) > 1))}</text>'
            )
    parts.append(
        f'<text x="14" y="{top + plot_h / 2:.1f}" font-size="12" fill="#57606a" '
        f'transform="rotate(-90 14 {top + plot_h / 2:.1f})" text-anchor="middle">'
        f"{esc(chart.unit)}</text></svg>"
    )
    first, last = chart.points[0][0], chart.points[-1][0]
    total = sum(v for _, v in chart.points)
    caption = (
        f'<p class="caption">{esc(first)} to {esc(last)}, {n} bars; '
        f"total {esc(_value_text(total, chart.unit))} {esc(chart.unit)}.</p>"
    )
    return "".join(parts) + caption


def _category_bars(chart: Chart, width: int = 760) -> str:
    """Horizontal bars, one per category, its name at the left and its value at the end."""
    row_h, left, right, top = 24, 190, 90, 6
    points = chart.points
    if len(points) > MAX_AXIS_LABELS:  # the largest ones, and the rest together
        ranked = sorted(points, key=lambda p: p[1], reverse=True)
        rest = ranked[MAX_AXIS_LABELS - 1 :]
        points = [*ranked[: MAX_AXIS_LABELS - 1], (f"{len(rest)} others", sum(v for _, v in rest))]
    height = top * 2 + row_h * len(points)
    peak = max(v for _, v in points) or 1.0
    plot_w = width - left - right
    parts = _svg_open(chart, width, height)
    for i, (lbl, value) in enumerate(points):
        y = top + i * row_h
        shown = lbl if len(lbl) <= 26 else lbl[:25] + "\u2026"
        bar_w = 0.0 if value <= 0 else max(1.0, value / peak * plot_w)
        parts.append(
            f'<text x="{left - 8}" y="{y + 16}" font-size="12" text-anchor="end" '
            f'fill="#1b1f24"><title>{esc(lbl)}</title>{esc(shown)}</text>'
            f'<rect x="{left}" y="{y + 4}" width="{bar_w:.1f}" height="{row_h - 8}" '
            f'fill="#0b5cad"/>'
            f'<text x="{left + bar_w + 6:.1f}" y="{y + 16}" font-size="12" fill="#1b1f24">'
            f"{esc(_value_text(value, chart.unit))}</text>"
        )
    parts.append(
        f'<line x1="{left}" y1="{top}" x2="{left}" y2="{height - top}" stroke="#8c959f"/></svg>'
    )
    return "".join(parts)


__all__ = ["CSP", "CSS", "HtmlRenderer", "as_records", "cell", "chart_html", "money", "when"]
