"""Tenant GPU budgets: what is committed and spent, the projection, and the refusal rule."""

from __future__ import annotations

import uuid
from datetime import datetime
from decimal import Decimal
from typing import Any

from sqlalchemy import func, select
from sqlmodel import col

from shifty_ent.core.authz import authorize
from shifty_ent.core.context import Context
from shifty_ent.core.errors import InvalidInput, NotFound, Refused
from shifty_ent.core.tables import Tenant
from shifty_ent.core.tenancy import parse_money
from shifty_ent.core.types import money_str
from shifty_ent.gpu import ledger, permissions
from shifty_ent.gpu.tables import COMMITTED_STATES, EXISTING_STATES, GpuInstance


def committed_per_hour(session: Any, tenant_id: uuid.UUID) -> Decimal:
    raw = session.execute(
        select(func.coalesce(func.sum(GpuInstance.price_per_hour), 0)).where(
            col(GpuInstance.tenant_id) == tenant_id,
            col(GpuInstance.status).in_(sorted(COMMITTED_STATES)),
        )
    ).scalar_one()
    return raw if isinstance(raw, Decimal) else Decimal(int(raw)) / 1_000_000


def month_spend(session: Any, tenant_id: uuid.UUID, now: datetime) -> Decimal:
    """Ledger this month plus what live instances cost since their last accrual."""
    start, _ = ledger.month_bounds(now)
    spent = ledger.ledger_total(session, tenant_id, start, None)
    live = session.scalars(
        select(GpuInstance).where(
            col(GpuInstance.tenant_id) == tenant_id,
            col(GpuInstance.status).in_(sorted(EXISTING_STATES)),
        )
    ).all()
    for inst in live:
        spent += inst.pending_cost(now)
    return spent


def budget_status(ctx: Context) -> dict[str, Any]:
    """The context tenant's budgets, this month's spend, burn rate and projection."""
    authorize(ctx, permissions.BUDGET_READ)
    assert ctx.tenant is not None
    return budget_of(ctx, ctx.tenant)


def budget_of(ctx: Context, tenant: Tenant) -> dict[str, Any]:
    """Budgets, this month's spend, burn rate and the projection to month end (no role check:
    reconcile reads every tenant's)."""
    now = ctx.now()
    start, end = ledger.month_bounds(now)
    spent = month_spend(ctx.session, tenant.id, now)
    burn = committed_per_hour(ctx.session, tenant.id)
    hours_left = Decimal(int((end - now).total_seconds())) / Decimal(3600)
    projected = ledger.q(spent + burn * hours_left)
    monthly, hourly = tenant.gpu_monthly_budget, tenant.gpu_hourly_budget
    return {
        "tenant_id": tenant.id,
        "monthly_budget": monthly,
        "hourly_budget": hourly,
        "month_start": start,
        "month_end": end,
        "month_spend": ledger.q(spent),
        "burn_rate_per_hour": burn,
        "projected_month_total": projected,
        "monthly_remaining": None if monthly is None else ledger.q(monthly - spent),
        "hourly_headroom": None if hourly is None else hourly - burn,
        "over_monthly_budget": monthly is not None and spent > monthly,
        "over_hourly_budget": hourly is not None and burn > hourly,
    }


def check_budget(ctx: Context, tenant: Tenant, extra_per_hour: Decimal) -> None:
    """Refuse (exit 4) when renting at ``extra_per_hour`` would break a budget."""
    session = ctx.session
    now = ctx.now()
    burn = committed_per_hour(session, tenant.id)
    hourly = tenant.gpu_hourly_budget
    if hourly is not None and burn + extra_per_hour > hourly:
        raise Refused(
            f"refused by the hourly GPU budget: ${money_str(ledger.q(extra_per_hour))}/h on top "
            f"of ${money_str(burn)}/h committed exceeds ${money_str(hourly)}/h; nothing rented"
        )
    monthly = tenant.gpu_monthly_budget
    if monthly is not None:
        _, end = ledger.month_bounds(now)
        spent = month_spend(session, tenant.id, now)
        hours_left = Decimal(int((end - now).total_seconds())) / Decimal(3600)
        projected = ledger.q(spent + (burn + extra_per_hour) * hours_left)
        if projected > monthly:
            raise Refused(
                f"refused by the monthly GPU budget: ${money_str(ledger.q(spent))} spent this "
                f"month plus ${money_str(ledger.q(burn + extra_per_hour))}/h to month end "
                f"projects ${money_str(projected)}, over ${money_str(monthly)}; nothing rented"
            )


def set_budget(ctx: Context, *, monthly: str | None, hourly: str | None) -> dict[str, Any]:
    """Update the tenant's budgets (``none`` clears one); audited."""
    authorize(ctx, permissions.BUDGET_SET)
    tenant = ctx.tenant
    assert tenant is not None
    if monthly is None and hourly is None:
        raise InvalidInput("give --monthly and/or --hourly (a USD amount, or 'none' to clear)")
    before = {"monthly": tenant.gpu_monthly_budget, "hourly": tenant.gpu_hourly_budget}

    def parse(value: str | None, what: str, current: Decimal | None) -> Decimal | None:
        if value is None:
            return current
        if value.strip().lower() in ("none", "off", ""):
            return None
        return parse_money(value, what)

    tenant.gpu_monthly_budget = parse(monthly, "--monthly", tenant.gpu_monthly_budget)
    tenant.gpu_hourly_budget = parse(hourly, "--hourly", tenant.gpu_hourly_budget)
    ctx.session.add(tenant)
    ctx.session.flush()
    ctx.audit(
        "gpu.budget.set",
        target_type="tenant",
        target_id=tenant.id,
        details={
            "before": before,
            "after": {"monthly": tenant.gpu_monthly_budget, "hourly": tenant.gpu_hourly_budget},
        },
    )
    return budget_of(ctx, tenant)


def lock_tenant(ctx: Context, tenant_id: uuid.UUID) -> Tenant:
    """Serialise budget checks of one tenant (PostgreSQL row lock; SQLite holds the write lock)."""
    row = ctx.session.scalars(
        select(Tenant).where(col(Tenant.id) == tenant_id).with_for_update()
    ).first()
    if row is None:
        raise NotFound(f"tenant {tenant_id} not found")
    ctx.session.refresh(row)
    return row
