"""Render a report as Markdown, self-contained HTML, JSON or CSV.

Rows arrive one at a time (see :class:`~shifty_ent.report.document.ReportBuilder`) and are written
into a spool in the final syntax; :meth:`assemble` writes the head, the summary and the charts and
then copies each spool. Output is deterministic for the same content (no random ids or
timestamps beyond those in the metadata), which is what the detached signature covers.

HTML is one file that opens offline: inline CSS, inline SVG charts, no JavaScript, and a
Content-Security-Policy that forbids loading anything, so a report can never call home.
"""

from __future__ import annotations

import csv
import html
import json
import shutil
import uuid
from collections.abc import Sequence
from datetime import date, datetime
from decimal import Decimal
from typing import IO, Any

import orjson

from shifty_ent.core import csvsafe
from shifty_ent.core.types import money_str
from shifty_ent.report.document import SIGNED_META_KEYS, Chart, Column, ReportBuilder, Section

FORMATS = ("md", "html", "json", "csv")
# orjson would write datetimes and dataclasses its own way; _default keeps one text for them
_PASSTHROUGH = orjson.OPT_PASSTHROUGH_DATETIME | orjson.OPT_PASSTHROUGH_DATACLASS


def _default(value: Any) -> Any:
    if isinstance(value, uuid.UUID):
        return str(value)
    if isinstance(value, datetime | date):
        return value.isoformat()
    if isinstance(value, Decimal):
        return money_str(value)
    if isinstance(value, set | frozenset | tuple):
        return sorted(value) if isinstance(value, set | frozenset) else list(value)
    from shifty_ent.core.canonical import to_jsonable

    return to_jsonable(value)


def plain(value: Any) -> Any:
    """A JSON-ready value (fast path for the common primitive types)."""
    if value is None or isinstance(value, str | int | float | bool):
        return value
    if isinstance(value, list):
        return [plain(v) for v in value]
    if isinstance(value, dict):
        return {str(k): plain(v) for k, v in value.items()}
    return _default(value)


def cell_text(value: Any) -> str:
    """How a value reads in a table cell (Markdown, HTML, CSV)."""
    if value is None:
        return ""
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, str):
        return value
    if isinstance(value, int | float):
        return str(value)
    if isinstance(value, list | tuple | set | frozenset):
        return ", ".join(cell_text(v) for v in value)
    if isinstance(value, dict):
        return json.dumps(plain(value), ensure_ascii=False, separators=(",", ":"))
    return cell_text(_default(value))


def _fmt_number(value: float) -> str:
    if float(value).is_integer():
        return f"{int(value):,}"
    return f"{value:,.2f}"


def _summary_label(key: str) -> str:
    return key.replace("_", " ")


def _meta_rows(builder: ReportBuilder) -> list[tuple[str, str]]:
    meta = builder.meta.public()
    keys = [k for k in SIGNED_META_KEYS if k != "format"]
    return [(k, cell_text(meta[k])) for k in keys]


def get_renderer(fmt: str) -> Any:
    try:
        return _RENDERERS[fmt]()
    except KeyError:
        raise ValueError(f"unknown report format {fmt!r}") from None


class _Rows:
    """Renderers write rows given as values in column order (:meth:`values_writer`, the fast
    path for long sections) or as dicts by column key (:meth:`row_writer`)."""

    def values_writer(self, section: Section, fh: IO[str]) -> Any:  # pragma: no cover
        raise NotImplementedError

    def row_writer(self, section: Section, fh: IO[str]) -> Any:
        keys = [c.key for c in section.columns]
        write = self.values_writer(section, fh)

        def by_key(row: dict[str, Any]) -> None:
            write([row.get(k) for k in keys])

        return by_key


# ---------------------------------------------------------------- Markdown


def _md_escape(text: str) -> str:
    return (
        text.replace("\\", "\\\\")
        .replace("|", "\\|")
        .replace("\r", " ")
        .replace("\n", " ")
        .replace("<", "&lt;")
    )


class MarkdownRenderer(_Rows):
    ext = "md"

    def values_writer(self, section: Section, fh: IO[str]) -> Any:
        def write(values: Sequence[Any]) -> None:
            fh.write("| " + " | ".join([_md_escape(cell_text(v)) for v in values]) + " |\n")

        return write

    def _table(self, out: IO[str], headers: list[str], rows: list[list[str]]) -> None:
        out.write("| " + " | ".join(_md_escape(h) for h in headers) + " |\n")
        out.write("|" + "|".join("---" for _ in headers) + "|\n")
        for row in rows:
            out.write("| " + " | ".join(_md_escape(c) for c in row) + " |\n")

    def assemble(self, builder: ReportBuilder, out: IO[str]) -> None:
        out.write(f"# {_md_escape(builder.meta.title)}\n\n")
        self._table(out, ["field", "value"], [[k, v] for k, v in _meta_rows(builder)])
        out.write("\n## Summary\n\n")
        self._table(
            out,
            ["figure", "value"],
            [[_summary_label(k), cell_text(v)] for k, v in builder.summary.items()],
        )
        if builder.notes:
            out.write("\n## Notes\n\n")
            for note in builder.notes:
                out.write(f"- {_md_escape(note)}\n")
        for chart in builder.charts:
            out.write(f"\n## {_md_escape(chart.title)}\n\n")
            top = max((v for _, v in chart.points), default=0) or 1
            rows = [
                [label, _fmt_number(value), "█" * max(0, round(20 * value / top))]
                for label, value in chart.points
            ]
            self._table(out, ["", chart.unit, ""], rows or [["(no data)", "", ""]])
        for section in builder.sections:
            out.write(f"\n## {_md_escape(section.title)} ({section.row_count})\n\n")
            if section.description:
                out.write(_md_escape(section.description) + "\n\n")
            if section.row_count == 0:
                out.write("_None._\n")
                continue
            self._table(out, [c.title for c in section.columns], [])
            _copy(section, out)
        out.write(
            "\n---\nGenerated by shifty-ent "
            f"{_md_escape(builder.meta.tool_version)}. The detached signature is in the `.sig` "
            "file beside this one; check both with `shifty-ent report verify FILE`.\n"
        )


def _copy(section: Section, out: IO[str], *, skip: int = 0) -> None:
    """The section's rendered rows (its spool, then parts rendered elsewhere) into ``out``,
    dropping the first ``skip`` characters of the whole. Spools and files are UTF-8, so when
    ``out`` has a byte buffer the bytes go across as they are, not decoded and encoded again."""
    assert section.spool is not None
    target = getattr(out, "buffer", None)
    if target is not None:
        out.flush()  # what was written as text goes first
    for fh in (section.spool, *section.more):
        fh.flush()
        fh.seek(0)
        dropped = fh.read(skip) if skip else ""
        skip -= len(dropped)
        if target is None:
            shutil.copyfileobj(fh, out, 1 << 20)
            continue
        data = fh.buffer  # type: ignore[attr-defined]  # a text file from open() has .buffer
        data.seek(len(dropped.encode()))
        shutil.copyfileobj(data, target, 1 << 20)


# ---------------------------------------------------------------- HTML

CSS = """
:root{--fg:#1b1f24;--muted:#59636e;--line:#d0d7de;--bg:#fff;--accent:#0b5cad;--bad:#b42318;
--ok:#067647;--head:#f6f8fa}
*{box-sizing:border-box}
body{font:14px/1.45 system-ui,-apple-system,"Segoe UI",Roboto,sans-serif;color:var(--fg);
background:var(--bg);margin:0 auto;max-width:1200px;padding:24px}
h1{font-size:22px;margin:0 0 12px}h2{font-size:17px;margin:28px 0 8px;
border-bottom:1px solid var(--line);padding-bottom:4px}
table{border-collapse:collapse;width:100%;margin:8px 0}
th,td{border:1px solid var(--line);padding:4px 8px;text-align:left;vertical-align:top;
font-variant-numeric:tabular-nums;word-break:break-word}
th{background:var(--head);font-weight:600}
table.meta{width:auto}table.meta th{width:180px}
.figures{display:flex;flex-wrap:wrap;gap:8px;margin:8px 0}
.figure{border:1px solid var(--line);border-radius:6px;padding:8px 12px;min-width:150px}
.figure .v{font-size:18px;font-weight:600}.figure .k{color:var(--muted);font-size:12px}
.bad{color:var(--bad)}.ok{color:var(--ok)}
.chart{margin:8px 0 16px}.chart svg{max-width:100%;height:auto}
.muted{color:var(--muted)}footer{margin-top:32px;color:var(--muted);font-size:12px}
@media print{body{max-width:none;padding:0}h2{break-after:avoid}tr{break-inside:avoid}}
"""

CSP = "default-src 'none'; style-src 'unsafe-inline'; img-src data:; form-action 'none'"


def _h(value: Any) -> str:
    return html.escape(cell_text(value), quote=True)


def svg_bar_chart(chart: Chart, *, width: int = 760, height: int = 260) -> str:
    """An inline SVG bar chart (no scripts, no external references)."""
    left, right, top, bottom = 64, 16, 16, 56
    plot_w, plot_h = width - left - right, height - top - bottom
    parts = [
        f'<svg role="img" aria-label="{html.escape(chart.title)}" width="{width}" '
        f'height="{height}" viewBox="0 0 {width} {height}">',
        f"<title>{html.escape(chart.title)}</title>",
    ]
    if not chart.points:
        parts.append(
            f'<text x="{width // 2}" y="{height // 2}" text-anchor="middle" '
            'fill="#59636e">no data in this period</text></svg>'
        )
        return "".join(parts)
    top_value = max(v for _, v in chart.points)
    scale_top = top_value if top_value > 0 else 1.0
    if all(float(v).is_integer() for _, v in chart.points):  # counts: whole-number ticks
        step = max(1, -(-int(scale_top) // 4))
        scale_top = float(step * 4)
    for i in range(5):  # grid lines and y labels
        frac = i / 4
        y = top + plot_h - frac * plot_h
        parts.append(
            f'<line x1="{left}" y1="{y:.1f}" x2="{left + plot_w}" y2="{y:.1f}" '
            'stroke="#d0d7de" stroke-width="1"/>'
            f'<text x="{left - 6}" y="{y + 4:.1f}" text-anchor="end" font-size="11" '
            f'fill="#59636e">{html.escape(_fmt_number(scale_top * frac))}</text>'
        )
    n = len(chart.points)
    slot = plot_w / n
    bar_w = max(1.0, slot * 0.75)
    every = max(1, n // 16)
    for i, (label, value) in enumerate(chart.points):
        bar_h = 0 if value <= 0 else max(1.0, value / scale_top * plot_h)
        x = left + i * slot + (slot - bar_w) / 2
        y = top + plot_h - bar_h
        parts.append(
            f'<rect x="{x:.1f}" y="{y:.1f}" width="{bar_w:.1f}" height="{bar_h:.1f}" '
            f'fill="#0b5cad"><title>{html.escape(label)}: '
            f"{html.escape(_fmt_number(value))} {html.escape(chart.unit)}</title></rect>"
        )
        if i % every == 0:
            lx = left + i * slot + slot / 2
            ly = top + plot_h + 14
            parts.append(
                f'<text x="{lx:.1f}" y="{ly:.1f}" font-size="11" fill="#1b1f24" '
                f'text-anchor="end" transform="rotate(-35 {lx:.1f} {ly:.1f})">'
                f"{html.escape(label)}</text>"
            )
    parts.append(
        f'<text x="12" y="{top + plot_h / 2:.1f}" font-size="11" fill="#59636e" '
        f'transform="rotate(-90 12 {top + plot_h / 2:.1f})" text-anchor="middle">'
        f"{html.escape(chart.unit)}</text></svg>"
    )
    return "".join(parts)


class HtmlRenderer(_Rows):
    ext = "html"

    def values_writer(self, section: Section, fh: IO[str]) -> Any:
        esc = html.escape

        def write(values: Sequence[Any]) -> None:
            fh.write("<tr>" + "".join(["<td>" + esc(cell_text(v)) + "</td>" for v in values]))
            fh.write("</tr>\n")

        return write

    def assemble(self, builder: ReportBuilder, out: IO[str]) -> None:
        meta = builder.meta
        out.write(
            '<!DOCTYPE html>\n<html lang="en">\n<head>\n<meta charset="utf-8">\n'
            f'<meta http-equiv="Content-Security-Policy" content="{CSP}">\n'
            '<meta name="viewport" content="width=device-width, initial-scale=1">\n'
            '<meta name="generator" content="shifty-ent">\n'
            f"<title>{_h(meta.title)} — {_h(meta.tenant_name)}</title>\n"
            f"<style>{CSS}</style>\n</head>\n<body>\n"
        )
        out.write(f'<header>\n<h1>{_h(meta.title)}</h1>\n<table class="meta">\n')
        for key, value in _meta_rows(builder):
            out.write(f"<tr><th>{_h(key)}</th><td>{_h(value)}</td></tr>\n")
        out.write("</table>\n</header>\n")
        out.write('<section id="summary">\n<h2>Summary</h2>\n<div class="figures">\n')
        for key, value in builder.summary.items():
            cls = ""
            if isinstance(value, bool):
                cls = " ok" if value else " bad"
            out.write(
                f'<div class="figure"><div class="v{cls}">{_h(value)}</div>'
                f'<div class="k">{_h(_summary_label(key))}</div></div>\n'
            )
        out.write("</div>\n</section>\n")
        if builder.notes:
            out.write('<section id="notes">\n<h2>Notes</h2>\n<ul>\n')
            for note in builder.notes:
                out.write(f"<li>{_h(note)}</li>\n")
            out.write("</ul>\n</section>\n")
        for chart in builder.charts:
            out.write(
                f'<section class="chart" id="chart-{_h(chart.id)}">\n<h2>{_h(chart.title)}</h2>\n'
                f"{svg_bar_chart(chart)}\n</section>\n"
            )
        for section in builder.sections:
            out.write(
                f'<section id="section-{_h(section.id)}">\n'
                f"<h2>{_h(section.title)} ({section.row_count})</h2>\n"
            )
            if section.description:
                out.write(f'<p class="muted">{_h(section.description)}</p>\n')
            if section.row_count == 0:
                out.write('<p class="muted">None.</p>\n</section>\n')
                continue
            out.write("<table>\n<thead><tr>")
            out.write("".join(f"<th>{_h(c.title)}</th>" for c in section.columns))
            out.write("</tr></thead>\n<tbody>\n")
            _copy(section, out)
            out.write("</tbody>\n</table>\n</section>\n")
        out.write(
            f"<footer>Generated by shifty-ent {_h(meta.tool_version)} for {_h(meta.generated_by)}"
            f" (identity: {_h(meta.identity)})"
            f" at {_h(meta.generated_at.isoformat())}. The detached Ed25519 signature is in the "
            "<code>.sig</code> file beside this one; check both with "
            "<code>shifty-ent report verify FILE</code>.</footer>\n</body>\n</html>\n"
        )


# ---------------------------------------------------------------- JSON


class JsonRenderer(_Rows):
    ext = "json"

    def values_writer(self, section: Section, fh: IO[str]) -> Any:
        # one object per row, keys in column order, encoded by orjson; values it does not know
        # (Decimal, sets) and those whose text we choose ourselves (datetimes, dataclasses) go
        # through _default. Every row starts with its separator (the first one is dropped when
        # assembling), so spools written apart can simply be joined.
        keys = tuple(c.key for c in section.columns)
        dumps, write, default = orjson.dumps, fh.write, _default

        def write_row(values: Sequence[Any]) -> None:
            row = dict(zip(keys, values, strict=True))
            write(",\n" + dumps(row, default=default, option=_PASSTHROUGH).decode())

        return write_row

    def assemble(self, builder: ReportBuilder, out: IO[str]) -> None:
        def dump(value: Any) -> str:
            return json.dumps(plain(value), ensure_ascii=False, separators=(",", ":"))

        meta = builder.meta.public()
        out.write("{\n" + dump("meta") + ":" + dump(meta) + ",\n")
        out.write(dump("summary") + ":" + dump(builder.summary) + ",\n")
        out.write(dump("notes") + ":" + dump(builder.notes) + ",\n")
        out.write(dump("charts") + ":" + dump([c.public() for c in builder.charts]) + ",\n")
        out.write(dump("sections") + ":[")
        for i, section in enumerate(builder.sections):
            head = {
                "id": section.id,
                "title": section.title,
                "description": section.description,
                "columns": [
                    {"key": c.key, "title": c.title, "kind": c.kind} for c in section.columns
                ],
                "row_count": section.row_count,
            }
            out.write(("," if i else "") + "\n" + dump(head)[:-1] + ',"rows":[')
            _copy(section, out, skip=1 if section.row_count else 0)
            out.write("\n]}" if section.row_count else "]}")
        out.write("\n]\n}\n")


# ---------------------------------------------------------------- CSV


def _csv_cell(value: Any) -> Any:
    """A report value as a CSV cell, by the same rule as ``-o csv`` (:mod:`~shifty_ent.core.
    csvsafe`): ``true``/``false``, numbers as numbers, lists and objects as JSON text, and text
    that a spreadsheet would evaluate (``=HYPERLINK(...)``) neutralised with a leading quote."""
    return csvsafe.cell(plain(value))


class CsvRenderer(_Rows):
    """Comment lines (``#``) carry metadata and separate sections: pandas reads a section with
    ``comment='#'`` and spreadsheets show them as text rows. Cells are neutralised against
    formula injection before they are written, so the signature covers what a reader opens."""

    ext = "csv"

    def values_writer(self, section: Section, fh: IO[str]) -> Any:
        writer = csv.writer(fh, lineterminator="\n")

        def write(values: Sequence[Any]) -> None:
            writer.writerow([_csv_cell(v) for v in values])

        return write

    def assemble(self, builder: ReportBuilder, out: IO[str]) -> None:
        writer = csv.writer(out, lineterminator="\n")

        def comment(text: str) -> None:
            out.write("# " + text.replace("\r", " ").replace("\n", " ") + "\n")

        comment(builder.meta.title)
        for key, value in _meta_rows(builder):
            comment(f"{key}: {value}")
        for key, value in builder.summary.items():
            comment(f"summary.{key}: {cell_text(value)}")
        for note in builder.notes:
            comment(f"note: {note}")
        for chart in builder.charts:
            out.write("\n")
            comment(f"chart: {chart.id}: {chart.title}")
            writer.writerow(["label", csvsafe.neutralise(chart.unit)])
            for label, amount in chart.points:
                writer.writerow([_csv_cell(label), _csv_cell(amount)])
        for section in builder.sections:
            out.write("\n")
            comment(f"section: {section.id}: {section.title} ({section.row_count} rows)")
            writer.writerow([csvsafe.neutralise(c.key) for c in section.columns])
            _copy(section, out)


_RENDERERS: dict[str, type] = {
    "md": MarkdownRenderer,
    "html": HtmlRenderer,
    "json": JsonRenderer,
    "csv": CsvRenderer,
}

__all__ = ["FORMATS", "Column", "cell_text", "get_renderer", "plain", "svg_bar_chart"]
