"""`gpu charges`: the ledger beside vast.ai's bill (GET /api/v0/charges/), per instance and day."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from tests.fakes.vastai import FakeVast


def _run_day(gpu: Any, vast: FakeVast, rented: dict[str, Any], at: Any) -> int:
    """The ledger test's machine: up at 10:30, first seen running at 11:00, destroyed 01:30."""
    pid = int(rented["provider_instance_id"])
    at("2026-03-10T10:30:00Z")
    vast.set_status(pid, "running")
    for ts in ("2026-03-10T11:00:00Z", "2026-03-10T13:30:00Z", "2026-03-11T01:00:00Z"):
        at(ts)
        assert gpu("reconcile", tenant=None).exit_code == 0
    at("2026-03-11T01:30:00Z")
    vast.add_traffic(pid, "bwd", 0.125)
    assert gpu("terminate", rented["id"], "--yes").exit_code == 0
    at("2026-03-12T09:00:00Z")
    return pid


def test_charges_name_what_the_ledger_missed(
    gpu: Any, vast: FakeVast, rented: dict[str, Any], at: Any
) -> None:
    pid = _run_day(gpu, vast, rented, at)
    before = len(vast.requests)
    res = gpu("charges", "--start", "2026-03-10", "--end", "2026-03-12")
    assert res.exit_code == 0, res.stderr
    assert len(vast.requests) - before == 1  # one page
    [row] = res.json
    assert row["instance_id"] == rented["id"] and row["provider_instance_id"] == str(pid)
    assert row["ledger_total"] == "6.368968"  # as hand-computed in test_ledger
    # vast.ai billed the GPU from 10:30, the ledger from the first observation at 11:00:
    # half an hour at 0.4333, plus the download the ledger cannot see
    assert Decimal(row["charged_gpu"]) - Decimal("6.28285") == Decimal("0.21665")
    assert row["charged_bandwidth"] == "0.125"
    assert Decimal(row["difference"]) == Decimal(row["charged_total"]) - Decimal("6.368968")
    assert abs(Decimal(row["difference"]) - Decimal("0.34165")) <= Decimal("0.00001")
    assert row["verdict"] == "ledger_low"
    assert abs(Decimal(row["charged_total"]) - Decimal(str(vast.destroyed[pid].billed))) < Decimal(
        "0.00001"
    )
    assert "1 differ" in res.stderr

    # the second day alone: 01:00-01:30 running on both sides, plus the download
    [day2] = gpu("charges", "--start", "2026-03-11", "--end", "2026-03-12").json
    assert day2["ledger_total"] == "0.658284"
    assert Decimal(day2["charged_gpu"]) == Decimal(day2["charged_gpu"]).quantize(Decimal("1e-6"))
    assert Decimal(day2["charged_gpu"]) - Decimal("0.4333") * Decimal("1.5") == 0
    assert day2["verdict"] == "ledger_low"  # the 0.125 of bandwidth


def test_other_tenants_machines_stay_out_and_pages_are_followed(
    cli: Any, gpu: Any, vast: FakeVast, rented: dict[str, Any], at: Any
) -> None:
    """600 foreign machines on the same account: two pages, none of them shown."""
    for _ in range(600):
        vast.add_foreign_instance(label="someone-else")
    at("2026-03-10T20:00:00Z")
    before = len(vast.requests)
    rows = gpu("charges", "--start", "2026-03-10", "--end", "2026-03-11").json
    assert [r["instance_id"] for r in rows] == [rented["id"]]
    charges_calls = [r for r in vast.requests[before:] if r.path == "/api/v0/charges/"]
    assert len(charges_calls) == 2
    cli.ok("tenant", "create", "globex", user="gina")
    assert cli.ok("gpu", "charges", user="gina", tenant="globex") == []


def test_bad_periods_and_roles(gpu: Any, vast: FakeVast, at: Any) -> None:
    at("2026-03-10T10:00:00Z")
    for args in (
        ("--start", "2026-03-10T10:00:00Z"),
        ("--start", "2026-03-12", "--end", "2026-03-11"),
        ("--start", "2024-01-01", "--end", "2026-01-01"),
        ("--end", "tomorrow"),
    ):
        res = gpu("charges", *args)
        assert res.exit_code == 2, args
        assert len(res.stderr.strip().splitlines()) == 1
    assert gpu("charges", user="lars").exit_code == 4
    assert not [r for r in vast.requests if r.path == "/api/v0/charges/"]


def test_vast_errors_are_exit_6(gpu: Any, vast: FakeVast, rented: dict[str, Any], at: Any) -> None:
    at("2026-03-10T12:00:00Z")
    vast.fail_next("GET", r"/api/v0/charges/", kind="500", times=10)
    res = gpu("charges")
    assert res.exit_code == 6 and "charges" in res.error["message"]


def test_the_end_day_is_counted(gpu: Any, vast: FakeVast, rented: dict[str, Any], at: Any) -> None:
    """Reproduction: rent at 10:00, run until 12:00 the same day, then ``gpu charges`` (default
    period: the last 30 days including today) showed no vast.ai charge at all: the client asked
    for days up to ``day.lte`` = today's midnight, which leaves today's charges out. An explicit
    ``--end`` (exclusive) left out the period's last day the same way."""
    pid = int(rented["provider_instance_id"])
    at("2026-03-10T10:00:00Z")
    vast.set_status(pid, "running")
    at("2026-03-10T12:00:00Z")
    [today] = gpu("charges").json
    assert Decimal(today["charged_gpu"]) == Decimal("0.8666")  # two hours at 0.4333
    at("2026-03-11T12:00:00Z")
    [day1] = gpu("charges", "--start", "2026-03-10", "--end", "2026-03-11").json
    assert Decimal(day1["charged_gpu"]) == Decimal("0.4333") * 14
