"""Render a report as one self-contained HTML file that reads well on a screen and on A4/Letter.

Inline CSS, inline SVG charts, no JavaScript, and a Content-Security-Policy that forbids loading
anything, so a report can never call home. The same file is what ``--format pdf`` prints.

Each value is formatted by its column's ``kind`` (see :mod:`.html_values`), charts are drawn by
:mod:`.html_charts`. Cells wrap only at spaces, so "completed" or "3,000,040" are never split;
sections too wide for a page are laid out as one record per row instead of a table, and each
shortened id is listed in full under "Full identifiers" after its section.

Rows are rendered one line each into the section's spool (sections may hold millions of rows,
and parts of a section may be rendered in other processes); each full identifier goes on a line
of its own, marked with ``\\x1e``, that :meth:`HtmlRenderer.assemble` moves into the list.
"""

from __future__ import annotations

import re
from collections.abc import Iterator, Sequence
from typing import IO, Any

from shifty_ent.report.document import SIGNED_META_KEYS, Column, ReportBuilder, Section
from shifty_ent.report.html_charts import chart_html
from shifty_ent.report.html_values import (
    MARK,
    SHORT,
    cell,
    esc,
    figure_text,
    label,
    one_line,
    tone,
    when,
)
from shifty_ent.report.row_writers import RowWriters

CSP = "default-src 'none'; style-src 'unsafe-inline'; img-src data:; form-action 'none'"
ID_MARK = "\x1e"  # a spool line holding one full identifier, not a row
# above this many estimated characters per line a section is laid out as records, not a table
TABLE_BUDGET = 120
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


def _width(column: Column) -> int:
    """Characters a column needs on one line, roughly (header words wrap at spaces)."""
    head = max((len(w) for w in column.title.split()), default=1)
    body = {"id": 8, "hash": 12, "time": 10, "money": 11, "int": 7, "pct": 7, "bool": 5}
    return max(head, body.get(column.kind, 12)) + 2


def as_records(section: Section) -> bool:
    """Whether a section is too wide for a table on an A4 page (then: one record per row)."""
    return sum(_width(c) for c in section.columns) > TABLE_BUDGET


class HtmlRenderer(RowWriters):
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
                        f"{one_line(text[: SHORT[c.kind]])}</code></td><td><code>{one_line(text)}"
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
                out.write(f"<li>{one_line(note)}</li>\n")
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
            f"{made} UTC by {one_line(meta['generated_by'])}",
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
        inner = MARK[mood] + text if mood else text
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
        out.write(f'<p class="muted">{one_line(section.description)}</p>\n')
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


__all__ = ["CSP", "CSS", "HtmlRenderer", "as_records"]
