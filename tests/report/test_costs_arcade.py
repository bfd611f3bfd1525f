"""report costs (ledger vs budgets, burn rate, projection) and report arcade (quality, XP)."""

from __future__ import annotations

import json
import uuid
from datetime import UTC, datetime, timedelta
from decimal import Decimal

import pytest

T0 = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)


def _report(cli, tmp_path, kind, user="olga", fmt="json", env=None, **opts):
    out = tmp_path / f"{kind}-{uuid.uuid4().hex[:6]}.{fmt}"
    args = ["report", kind, "--format", fmt, "--out", str(out)]
    for k, v in opts.items():
        args += [f"--{k}", v]
    res = cli(*args, tenant="acme", user=user, env=env)
    return res, out


def _section(doc, sid):
    return next(s for s in doc["sections"] if s["id"] == sid)


# ---------------------------------------------------------------- costs


@pytest.fixture
def ledger(cli, tenant, make_context):
    from shifty_ent.gpu.tables import GpuCostEntry, GpuInstance

    cli.ok("gpu", "budget", "set", "--monthly", "100", "--hourly", "2", tenant="acme")
    with make_context(tenant="acme", user="olga") as ctx:
        inst = GpuInstance(
            tenant_id=ctx.tenant_id,
            label="x",
            gpu_type="A100_40GB",
            gpu_count=1,
            status="terminated",
            max_price_per_hour=Decimal("2"),
            price_per_hour=Decimal("1.5"),
            created_by="olga",
            created_at=T0,
        )
        ctx.session.add(inst)
        ctx.session.flush()
        for day, amount in ((2, "12.00"), (3, "24.50"), (5, "6.25")):
            start = datetime(2026, 3, day, tzinfo=UTC)
            ctx.session.add(
                GpuCostEntry(
                    tenant_id=ctx.tenant_id,
                    instance_id=inst.id,
                    gpu_type="A100_40GB",
                    day=start.date(),
                    period_start=start,
                    period_end=start + timedelta(hours=8),
                    status="running",
                    seconds=8 * 3600,
                    gpu_seconds=8 * 3600,
                    gpu_rate=Decimal("1.5"),
                    storage_rate=Decimal("0"),
                    gpu_amount=Decimal(amount),
                    storage_amount=Decimal("0"),
                    amount=Decimal(amount),
                )
            )
    return inst


def test_costs_report_per_day_instance_type_and_budget(cli, ledger, tmp_path):
    env = {"SHIFTY_NOW": "2026-03-10T00:00:00+00:00"}
    res, out = _report(cli, tmp_path, "costs", env=env, start="2026-03-01", end="2026-03-08")
    assert res.exit_code == 0, res.stderr
    doc = json.loads(out.read_text())
    s = doc["summary"]
    assert s["spend_in_period"] == "42.75" and s["monthly_budget"] == "100.00"
    assert s["month_to_date"] == "42.75" and s["burn_rate_per_hour"] in ("0", "0.00")
    assert s["projected_month_total"] == "42.75" and s["over_monthly_budget"] is False
    days = {r["day"]: r["total"] for r in _section(doc, "per_day")["rows"]}
    assert len(days) == 7 and days["2026-03-03"] == "24.50" and days["2026-03-04"] == "0.00"
    inst = _section(doc, "per_instance")["rows"]
    assert inst[0]["instance_id"] == str(ledger.id) and inst[0]["total"] == "42.75"
    assert _section(doc, "per_gpu_type")["rows"] == [
        {"gpu_type": "A100_40GB", "gpu_hours": 24.0, "total": "42.75"}
    ]
    chart = doc["charts"][0]
    assert [p["value"] for p in chart["points"]][:3] == [0.0, 12.0, 24.5]
    assert cli.ok("report", "verify", str(out), user=None)["ok"] is True


def test_costs_over_budget_is_flagged_and_html_has_spend_chart(cli, ledger, tmp_path):
    cli.ok("gpu", "budget", "set", "--monthly", "40", tenant="acme")
    env = {"SHIFTY_NOW": "2026-03-10T00:00:00+00:00"}
    res, out = _report(cli, tmp_path, "costs", env=env, fmt="html", start="2026-03-01")
    assert res.exit_code == 0, res.stderr
    html = out.read_text()
    assert 'id="chart-spend_per_day"' in html and "<rect" in html and "<script" not in html
    res, out = _report(cli, tmp_path, "costs", env=env, start="2026-03-01")
    assert json.loads(out.read_text())["summary"]["over_monthly_budget"] is True


@pytest.mark.parametrize("user,code", [("olga", 0), ("audrey", 0), ("alice", 0), ("lars", 4)])
def test_costs_roles(cli, tenant, tmp_path, user, code):
    res, out = _report(cli, tmp_path, "costs", user=user)
    assert res.exit_code == code, res.stderr
    assert out.exists() == (code == 0)


# ---------------------------------------------------------------- arcade


@pytest.fixture
def played(cli, tenant):
    env = {"SHIFTY_NOW": T0.isoformat()}
    for user in ("lena", "lukas"):
        cli.ok("user", "add", user, "--role", "labeler", tenant="acme")
    payload = json.dumps({"output": "PASS: login works", "test_name": "test_login"})
    m = cli.ok(
        "arcade",
        "mission",
        "create",
        "--type",
        "label_test_output",
        "--payload",
        payload,
        "--overlap",
        "3",
        user="olga",
        tenant="acme",
        env=env,
    )
    for i, user in enumerate(("lars", "lena", "lukas")):
        t = {"SHIFTY_NOW": (T0 + timedelta(minutes=i)).isoformat()}
        cli.ok("arcade", "assign", m["id"], user=user, tenant="acme", env=t)
        t2 = {"SHIFTY_NOW": (T0 + timedelta(minutes=i, seconds=40)).isoformat()}
        cli.ok(
            "arcade",
            "complete",
            m["id"],
            "--option",
            m["options"][0],
            user=user,
            tenant="acme",
            env=t2,
        )
    return m


def test_arcade_report_counts_quality_and_top_users(cli, played, tmp_path):
    env = {"SHIFTY_NOW": (T0 + timedelta(hours=1)).isoformat()}
    res, out = _report(cli, tmp_path, "arcade", env=env, start="2026-03-01")
    assert res.exit_code == 0, res.stderr
    doc = json.loads(out.read_text())
    s = doc["summary"]
    assert s["missions_created"] == 1 and s["missions_settled"] == 1 and s["answers"] == 3
    assert s["accuracy_pct"] == 100.0 and s["mean_agreement"] == 1.0 and s["xp_awarded"] > 0
    top = _section(doc, "top_users")["rows"]
    assert {r["user"] for r in top} == {"lars", "lena", "lukas"}
    assert all(r["answers"] == 1 and r["xp_awarded"] > 0 for r in top)
    per_type = _section(doc, "per_type")["rows"]
    assert per_type[0]["mission_type"] == "label_test_output" and per_type[0]["settled"] == 1
    assert sum(p["value"] for p in doc["charts"][0]["points"]) == 3
    # outside the period nothing is counted
    res, out = _report(cli, tmp_path, "arcade", env=env, start="2025-01-01", end="2025-02-01")
    assert json.loads(out.read_text())["summary"]["answers"] == 0


def test_arcade_report_refused_to_labelers(cli, tenant, tmp_path):
    res, out = _report(cli, tmp_path, "arcade", user="lars")
    assert res.exit_code == 4 and not out.exists()
