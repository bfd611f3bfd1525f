"""``report costs``: GPU spend per day, instance and GPU type against the tenant's budgets.

The ledger (``gpu_cost_entries``, accrued by ``gpu reconcile``) is the source of truth; live
instances add what they cost since their last accrual. Burn rate is the committed hourly price of
the tenant's live instances now, and the month-end projection is month-to-date spend plus that
burn rate for the hours left in the month: the same figures ``gpu budget show`` prints, signed.
"""

from __future__ import annotations

import uuid
from datetime import UTC
from decimal import Decimal
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session
from sqlmodel import col

from shifty_ent.core.tables import Tenant
from shifty_ent.core.types import money_str
from shifty_ent.report.document import BAD_IF_TRUE, Column, ReportBuilder
from shifty_ent.report.period import Period, month_bounds

TITLE = "GPU costs and budgets"
MONEY = "money"


def _m(value: Decimal | None) -> str | None:
    return money_str(value) if value is not None else None


def build(session: Session, tenant_id: uuid.UUID, period: Period, doc: ReportBuilder) -> None:
    from shifty_ent.core.clock import now
    from shifty_ent.gpu import api as gpu_api
    from shifty_ent.gpu.api import GpuInstance

    tenant = session.get(Tenant, tenant_id)
    assert tenant is not None
    monthly, hourly = tenant.gpu_monthly_budget, tenant.gpu_hourly_budget
    as_of = min(period.end, now())
    by_day = {
        r["day"]: r
        for r in gpu_api.ledger_cost_rows(session, tenant_id, period.start, period.end, "day")
    }
    by_instance = gpu_api.ledger_cost_rows(session, tenant_id, period.start, period.end, "instance")
    by_type = gpu_api.ledger_cost_rows(session, tenant_id, period.start, period.end, "type")
    spent = sum((r["total"] for r in by_day.values()), Decimal(0))
    month_start, month_end = month_bounds(as_of)
    month_spend = gpu_api.month_spend(session, tenant_id, as_of)
    burn = gpu_api.committed_per_hour(session, tenant_id)
    hours_left = Decimal(max(0, int((month_end - as_of).total_seconds()))) / Decimal(3600)
    projected = gpu_api.round_micro(month_spend + burn * hours_left)
    days_in_month = (month_end - month_start).days
    daily_share = gpu_api.round_micro(monthly / days_in_month) if monthly is not None else None

    def day_rows() -> Any:
        for d in period.day_list():
            r = by_day.get(d.isoformat())
            total = r["total"] if r else Decimal(0)
            yield {
                "day": d.isoformat(),
                "gpu_hours": r["gpu_hours"] if r else 0,
                "gpu_cost": _m(r["gpu_cost"] if r else Decimal(0)),
                "storage_cost": _m(r["storage_cost"] if r else Decimal(0)),
                "total": _m(total),
                "daily_budget_share": _m(daily_share),
                "over_share": daily_share is not None and total > daily_share,
            }

    doc.section(
        "per_day",
        "Spend per day",
        [
            Column("day", "Day (UTC)"),
            Column("gpu_hours", "GPU hours"),
            Column("gpu_cost", "GPU", MONEY),
            Column("storage_cost", "Storage", MONEY),
            Column("total", "Total USD", MONEY),
            Column("daily_budget_share", "Monthly budget / day", MONEY),
            Column("over_share", "Over share", "bool", BAD_IF_TRUE),
        ],
        day_rows(),
    )
    ids = [r["instance_id"] for r in by_instance if r["instance_id"] is not None]
    instances = (
        {
            i.id: i
            for (i,) in session.execute(
                select(GpuInstance).where(
                    col(GpuInstance.tenant_id) == tenant_id,
                    col(GpuInstance.id).in_(ids),
                )
            )
        }
        if ids
        else {}
    )
    doc.section(
        "per_instance",
        "Spend per instance",
        [
            Column("instance_id", "Instance", "id"),
            Column("gpu_type", "GPU type"),
            Column("gpu_count", "GPUs", "int"),
            Column("status", "Status"),
            Column("price_per_hour", "Price / hour", MONEY),
            Column("model_checkpoint", "Model"),
            Column("hours", "Hours"),
            Column("total", "Total USD", MONEY),
        ],
        (
            {
                "instance_id": str(r["instance_id"]),
                "gpu_type": getattr(instances.get(r["instance_id"]), "gpu_type", None),
                "gpu_count": getattr(instances.get(r["instance_id"]), "gpu_count", None),
                "status": getattr(instances.get(r["instance_id"]), "status", None),
                "price_per_hour": _m(
                    getattr(instances.get(r["instance_id"]), "price_per_hour", None)
                ),
                "model_checkpoint": getattr(
                    instances.get(r["instance_id"]), "model_checkpoint", None
                ),
                "hours": r["hours"],
                "total": _m(r["total"]),
            }
            for r in sorted(by_instance, key=lambda r: r["total"], reverse=True)
        ),
    )
    doc.section(
        "per_gpu_type",
        "Spend per GPU type",
        [
            Column("gpu_type", "GPU type"),
            Column("gpu_hours", "GPU hours"),
            Column("total", "Total USD", MONEY),
        ],
        (
            {"gpu_type": r["gpu_type"], "gpu_hours": r["gpu_hours"], "total": _m(r["total"])}
            for r in by_type
        ),
    )
    days = max(period.days, 1 / 24)
    doc.summary.update(
        {
            "tenant": tenant.name,
            "spend_in_period": _m(gpu_api.round_micro(spent)),
            "average_per_day": _m(gpu_api.round_micro(spent / Decimal(str(round(days, 6))))),
            "monthly_budget": _m(monthly),
            "hourly_budget": _m(hourly),
            "month": month_start.astimezone(UTC).strftime("%Y-%m"),
            "month_to_date": _m(gpu_api.round_micro(month_spend)),
            "burn_rate_per_hour": _m(burn),
            "projected_month_total": _m(projected),
            "monthly_remaining": _m(gpu_api.round_micro(monthly - month_spend))
            if monthly is not None
            else None,
            "over_monthly_budget": monthly is not None and month_spend > monthly,
            "projected_over_budget": monthly is not None and projected > monthly,
            "over_hourly_budget": hourly is not None and burn > hourly,
            "as_of": as_of.isoformat(),
        }
    )
    doc.summary_kinds.update(
        dict.fromkeys(
            (
                "spend_in_period",
                "average_per_day",
                "monthly_budget",
                "hourly_budget",
                "month_to_date",
                "burn_rate_per_hour",
                "projected_month_total",
                "monthly_remaining",
            ),
            MONEY,
        )
    )
    doc.summary_judge.update(
        dict.fromkeys(
            ("over_monthly_budget", "projected_over_budget", "over_hourly_budget"), BAD_IF_TRUE
        )
    )
    doc.notes.append(
        "Spend comes from the ledger accrued by 'gpu reconcile' (vast.ai prices per second, "
        "split at UTC midnight); live instances add their cost since the last accrual to the "
        "month-to-date figure. The projection assumes today's committed hourly rate until "
        "month end."
    )
    doc.chart(
        "spend_per_day",
        "GPU spend per day (USD)",
        "USD",
        [
            (
                d.isoformat(),
                float(by_day[d.isoformat()]["total"]) if d.isoformat() in by_day else 0.0,
            )
            for d in period.day_list()
        ],
        empty="No GPU spend in this period.",
    )
