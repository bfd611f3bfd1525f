"""Budgets: set/show (audited, admin only), from tenant create, projection and burn rate."""

from __future__ import annotations


def test_budget_from_tenant_create_and_set(cli, vast):
    cli.ok("tenant", "create", "acme", "--gpu-monthly-budget", "500", "--gpu-hourly-budget", "2")
    shown = cli.ok("gpu", "budget", "show", tenant="acme")
    assert shown["monthly_budget"] == "500.00" and shown["hourly_budget"] == "2.00"
    assert shown["month_spend"] == "0.00" and shown["burn_rate_per_hour"] == "0.00"
    updated = cli.ok("gpu", "budget", "set", "--hourly", "3.5", tenant="acme")
    assert updated["hourly_budget"] == "3.50" and updated["monthly_budget"] == "500.00"
    assert cli.ok("tenant", "show", "acme")["gpu_hourly_budget"] == "3.50"
    cleared = cli.ok("gpu", "budget", "set", "--monthly", "none", tenant="acme")
    assert cleared["monthly_budget"] is None
    from sqlalchemy import create_engine, text

    eng = create_engine(cli.db_url)
    with eng.connect() as conn:
        n = conn.execute(
            text("SELECT COUNT(*) FROM audit_events WHERE action = 'gpu.budget.set'")
        ).scalar_one()
    eng.dispose()
    assert n == 2


def test_budget_set_needs_admin_and_valid_money(cli, tenant, vast):
    res = cli("gpu", "budget", "set", "--hourly", "1", user="olga", tenant="acme")
    assert res.exit_code == 4
    assert cli("gpu", "budget", "set", "--hourly", "-1", tenant="acme").exit_code == 2
    assert cli("gpu", "budget", "set", "--hourly", "lots", tenant="acme").exit_code == 2
    assert cli("gpu", "budget", "set", tenant="acme").exit_code == 2
    assert cli.ok("gpu", "budget", "show", tenant="acme")["hourly_budget"] is None
    assert cli("gpu", "budget", "show", user="lars", tenant="acme").exit_code == 4
    assert cli("gpu", "budget", "show", user="audrey", tenant="acme").exit_code == 0


def test_burn_rate_and_projection(cli, gpu, vast, monkeypatch):
    monkeypatch.setenv("SHIFTY_NOW", "2026-04-30T14:00:00Z")  # 10 h to month end
    vast.add_offer(1, dph_base=0.5, storage_cost=0.0)
    assert gpu("provision", "--type", "RTX_4090", "--max-price", "1").exit_code == 0
    shown = cli.ok("gpu", "budget", "show", tenant="acme")
    assert shown["burn_rate_per_hour"] == "0.50"
    assert shown["projected_month_total"] == "5.00"
    assert shown["month_end"].startswith("2026-05-01T00:00:00")
