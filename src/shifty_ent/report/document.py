"""A report while it is being built: metadata, summary figures, charts and streamed sections.

Report modules add sections from row iterators; each row is rendered at once into a temporary
spool in the output format, so memory stays flat however many rows a section has. Summary figures
and charts (small, aggregated while streaming) are known only at the end, so the final file is
assembled afterwards: header, summary and charts first, then each spool copied in order.
"""

from __future__ import annotations

import os
import tempfile
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import IO, Any

from shifty_ent.report.period import Period

SCHEMA = "shifty-ent.report/v1"

# What a yes/no or a count means for the reader (HTML colours it by this, never by the value):
GOOD_IF_TRUE = "good_if_true"  # "certificate verifies: no" needs attention
BAD_IF_TRUE = "bad_if_true"  # "over monthly budget: no" is as expected
BAD_IF_NONZERO = "bad_if_nonzero"  # "failed: 2" needs attention, "failed: 0" is as expected


@dataclass(frozen=True)
class Column:
    key: str
    title: str
    kind: str = "text"  # text | int | money | time | bool | id | hash | pct
    judge: str | None = None  # GOOD_IF_TRUE, BAD_IF_TRUE, BAD_IF_NONZERO; None: informational


@dataclass
class Chart:
    """A bar chart: ``points`` are (label, value) in display order."""

    id: str
    title: str
    unit: str
    points: list[tuple[str, float]]
    empty: str = ""  # the sentence shown instead when there is nothing to draw

    def public(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "title": self.title,
            "unit": self.unit,
            "points": [{"label": label, "value": value} for label, value in self.points],
        }


@dataclass
class Meta:
    """What every report carries, in the file and in the signed statement."""

    report_id: str
    type: str
    title: str
    format: str
    tenant_id: str
    tenant_name: str
    period: Period
    generated_at: datetime
    generated_by: str
    tool_version: str
    audit_head_seq: int
    audit_head_hash: str
    # how the store proved generated_by: "os (authenticated)", "declared (not authenticated)", ...
    identity: str = "declared (not authenticated)"

    def public(self) -> dict[str, Any]:
        return {
            "schema": SCHEMA,
            "report_id": self.report_id,
            "type": self.type,
            "title": self.title,
            "format": self.format,
            "tenant_id": self.tenant_id,
            "tenant": self.tenant_name,
            "period_start": self.period.start.isoformat(),
            "period_end": self.period.end.isoformat(),
            "generated_at": self.generated_at.isoformat(),
            "generated_by": self.generated_by,
            "identity": self.identity,
            "tool": "shifty-ent",
            "tool_version": self.tool_version,
            "audit_head_seq": self.audit_head_seq,
            "audit_head_hash": self.audit_head_hash,
        }


# the statement fields a reader is shown (in the report's header and by ``report verify``)
SIGNED_META_KEYS = (
    "report_id",
    "type",
    "format",
    "tenant",
    "tenant_id",
    "period_start",
    "period_end",
    "generated_at",
    "generated_by",
    "identity",
    "tool_version",
    "audit_head_seq",
    "audit_head_hash",
)


@dataclass
class Section:
    id: str
    title: str
    columns: list[Column]
    description: str = ""
    row_count: int = 0
    spool: IO[str] | None = field(default=None, repr=False)
    # rows rendered elsewhere (another process's part of the section), copied after ``spool``
    more: list[IO[str]] = field(default_factory=list, repr=False)

    def append_spool(self, path: str, rows: int) -> None:
        """Add rows another process rendered into ``path`` (opened, then unlinked: the open
        file keeps them until the report is assembled)."""
        fh = open(path, encoding="utf-8", newline="")  # noqa: SIM115 - closed by close()
        os.unlink(path)
        self.more.append(fh)
        self.row_count += rows


RowWriter = Callable[[dict[str, Any]], None]
ValuesWriter = Callable[[Sequence[Any]], None]


class ReportBuilder:
    """Collects one report. ``renderer`` (see :mod:`shifty_ent.report.render`) renders rows."""

    def __init__(self, meta: Meta, renderer: Any) -> None:
        self.meta = meta
        self.renderer = renderer
        self.summary: dict[str, Any] = {}
        # how a summary figure reads: its kind (as a Column's) and what it means (judge)
        self.summary_kinds: dict[str, str] = {}
        self.summary_judge: dict[str, str] = {}
        self.notes: list[str] = []
        self.charts: list[Chart] = []
        self.sections: list[Section] = []

    @property
    def row_count(self) -> int:
        return sum(s.row_count for s in self.sections)

    def open_section(
        self, id: str, title: str, columns: list[Column], description: str = ""
    ) -> tuple[Section, RowWriter]:
        """Start a section; returns it and a function that renders one row into its spool."""
        return self._open(id, title, columns, description, by_values=False)

    def open_values_section(
        self, id: str, title: str, columns: list[Column], description: str = ""
    ) -> tuple[Section, ValuesWriter]:
        """Like :meth:`open_section`, for rows given as values in column order (the fast path
        for sections of millions of rows: no dict per row)."""
        return self._open(id, title, columns, description, by_values=True)

    def _open(
        self, id: str, title: str, columns: list[Column], description: str, *, by_values: bool
    ) -> tuple[Section, Any]:
        spool = tempfile.TemporaryFile(mode="w+", encoding="utf-8", newline="")  # noqa: SIM115
        section = Section(id, title, columns, description, spool=spool)
        self.sections.append(section)
        renderer = self.renderer
        write = (renderer.values_writer if by_values else renderer.row_writer)(section, spool)

        def add(row: Any) -> None:
            write(row)
            section.row_count += 1

        return section, add

    def section(
        self,
        id: str,
        title: str,
        columns: list[Column],
        rows: Iterable[dict[str, Any]],
        description: str = "",
    ) -> int:
        """Add a section from an iterator of rows (consumed once, streamed); returns the count."""
        section, add = self.open_section(id, title, columns, description)
        for row in rows:
            add(row)
        return section.row_count

    def chart(
        self, id: str, title: str, unit: str, points: list[tuple[str, float]], empty: str = ""
    ) -> None:
        """Add a bar chart; ``empty`` is the sentence shown when all its values are zero."""
        self.charts.append(Chart(id, title, unit, points, empty))

    def write(self, out: IO[str]) -> None:
        """Assemble the final document into ``out`` and release the spools."""
        try:
            self.renderer.assemble(self, out)
        finally:
            self.close()

    def close(self) -> None:
        for section in self.sections:
            if section.spool is not None:
                section.spool.close()
                section.spool = None
            for fh in section.more:
                fh.close()
            section.more.clear()
