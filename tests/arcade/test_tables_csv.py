"""Arcade output for people and spreadsheets: rounded ratios, stats as rows (issue 16)."""

from __future__ import annotations

import csv
import io
from datetime import timedelta
from typing import Any

from tests.arcade.conftest import T0


def _two_of_three(arcade: Any) -> dict[str, Any]:
    m = arcade.create(overlap=3, t=T0)
    arcade.answer(m["id"], "lars", "incorrect", dwell=40)
    arcade.answer(m["id"], "lena", "correct", dwell=40)
    arcade.answer(m["id"], "lukas", "incorrect", dwell=40)
    return m


def test_ratios_are_rounded_in_tables(arcade: Any) -> None:
    """A mission two of three labellers agreed on showed agreement ``0.6666666666666666`` in
    ``arcade mission list``; the table shows ``0.67``, JSON keeps the full value."""
    m = _two_of_three(arcade)
    later = T0 + timedelta(minutes=5)
    listed = arcade.ok("mission", "list", t=later)
    full = next(r for r in listed if r["id"] == m["id"])["agreement"]
    assert full == 2 / 3
    res = arcade.run("mission", "list", t=later, fmt="table")
    assert res.exit_code == 0 and "0.67" in res.stdout and "0.6666" not in res.stdout


def test_stats_csv_has_one_row_per_type(arcade: Any) -> None:
    """``arcade stats -o csv`` wrote one row of JSON blobs (``by_type``, ``totals``); it now
    writes one row per mission type and one ``all`` row, each with the period."""
    _two_of_three(arcade)
    c = arcade.create("classify_error", overlap=2, t=T0 + timedelta(minutes=1))
    arcade.answer(c["id"], "lars", "timeout")
    args = ("stats", "--start", "2026-03-02", "--end", "2026-03-03")
    later = T0 + timedelta(hours=1)
    res = arcade.run(*args, t=later, fmt="csv")
    assert res.exit_code == 0, res.stderr
    rows = list(csv.DictReader(io.StringIO(res.stdout)))
    assert [r["type"] for r in rows] == ["label_test_output", "classify_error", "all"]
    assert all(r["start"].startswith("2026-03-02") for r in rows)
    assert rows[-1]["answers"] == "4" and rows[0]["missions_created"] == "1"
    assert not any(v.startswith(("{", "[")) for r in rows for v in r.values() if v)
    # JSON keeps its shape
    doc = arcade.ok(*args, t=later)
    assert set(doc) == {"start", "end", "totals", "by_type"}
