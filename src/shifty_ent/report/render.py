"""Render a report as Markdown, self-contained HTML (see :mod:`.html`), JSON or CSV.

Rows arrive one at a time (see :class:`~shifty_ent.report.document.ReportBuilder`) and are written
into a spool in the final syntax; :meth:`assemble` writes the head, the summary and the charts and
then copies each spool. Output is deterministic for the same content (no random ids or
timestamps beyond those in the metadata), which is what the detached signature covers.
"""

from __future__ import annotations

import csv
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
from shifty_ent.report.document import SIGNED_META_KEYS, Column, ReportBuilder, Section
from shifty_ent.report.html import HtmlRenderer
from shifty_ent.report.row_writers import RowWriters

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


# ---------------------------------------------------------------- Markdown


def _md_escape(text: str) -> str:
    return (
        text.replace("\\", "\\\\")
        .replace("|", "\\|")
        .replace("\r", " ")
        .replace("\n", " ")
        .replace("<", "&lt;")
    )


class MarkdownRenderer(RowWriters):
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


# ---------------------------------------------------------------- JSON


class JsonRenderer(RowWriters):
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


class CsvRenderer(RowWriters):
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

__all__ = ["FORMATS", "Column", "cell_text", "get_renderer", "plain"]
