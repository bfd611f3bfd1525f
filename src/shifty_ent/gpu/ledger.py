"""Cost ledger: accrue what each instance cost between two observations, and sum it in SQL.

vast.ai bills per second: the GPU price (``dph_base``) only while the instance is ``running``
(``frozen`` keeps the GPU too), the storage price (``storage_cost x disk / 720``) for its whole
life, in any state, until destroyed. We cannot see when a state changed between two observations,
so an interval is billed at the state that was last observed at its start: GPU time starts at the
first observation of ``running``, which under-counts by at most one reconcile period and never
charges for a loading machine.

An interval becomes one ledger row per UTC day it touches (so ``--group-by day`` is exact). Each
row's amounts are rounded to micro-dollars, half to even. The accrual is claimed with a
conditional UPDATE on ``accrued_until``: two reconcile runs cannot bill the same seconds twice.
"""

from __future__ import annotations

import uuid
from datetime import UTC, date, datetime, timedelta
from decimal import ROUND_HALF_EVEN, Decimal
from typing import Any

from sqlalchemy import func, select, update
from sqlalchemy.orm.attributes import set_committed_value
from sqlmodel import col

from shifty_ent.gpu.tables import (
    EXISTING_STATES,
    GPU_BILLED_STATES,
    GpuCostEntry,
    GpuInstance,
    interval_cost,
)

MICRO = Decimal("0.000001")


def q(value: Decimal) -> Decimal:
    return value.quantize(MICRO, rounding=ROUND_HALF_EVEN)


def _day_slices(start: datetime, end: datetime) -> list[tuple[datetime, datetime]]:
    out = []
    cur = start
    while cur < end:
        midnight = datetime(cur.year, cur.month, cur.day, tzinfo=UTC) + timedelta(days=1)
        nxt = min(midnight, end)
        out.append((cur, nxt))
        cur = nxt
    return out


def accrue(session: Any, inst: GpuInstance, until: datetime) -> Decimal:
    """Bill ``inst`` from ``accrued_until`` to ``until`` at its current status; returns the amount.

    Returns 0 (and writes nothing) when another process accrued this interval first.
    """
    start = inst.accrued_until
    if start is None or until <= start:
        return Decimal(0)
    until = until.replace(microsecond=0)
    if until <= start:
        return Decimal(0)
    rows: list[dict[str, Any]] = []
    total = Decimal(0)
    for a, b in _day_slices(start, until):
        gpu, storage = interval_cost(inst, a, b, inst.status)
        gpu, storage = q(gpu), q(storage)
        seconds = int((b - a).total_seconds())
        rows.append(
            {
                "id": uuid.uuid4(),
                "tenant_id": inst.tenant_id,
                "instance_id": inst.id,
                "gpu_type": inst.gpu_type,
                "day": a.date(),
                "period_start": a,
                "period_end": b,
                "status": inst.status,
                "seconds": seconds,
                "gpu_seconds": seconds if inst.status in GPU_BILLED_STATES else 0,
                "gpu_rate": inst.gpu_price_per_hour or Decimal(0),
                "storage_rate": inst.storage_price_per_hour or Decimal(0),
                "gpu_amount": gpu,
                "storage_amount": storage,
                "amount": gpu + storage,
            }
        )
        total += gpu + storage
    claimed = session.execute(
        update(GpuInstance)
        .where(col(GpuInstance.id) == inst.id, col(GpuInstance.accrued_until) == start)
        .values(accrued_until=until, cost_to_date=GpuInstance.cost_to_date + total)
        .execution_options(synchronize_session=False)
    )
    if claimed.rowcount != 1:
        session.refresh(inst)
        return Decimal(0)
    billable = [r for r in rows if r["seconds"] > 0 and inst.status in EXISTING_STATES]
    if billable:
        session.execute(GpuCostEntry.__table__.insert(), billable)  # type: ignore[attr-defined]  # SQLModel sets __table__ at runtime
    # what the UPDATE wrote, without another round trip
    set_committed_value(inst, "accrued_until", until)
    set_committed_value(inst, "cost_to_date", (inst.cost_to_date or Decimal(0)) + total)
    return total


# ---------------------------------------------------------------------------- sums


def month_bounds(at: datetime) -> tuple[datetime, datetime]:
    start = datetime(at.year, at.month, 1, tzinfo=UTC)
    nxt = datetime(at.year + (at.month // 12), at.month % 12 + 1, 1, tzinfo=UTC)
    return start, nxt


def ledger_total(
    session: Any, tenant_id: uuid.UUID, start: datetime | None, end: datetime | None
) -> Decimal:
    stmt = select(func.coalesce(func.sum(GpuCostEntry.amount), 0)).where(
        col(GpuCostEntry.tenant_id) == tenant_id
    )
    if start is not None:
        stmt = stmt.where(col(GpuCostEntry.period_start) >= start)
    if end is not None:
        stmt = stmt.where(col(GpuCostEntry.period_start) < end)
    raw = session.execute(stmt).scalar_one()
    # a SUM over a Money column comes back through Money (Decimal); coalesce's 0 is plain
    return raw if isinstance(raw, Decimal) else Decimal(int(raw)) / 1_000_000


GROUPS = ("instance", "day", "type")
KEY_NAMES = {"instance": "instance_id", "day": "day", "type": "gpu_type"}


def cost_rows(
    session: Any,
    tenant_id: uuid.UUID,
    start: datetime | None,
    end: datetime | None,
    group_by: str,
) -> list[dict[str, Any]]:
    """Spend per instance, day or GPU type in [start, end): one SQL aggregate."""
    if group_by not in GROUPS:
        from shifty_ent.core.errors import InvalidInput

        raise InvalidInput(f"--group-by must be one of {', '.join(GROUPS)}")
    key_col: Any = {
        "instance": GpuCostEntry.instance_id,
        "day": GpuCostEntry.day,
        "type": GpuCostEntry.gpu_type,
    }[group_by]
    stmt = select(
        key_col,
        func.sum(GpuCostEntry.seconds),
        func.sum(GpuCostEntry.gpu_seconds),
        func.sum(GpuCostEntry.gpu_amount),
        func.sum(GpuCostEntry.storage_amount),
        func.sum(GpuCostEntry.amount),
        func.count(),
    ).where(col(GpuCostEntry.tenant_id) == tenant_id)
    if start is not None:
        stmt = stmt.where(col(GpuCostEntry.period_start) >= start)
    if end is not None:
        stmt = stmt.where(col(GpuCostEntry.period_start) < end)
    stmt = stmt.group_by(key_col).order_by(key_col)
    out = []
    for key, secs, gsecs, gpu, storage, amount, n in session.execute(stmt).all():
        if isinstance(key, uuid.UUID):
            key_out: Any = key
        elif isinstance(key, date):
            key_out = key.isoformat()
        else:
            key_out = str(key) if key is not None else None
        out.append(
            {
                KEY_NAMES[group_by]: key_out,
                "hours": round(int(secs or 0) / 3600, 3),
                "gpu_hours": round(int(gsecs or 0) / 3600, 3),
                "gpu_cost": gpu or Decimal(0),
                "storage_cost": storage or Decimal(0),
                "total": amount or Decimal(0),
                "entries": int(n),
            }
        )
    return out
