"""``gpu costs``: ledger sums of the tenant, with each instance's GPU type and vast.ai id."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import select
from sqlmodel import col

from shifty_ent.core.authz import authorize
from shifty_ent.core.clock import parse_range
from shifty_ent.core.context import Context
from shifty_ent.gpu import ledger, permissions
from shifty_ent.gpu.tables import GpuInstance


def cost_rows(
    ctx: Context,
    start: datetime | str | None = None,
    end: datetime | str | None = None,
    group_by: str = "instance",
) -> list[dict[str, Any]]:
    """Ledger sums per instance, day or GPU type in [start, end) (plain dicts, Decimal money)."""
    authorize(ctx, permissions.COSTS)
    a, b = parse_range(start, end)
    rows = ledger.cost_rows(ctx.session, ctx.tenant_id, a, b, group_by)
    if group_by == "instance" and rows:
        found = ctx.session.execute(
            select(
                col(GpuInstance.id),
                col(GpuInstance.gpu_type),
                col(GpuInstance.provider_instance_id),
            ).where(
                col(GpuInstance.tenant_id) == ctx.tenant_id,
                col(GpuInstance.id).in_([r["instance_id"] for r in rows]),
            )
        ).all()
        info = {row[0]: row for row in found}
        for r in rows:
            _, gtype, pid = info.get(r["instance_id"], (None, None, None))
            r["gpu_type"] = gtype
            r["provider_instance_id"] = pid
    return rows
