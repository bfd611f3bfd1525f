"""HTML reports people read (on a screen, printed, as PDF): every report type laid out by headless
Chromium keeps ids, statuses, numbers and money whole; booleans are coloured by meaning; money has
its currency and two decimals; charts are readable or replaced by a sentence; ``--format pdf``
prints the same HTML and is signed like every format."""

from __future__ import annotations

import json
import re
import shutil
import subprocess
import sys
import uuid
from pathlib import Path
from typing import Any

import pytest

from shifty_ent.report.html_values import when
from tests.conftest import Cli

CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")
PDFTOTEXT = shutil.which("pdftotext")
needs_chromium = pytest.mark.skipif(
    CHROMIUM is None or PDFTOTEXT is None,
    reason="needs Debian's chromium and poppler-utils (pdftotext); .ci/run installs both",
)
COMPLIANCE = ("deletion_audit", "access_audit", "retention_status", "data_inventory")


def _report(cli: Cli, out: Path, kind: str, fmt: str, **kw: Any) -> Any:
    user = "audrey" if kind in COMPLIANCE else "olga"
    args = ["compliance", "--type", kind] if kind in COMPLIANCE else [kind]
    return cli("report", *args, "--format", fmt, "--out", str(out), "--force", user=user, **kw)


def _print_to_text(html: Path, home: Path) -> str:
    """Chromium lays the HTML out and prints it to PDF; pdftotext reads back what it laid out."""
    pdf = html.with_suffix(".chromium.pdf")
    assert CHROMIUM is not None and PDFTOTEXT is not None
    subprocess.run(
        [
            CHROMIUM,
            "--headless",
            "--no-sandbox",
            "--disable-gpu",
            "--no-pdf-header-footer",
            f"--print-to-pdf={pdf}",
            html.as_uri(),
        ],
        check=True,
        capture_output=True,
        timeout=120,
        env={"HOME": str(home), "PATH": "/usr/bin:/bin"},
    )
    done = subprocess.run(
        [PDFTOTEXT, "-layout", str(pdf), "-"], check=True, capture_output=True, timeout=60
    )
    return done.stdout.decode("utf-8")


def _tokens(doc: dict[str, Any]) -> set[str]:
    """What a reader must find whole in the printed report, from the JSON of the same data."""
    out: set[str] = set()
    for section in doc["sections"]:
        kinds = {c["key"]: c["kind"] for c in section["columns"]}
        for row in section["rows"]:
            for key, value in row.items():
                kind = kinds[key]
                if value is None or isinstance(value, bool) or value == "":
                    continue
                if kind in ("id", "hash"):
                    out.add(str(value))  # in full, in the section's identifier list
                elif kind == "int":
                    out.add(f"{value:,}")
                elif kind == "money":
                    out.add(f"${float(value):,.2f}")
                elif kind == "time":
                    out.update(str(when(value)).split(" "))
                elif isinstance(value, str) and " " not in value and len(value) <= 40:
                    out.add(value)  # statuses, methods, classifications, names
    return out


def _word(token: str, text: str) -> bool:
    return re.search(r"(?<![\w$.-])" + re.escape(token) + r"(?![\w-])", text) is not None


@pytest.fixture
def sandbox(isolated_env: Path, monkeypatch: pytest.MonkeyPatch) -> tuple[Cli, dict]:
    """The quickstart's tenant (all report types have data), plus a destroyed workspace. The tour
    keeps its own SQLite store, so these tests run once, not once per backend."""
    monkeypatch.delenv("SHIFTY_IDENTITY")
    qs = Cli(None)
    tour = qs.ok("quickstart", user=None)
    home = {"SHIFTY_HOME": tour["sandbox"]}
    ws = qs.ok(
        "data", "workspace", "create", "--type", "scratch", "--size", "1M", "--ttl", "1h",
        user="olga", tenant="quickstart", env=home,
    )  # fmt: skip
    qs.ok(
        "data",
        "workspace",
        "destroy",
        ws["id"],
        "--yes",
        user="olga",
        tenant="quickstart",
        env=home,
    )
    return qs, home


@needs_chromium
def test_every_report_type_prints_with_ids_statuses_and_numbers_unbroken(sandbox, tmp_path):
    """Reproduction: open any HTML report in a browser or print it. Cells broke inside words and
    numbers ("co mpl ete d", "Cle ar", bytes "30 00 40", ids split over three lines) and the
    x axis of a 31-day chart carried 31 overlapping labels. Now every id, status, number and
    amount that the JSON holds is found whole in what Chromium laid out."""
    qs, home = sandbox
    kinds = (*COMPLIANCE, "costs", "arcade")
    broken: dict[str, list[str]] = {}
    for kind in kinds:
        json_out, html_out = tmp_path / f"{kind}.json", tmp_path / f"{kind}.html"
        assert _report(qs, json_out, kind, "json", tenant="quickstart", env=home).exit_code == 0
        res = _report(qs, html_out, kind, "html", tenant="quickstart", env=home)
        assert res.exit_code == 0, res.stderr
        doc = json.loads(json_out.read_text())
        text = _print_to_text(html_out, tmp_path)
        expected = _tokens(doc)
        assert expected, kind
        assert doc["meta"]["tenant_id"] in text
        missing = sorted(t for t in expected if not _word(t, text))
        if missing:
            broken[kind] = missing
        page = html_out.read_text()
        for svg in re.findall(r"<svg.*?</svg>", page, flags=re.S):
            assert len(re.findall(r'text-anchor="middle">', svg)) <= 13, kind  # axis labels
        assert "rotate(-35" not in page
    assert broken == {}, f"not found whole in the printed text: {broken}"


@needs_chromium
def test_deletion_audit_names_workspace_jobs_and_moves_full_ids_below(sandbox, tmp_path):
    """Reproduction: `data workspace destroy WS`, then `report compliance --type deletion_audit
    --format html`: the workspace's job read "Approved by: auto (retention policy)". Now it says
    the workspace was destroyed; the table shows 8-character ids with the full ones listed."""
    qs, home = sandbox
    data = tmp_path / "deletion.json"
    assert _report(qs, data, "deletion_audit", "json", tenant="quickstart", env=home).exit_code == 0
    rows = json.loads(data.read_text())["sections"][0]["rows"]
    by = {r["approved_by"]: r["four_eyes"] for r in rows}
    assert by == {
        "auto (workspace destroyed)": "workspace",
        "auto (retention policy personal-30d)": "policy",
    }
    out = tmp_path / "deletion.html"
    assert _report(qs, out, "deletion_audit", "html", tenant="quickstart", env=home).exit_code == 0
    text = _print_to_text(out, tmp_path)
    assert "auto (workspace destroyed)" in text and "Full identifiers" in text
    for row in rows:
        assert row["job_id"][:8] in text and row["job_id"] in text


def _costs_html(cli: Cli, tmp_path: Path, env: dict[str, str] | None = None, **kw: str) -> str:
    out = tmp_path / f"costs-{uuid.uuid4().hex[:6]}.html"
    args = ["report", "costs", "--format", "html", "--out", str(out)]
    for key, value in kw.items():
        args += [f"--{key}", value]
    res = cli(*args, tenant="acme", user="olga", env=env)
    assert res.exit_code == 0, res.stderr
    return out.read_text()


def _figure(page: str, title: str) -> str:
    """The HTML of one summary card, by its title."""
    match = re.search(
        r'<div class="figure[^"]*"><div class="([^"]*)">(.*?)</div><div class="k">'
        + re.escape(title)
        + "</div>",
        page,
    )
    assert match, title
    return match.group(1) + "|" + match.group(2)


def test_costs_html_money_budgets_and_booleans_read_right(cli, tenant, tmp_path):
    """Reproduction: `gpu budget set --monthly 500` (no hourly budget), then `report costs
    --format html`: "over monthly budget: no" was red, the hourly budget card was empty, the daily
    budget share read 16.129032 without a currency, and the empty spend chart was a bare grid
    with 31 rotated date labels."""
    cli.ok("gpu", "budget", "set", "--monthly", "500", tenant="acme")
    env = {"SHIFTY_NOW": "2026-03-10T00:00:00+00:00"}
    page = _costs_html(cli, tmp_path, env, start="2026-03-01", end="2026-04-01")
    over = _figure(page, "Over monthly budget")
    assert "bad" not in over and "good" in over and over.endswith("no")
    assert _figure(page, "Hourly budget") == "v none|not set"
    assert _figure(page, "Monthly budget") == "v|$500.00"
    assert "16.129032" not in page and "$16.13" in page
    assert "needs attention" in page  # the legend says what the colours mean
    chart = page.split('id="chart-spend_per_day"')[1].split("</section>")[0]
    assert "<svg" not in chart and "No GPU spend in this period." in chart


def test_costs_chart_of_a_month_has_at_most_twelve_readable_labels():
    """Reproduction: a 31-day period's spend chart drew 31 labels rotated over each other. Now
    at most 12, horizontal, with money on the y axis."""
    from shifty_ent.report.document import Chart
    from shifty_ent.report.html_charts import chart_html

    points = [(f"2026-03-{d:02d}", 12.5 if d % 3 else 0.0) for d in range(1, 32)]
    svg = chart_html(Chart("spend", "GPU spend per day (USD)", "USD", points))
    labels = re.findall(r'text-anchor="middle">([^<]+)</text>', svg)
    assert 1 < len(labels) <= 12 and labels[0] == "Mar 1"
    assert "rotate(-35" not in svg and "$15" in svg  # y axis: $0, $5, $10, $15
    assert all(len(lbl) <= 6 for lbl in labels)


def test_retention_status_without_overdue_says_so_instead_of_an_empty_chart(cli, tenant, tmp_path):
    """Reproduction: `report compliance --type retention_status --format html` for a tenant with a
    policy and nothing overdue drew an empty grid. Now one sentence says no policy has overdue
    assets."""
    cli.ok(
        "data", "policy", "create", "p30", "-c", "pii", "--retention-days", "30",
        user="olga", tenant="acme",
    )  # fmt: skip
    out = tmp_path / "retention.html"
    res = cli(
        "report", "compliance", "--type", "retention_status", "--format", "html",
        "--out", str(out), tenant="acme", user="audrey",
    )  # fmt: skip
    assert res.exit_code == 0, res.stderr
    chart = out.read_text().split('id="chart-retention_by_policy"')[1].split("</section>")[0]
    assert "<svg" not in chart and "No policy has overdue assets" in chart


def test_table_cells_wrap_only_at_spaces(cli, tenant, tmp_path):
    """Reproduction: the stylesheet said `word-break:break-word`, so narrow cells split words and
    numbers anywhere. Now cells break only at spaces, and hyphenated words are kept whole."""
    page = _costs_html(cli, tmp_path)
    assert "break-word" not in page and "break-all" not in page
    assert "word-break:normal;overflow-wrap:normal" in page
    assert "@page" in page and "@media print" in page


# ---------------------------------------------------------------- PDF


def test_pdf_is_signed_and_verifies_and_a_changed_byte_fails(cli, tenant, tmp_path):
    """`report costs --format pdf` writes a PDF (the HTML, printed), signed over its bytes."""
    pytest.importorskip("weasyprint", reason="the pdf extra (weasyprint) is not installed")
    out = tmp_path / "costs.pdf"
    res = cli("report", "costs", "--format", "pdf", "--out", str(out), tenant="acme", user="olga")
    assert res.exit_code == 0, res.stderr
    rep = res.json
    data = out.read_bytes()
    assert data.startswith(b"%PDF-") and rep["format"] == "pdf"
    assert out.with_name("costs.pdf.sig").is_file()
    assert cli.ok("report", "verify", str(out), user=None)["ok"] is True
    if PDFTOTEXT is not None:
        text = subprocess.run(
            [PDFTOTEXT, "-layout", str(out), "-"], check=True, capture_output=True
        ).stdout.decode()
        assert rep["id"] in text and "GPU costs and budgets" in text
    changed = bytearray(data)
    changed[len(data) // 2] ^= 0x01
    out.write_bytes(bytes(changed))
    bad = cli("report", "verify", str(out), user=None)
    assert bad.exit_code == 4 and "changed after signing" in bad.error["message"]


def test_pdf_without_the_extra_is_one_line_and_exit_4(cli, tenant, tmp_path, monkeypatch):
    """Without WeasyPrint, `--format pdf` refuses in one line naming the extra; nothing written."""
    monkeypatch.setitem(sys.modules, "weasyprint", None)  # import weasyprint -> ImportError
    out = tmp_path / "costs.pdf"
    res = cli(
        "report", "costs", "--format", "pdf", "--out", str(out),
        tenant="acme", user="olga", fmt=None,
    )  # fmt: skip
    assert res.exit_code == 4
    lines = res.stderr.strip().splitlines()
    assert len(lines) == 1 and "pip install 'shifty-ent[pdf]'" in lines[0]
    assert not out.exists() and not out.with_name("costs.pdf.sig").exists()
    assert cli.ok("report", "list", tenant="acme", user="olga") == []


@pytest.mark.slow
def test_pdf_of_an_access_audit_split_across_processes(cli, tenant, make_context, tmp_path):
    """Reproduction: `SHIFTY_REPORT_PROCESSES=3 report compliance --type access_audit --format
    pdf` on a long chain: each worker process asked for a "pdf" row renderer, which does not
    exist (the rows of a PDF are HTML rows). Now the parts render as HTML and the PDF verifies."""
    pytest.importorskip("weasyprint", reason="the pdf extra (weasyprint) is not installed")
    for i in range(12):
        with make_context(tenant="acme", user="olga") as ctx:
            ctx.audit(
                "data.asset.read",
                target_type="asset",
                target_id=uuid.uuid4(),
                details={"classification": "pii", "n": i},
            )
    out = tmp_path / "access.pdf"
    env = {"SHIFTY_REPORT_PROCESSES": "3", "SHIFTY_REPORT_PARALLEL_MIN": "1"}
    res = cli(
        "report", "compliance", "--type", "access_audit", "--format", "pdf", "--out", str(out),
        tenant="acme", user="audrey", env=env,
    )  # fmt: skip
    assert res.exit_code == 0, res.stderr
    assert res.json["row_count"] >= 12 and out.read_bytes().startswith(b"%PDF-")
    assert cli.ok("report", "verify", str(out), user=None)["ok"] is True


def test_values_read_as_a_person_expects():
    """Money, times, ids and yes/no as the HTML shows them (what the Chromium test finds whole)."""
    from shifty_ent.report.document import BAD_IF_NONZERO, BAD_IF_TRUE, GOOD_IF_TRUE
    from shifty_ent.report.html_values import cell, money, tone, wrap_at_spaces

    assert money("16.129032") == "$16.13" and money("1234567.5") == "$1,234,567.50"
    assert money("-0.004") == "$0.00" and money("not money") is None
    assert when("2026-11-27T09:54:59.250465+01:00") == "2026-11-27 08:54:59"
    assert cell("98cbe77f-68df-4246-93f6-ae4826a0ad11", "id") == ("<code>98cbe77f</code>", "nowrap")
    assert tone(False, BAD_IF_TRUE) == "good" and tone(True, BAD_IF_TRUE) == "bad"
    assert tone(False, GOOD_IF_TRUE) == "bad" and tone(None, GOOD_IF_TRUE) == ""
    assert tone(0, BAD_IF_NONZERO) == "good" and tone(2, BAD_IF_NONZERO) == "bad"
    assert tone(True, None) == ""  # a plain yes/no is information, never red
    kept = wrap_at_spaces("policy personal-30d")
    assert kept == 'policy <span class="nowrap">personal-30d</span>'
    assert cell(3000040, "int") == ("3,000,040", "n")
