"""The rules tables and CSV files follow, value by value (issue 16)."""

from __future__ import annotations

from decimal import Decimal

import pytest

from shifty_ent.core import cells, csvsafe


@pytest.mark.parametrize(
    ("key", "value", "shown"),
    [
        ("size_bytes", 2147483648, "2.0 GiB"),
        ("size_bytes", 512, "512 B"),
        ("usage_bytes", 1536, "1.5 KiB"),
        ("files", [{"path": "model.bin", "size": 3 * 1024**2}], "(path: model.bin, size: 3.0 MiB)"),
        ("batch_size", 32, "32"),
        ("cost_to_date", "0.219444444444444444444444444444", "$0.219"),
        ("price_per_hour", "0.438856", "$0.439"),
        ("gpu_monthly_budget", "1234.5", "$1,234.50"),
        ("storage_rate", "0.0000417", "$0.0000417"),
        ("amount", "-12.5", "-$12.50"),
        ("budget_terminations", 3, "3"),
        ("hyperparameters", {"learning_rate": 0.0002}, "learning_rate: 0.0002"),
        ("agreement", 2 / 3, "0.67"),
        ("median_seconds", 30.0, "30.0"),
        ("kappa", 0.004, "0.004"),
        ("legal_hold", False, "no"),
        ("changed", {"auto_delete": [False, True]}, "auto_delete: [no, yes]"),
        ("lineage", {"a": {"b": None}}, "a: (b: )"),
        ("asset_ids", ["5a1e0000-0000-4000-8000-000000000000"], "5a1e0000"),
        ("name", "[red]x[/red]", "[red]x[/red]"),
    ],
)
def test_cells_read_as_people_expect(key: str, value: object, shown: str) -> None:
    """Before: bytes, 30-digit money, 16-digit ratios, ``True``/JSON inside cells."""
    assert cells.cell(key, value) == shown


def test_times_are_local_to_the_second(monkeypatch: pytest.MonkeyPatch) -> None:
    """An ISO time reads ``YYYY-MM-DD HH:MM:SS+HH:MM`` in ``TZ`` (DST included)."""
    monkeypatch.setenv("TZ", "Europe/Berlin")
    assert cells.cell("at", "2026-01-15T09:00:00.123456+00:00") == "2026-01-15 10:00:00+01:00"
    assert cells.cell("at", "2026-07-15T09:00:00+00:00") == "2026-07-15 11:00:00+02:00"
    assert cells.cell("day", "2026-07-15") == "2026-07-15"


@pytest.mark.parametrize(
    ("key", "label"),
    [("size_bytes", "Size"), ("gpu_type", "GPU Type"), ("content_sha256", "Content SHA-256")],
)
def test_headers_are_title_case(key: str, label: str) -> None:
    assert cells.header(key) == label


@pytest.mark.parametrize(
    ("value", "cell"),
    [
        ("=1+1", "'=1+1"),
        ("+49 30 1234", "'+49 30 1234"),
        ("-2+3", "'-2+3"),
        ("@cmd", "'@cmd"),
        ("\tx", "'\tx"),
        ("\rx", "'\rx"),
        ("-12.50", "-12.50"),
        ("-1e5", "-1e5"),
        (-1.5, -1.5),
        (True, "true"),
        (None, ""),
        ({"k": "=x"}, '{"k":"=x"}'),
        (["=x"], '["=x"]'),
    ],
)
def test_csv_cells_never_start_a_formula(value: object, cell: object) -> None:
    """OWASP: a cell starting with = + - @ tab CR is prefixed with ``'``; numbers stay numbers."""
    assert csvsafe.cell(value) == cell


def test_money_below_a_cent_keeps_three_significant_digits() -> None:
    assert cells.money(Decimal("0.000001")) == "$0.000001"
    assert cells.money(Decimal("0")) == "$0.00"
