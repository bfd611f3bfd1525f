"""Cost ledger maths against hand-computed values (SHIFTY_NOW moves time)."""

from __future__ import annotations

from decimal import Decimal


def test_ledger_by_hand(gpu, vast, rented, db_url, at):
    pid = int(rented["provider_instance_id"])
    # the machine comes up at 10:30; reconcile first sees it running at 11:00, and an interval
    # is billed at the state observed at its start
    at("2026-03-10T10:30:00Z")
    vast.set_status(pid, "running")
    # 10:00-11:00 loading: storage only = 0.005556
    at("2026-03-10T11:00:00Z")
    assert gpu("reconcile", tenant=None).exit_code == 0
    # 11:00-13:30 running 2.5 h: 0.4333*2.5 = 1.08325 + 0.005556*2.5 = 0.01389 -> 1.09714
    at("2026-03-10T13:30:00Z")
    assert gpu("reconcile", tenant=None).exit_code == 0
    # 13:30-01:00 next day, split at midnight: 10.5 h = 4.54965 + 0.058338 = 4.607988
    #                                          1 h    = 0.4333  + 0.005556 = 0.438856
    at("2026-03-11T01:00:00Z")
    assert gpu("reconcile", tenant=None).exit_code == 0
    # 01:00-01:30 running 0.5 h: 0.21665 + 0.002778 = 0.219428, then destroyed
    at("2026-03-11T01:30:00Z")
    res = gpu("terminate", rented["id"], "--yes")
    assert res.exit_code == 0, res.stderr
    assert res.json["cost_to_date"] == "6.368968"
    assert res.json["terminated_at"].startswith("2026-03-11T01:30:00")

    at("2026-03-12T00:00:00Z")
    by_day = gpu("costs", "--group-by", "day").json
    assert [(r["day"], r["total"]) for r in by_day] == [
        ("2026-03-10", "5.710684"),
        ("2026-03-11", "0.658284"),
    ]
    assert by_day[0]["gpu_cost"] == "5.6329"  # 0.4333 x 13 h
    by_inst = gpu("costs", "--group-by", "instance").json
    assert len(by_inst) == 1
    row = by_inst[0]
    assert row["instance_id"] == rented["id"]
    assert row["total"] == "6.368968"
    assert row["gpu_cost"] == "6.28285"  # 0.4333 x 14.5 h
    assert row["storage_cost"] == "0.086118"  # 0.005556 x 15.5 h
    assert row["hours"] == 15.5 and row["gpu_hours"] == 14.5
    by_type = gpu("costs", "--group-by", "type").json
    assert [(r["gpu_type"], r["total"]) for r in by_type] == [("RTX_4090", "6.368968")]
    # a period filter: only the second day
    day2 = gpu("costs", "--group-by", "type", "--start", "2026-03-11", "--end", "2026-03-12").json
    assert day2[0]["total"] == "0.658284"
    # the fake billed the GPU from 10:30 (it knew the true start); we start at the first
    # observation of running (11:00): the difference is half an hour of GPU
    billed = Decimal(str(vast.destroyed[pid].billed))
    assert abs(billed - Decimal("0.21665") - Decimal("6.368968")) < Decimal("0.00002")
    # the ledger rows sum to the instance's cost in the database itself (micro-dollars)
    from sqlalchemy import create_engine, text

    eng = create_engine(db_url)
    with eng.connect() as conn:
        micros = conn.execute(text("SELECT SUM(amount) FROM gpu_cost_entries")).scalar_one()
    eng.dispose()
    assert int(micros) == 6_368_968


def test_status_shows_cost_to_date_including_unaccrued(gpu, vast, rented, at):
    pid = int(rented["provider_instance_id"])
    vast.set_status(pid, "running")
    gpu("reconcile", tenant=None)
    at("2026-03-10T12:00:00Z")
    shown = gpu("status", rented["id"]).json
    # 2 h running at 0.4333 + 0.005556 = 0.877712 (not yet in the ledger)
    assert shown["cost_to_date"] == "0.877712"
    assert gpu("costs").json == []


def test_accrual_is_claimed_once(make_context, gpu, vast, rented):
    from datetime import UTC, datetime

    from shifty_ent.gpu import instances, ledger

    when = datetime(2026, 3, 10, 12, 0, tzinfo=UTC)
    with make_context(tenant="acme") as ctx:
        a = instances.get_instance(ctx, rented["id"])
        first = ledger.accrue(ctx.session, a, when)
    with make_context(tenant="acme") as ctx:
        b = instances.get_instance(ctx, rented["id"])
        from sqlalchemy.orm.attributes import set_committed_value

        # what another process read before the first accrual committed
        set_committed_value(b, "accrued_until", datetime(2026, 3, 10, 10, 0, tzinfo=UTC))
        again = ledger.accrue(ctx.session, b, when)
    assert first == Decimal("0.011112") and again == 0


def test_bad_period_is_exit_2(gpu, vast):
    assert gpu("costs", "--start", "yesterday").exit_code == 2
    assert gpu("costs", "--start", "2026-03-02", "--end", "2026-03-01").exit_code == 2
    assert gpu("costs", "--group-by", "week").exit_code == 2
