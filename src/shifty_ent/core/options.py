"""Shared ``Annotated`` options, so every command spells an option the same way.

This module is imported by every ``cli.py``: keep it free of heavy imports.
"""

from __future__ import annotations

from enum import StrEnum
from pathlib import Path
from typing import Annotated

import typer

from shifty_ent.core.choices import StoreValues


class OutputFormat(StrEnum):
    table = "table"
    json = "json"
    jsonl = "jsonl"
    csv = "csv"


class ReportFormat(StrEnum):
    md = "md"
    html = "html"
    json = "json"
    csv = "csv"
    pdf = "pdf"


# global options (root callback)
DbOpt = Annotated[
    str | None,
    typer.Option(
        "--db",
        metavar="URL",
        help="State store URL (sqlite:///PATH or postgresql://...). "
        "Env: SHIFTY_DATABASE_URL, then DATABASE_URL.",
        show_default=False,
    ),
]
TenantOpt = Annotated[
    str | None,
    typer.Option(
        "--tenant",
        "-t",
        metavar="TENANT",
        parser=StoreValues("tenant"),
        help="Tenant id, id prefix or name. Env: SHIFTY_TENANT.",
    ),
]
ActorOpt = Annotated[
    str | None,
    typer.Option(
        "--as",
        metavar="USER",
        parser=StoreValues("user"),
        help="Acting user: free only in declared-identity stores; elsewhere it may only name "
        "who you are (the OS account or PostgreSQL login). Env: SHIFTY_USER.",
    ),
]
OutputOpt = Annotated[
    OutputFormat | None,
    typer.Option(
        "--output",
        "-o",
        metavar="FORMAT",
        case_sensitive=False,
        help="Output format. Env: SHIFTY_OUTPUT; default: table on a terminal, json when piped.",
    ),
]
JsonOpt = Annotated[bool, typer.Option("--json", help="Shorthand for --output json.")]


def split_columns(value: str | None) -> list[str] | None:
    """``--columns a,b,c`` -> ``["a", "b", "c"]`` (blanks dropped; None when not given)."""
    if value is None:
        return None
    names = [part.strip() for part in value.split(",") if part.strip()]
    if not names:
        raise typer.BadParameter("name at least one column, e.g. --columns id,name")
    return names


ColumnsOpt = Annotated[
    str | None,
    typer.Option(
        "--columns",
        metavar="A,B,C",
        help="Table and CSV columns, by JSON field name (JSON always has every field).",
        show_default=False,
    ),
]
WideOpt = Annotated[bool, typer.Option("--wide", help="Table: every field, as wide as it takes.")]
DebugOpt = Annotated[bool, typer.Option("--debug", help="Show tracebacks for errors.")]
QuietOpt = Annotated[bool, typer.Option("--quiet", "-q", help="No progress or messages.")]

# per-command options
YesOpt = Annotated[bool, typer.Option("--yes", "-y", help="Do not ask for confirmation.")]
DryRunOpt = Annotated[
    bool, typer.Option("--dry-run", help="Show what would happen; change nothing.")
]
LimitOpt = Annotated[int, typer.Option("--limit", min=1, help="At most this many rows.")]
StartOpt = Annotated[
    str | None,
    typer.Option(
        "--start", metavar="DATE", help="Period start, ISO 8601 date or time (inclusive)."
    ),
]
EndOpt = Annotated[
    str | None,
    typer.Option("--end", metavar="DATE", help="Period end, ISO 8601 date or time (exclusive)."),
]
OutFileOpt = Annotated[
    Path | None,
    typer.Option("--out", metavar="FILE", help="Write to FILE instead of stdout.", dir_okay=False),
]
ForceOpt = Annotated[
    bool,
    typer.Option("--force", help="Replace an existing regular file at --out (nothing else)."),
]
ReportFormatOpt = Annotated[
    ReportFormat, typer.Option("--format", case_sensitive=False, help="Report format.")
]
