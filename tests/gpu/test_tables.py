"""``gpu list`` for people: money with a currency and sensible decimals (issue 16)."""

from __future__ import annotations

import re
from typing import Any


def test_gpu_list_shows_dollars_with_sensible_decimals(
    gpu: Any, rented: Any, at: Any, vast: Any
) -> None:
    """``gpu list`` showed money as bare decimals with every digit (``0.438856``,
    ``1.886176``, and after accrual in one session up to 30 digits), under snake_case headers;
    the table shows ``$0.439`` and ``$1.89`` under ``Price Per Hour`` / ``Cost To Date``,
    while JSON keeps the exact decimal strings."""
    vast.boot_polls = 0
    at("2026-03-10T11:00:00Z")
    gpu("list", "--refresh")
    at("2026-03-10T15:17:07Z")
    res = gpu("list", "--refresh", fmt="table", env={"COLUMNS": "200"})
    assert res.exit_code == 0, res.stderr
    row = res.stdout.splitlines()[2]
    assert "$0.439" in row and "$1.89" in row, res.stdout
    assert "Price Per Hour" in res.stdout and "Cost To Date" in res.stdout
    assert not re.search(r"\d\.\d{4,}", res.stdout), res.stdout
    listed = gpu("list").json[0]
    assert listed["price_per_hour"] == "0.438856" and listed["cost_to_date"] == "1.886176"
