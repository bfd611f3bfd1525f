"""Reconcile the cost ledger with what vast.ai charged (``gpu charges``).

The ledger is an estimate made at observation time: GPU time from the first observation of
``running`` (it under-counts by at most one reconcile period), storage for the machine's life, no
bandwidth (vast.ai does not report traffic on the instance). ``GET /api/v0/charges/`` is the
bill. This puts both side by side per instance of the tenant over whole UTC days and names the
difference. It only reads: the ledger, and every report signed from it, stays as it was.

One vast.ai account may serve every tenant of an installation: charges of instances that are
not the tenant's are skipped without a trace in the output, not even in a total.
"""

from __future__ import annotations

import re
import uuid
from datetime import UTC, datetime, timedelta
from decimal import Decimal, InvalidOperation
from typing import Any

from sqlalchemy import select
from sqlmodel import col

from shifty_ent.core.authz import authorize
from shifty_ent.core.clock import parse_instant
from shifty_ent.core.context import Context
from shifty_ent.core.errors import InvalidInput
from shifty_ent.gpu import ledger, permissions
from shifty_ent.gpu.costs import cost_rows
from shifty_ent.gpu.tables import GpuInstance
from shifty_ent.gpu.vastai import client_from_settings

DEFAULT_DAYS = 30
MAX_DAYS = 366
# a difference within a cent is rounding (vast.ai rounds charges; the ledger rounds each day)
TOLERANCE = Decimal("0.01")
ITEM_KINDS = {"gpu": "gpu", "disk": "storage", "bwd": "bandwidth", "bwu": "bandwidth"}
_SOURCE = re.compile(r"instance-(\d+)")


def _day(text: str, name: str) -> datetime:
    """A UTC midnight: the periods compare whole days, as both sides keep them."""
    value = parse_instant(text, name=name)
    if value != value.replace(hour=0, minute=0, second=0, microsecond=0):
        raise InvalidInput(f"{name} must be a date (whole UTC days are compared): {text!r}")
    return value


def period(ctx: Context, start: str | None, end: str | None) -> tuple[datetime, datetime]:
    """[start, end) in whole UTC days; by default the last 30 days including today."""
    today = ctx.now().astimezone(UTC).replace(hour=0, minute=0, second=0, microsecond=0)
    b = _day(end, "--end") if end else today + timedelta(days=1)
    a = _day(start, "--start") if start else b - timedelta(days=DEFAULT_DAYS)
    if b <= a:
        raise InvalidInput("--end must be after --start")
    if b - a > timedelta(days=MAX_DAYS):
        raise InvalidInput(f"a period of at most {MAX_DAYS} days, please")
    return a, b


def _money(value: Any) -> Decimal:
    try:
        return ledger.q(Decimal(str(value))) if value is not None else Decimal(0)
    except InvalidOperation:
        return Decimal(0)


def _charged(result: dict[str, Any]) -> dict[str, Decimal]:
    """One charge result split into gpu, storage, bandwidth and other (items missing: other)."""
    out = {"gpu": Decimal(0), "storage": Decimal(0), "bandwidth": Decimal(0), "other": Decimal(0)}
    items = result.get("items")
    if isinstance(items, list) and items:
        for item in items:
            if isinstance(item, dict):
                out[ITEM_KINDS.get(str(item.get("type")), "other")] += _money(item.get("amount"))
    else:
        out["other"] += _money(result.get("amount"))
    return out


def _blank(iid: uuid.UUID, pid: str | None, gtype: str | None) -> dict[str, Any]:
    zero = Decimal(0)
    return {
        "instance_id": iid,
        "provider_instance_id": pid,
        "gpu_type": gtype,
        **dict.fromkeys(("ledger_gpu", "ledger_storage", "ledger_total"), zero),
        **{f"charged_{kind}": zero for kind in ("gpu", "storage", "bandwidth", "other")},
    }


def charges(ctx: Context, start: str | None = None, end: str | None = None) -> list[dict[str, Any]]:
    """Per instance of the tenant: ledger and vast.ai charges over [start, end), and the gap."""
    authorize(ctx, permissions.COSTS)
    a, b = period(ctx, start, end)
    rows: dict[uuid.UUID, dict[str, Any]] = {}
    for entry in cost_rows(ctx, a, b, "instance"):
        r = rows[entry["instance_id"]] = _blank(
            entry["instance_id"], entry["provider_instance_id"], entry["gpu_type"]
        )
        r["ledger_gpu"], r["ledger_storage"] = entry["gpu_cost"], entry["storage_cost"]
        r["ledger_total"] = entry["total"]
    mine = {
        pid: (iid, gtype)
        for iid, pid, gtype in ctx.session.execute(
            select(
                col(GpuInstance.id),
                col(GpuInstance.provider_instance_id),
                col(GpuInstance.gpu_type),
            ).where(
                col(GpuInstance.tenant_id) == ctx.tenant_id,
                col(GpuInstance.provider_instance_id).is_not(None),
            )
        ).all()
    }
    if mine:
        # vast.ai stamps a day's charges at its last billed second (today's: now), so the
        # filter ends at the period's last second: its midnight would leave that day out
        last_second = int(b.timestamp()) - 1
        with client_from_settings(ctx.settings) as api:
            for result in api.iter_charges(int(a.timestamp()), last_second):
                match = _SOURCE.fullmatch(str(result.get("source") or ""))
                if match is None or match.group(1) not in mine:
                    continue  # a volume, another tenant's machine, or one never ours
                iid, gtype = mine[match.group(1)]
                r = rows.setdefault(iid, _blank(iid, match.group(1), gtype))
                for kind, amount in _charged(result).items():
                    r[f"charged_{kind}"] += amount
    for r in rows.values():
        r["charged_total"] = (
            r["charged_gpu"] + r["charged_storage"] + r["charged_bandwidth"] + r["charged_other"]
        )
        diff = r["difference"] = r["charged_total"] - r["ledger_total"]
        r["verdict"] = (
            "match" if abs(diff) <= TOLERANCE else "ledger_low" if diff > 0 else "ledger_high"
        )
        r["period_start"], r["period_end"] = a, b
    return sorted(
        rows.values(), key=lambda r: (r["provider_instance_id"] or "", str(r["instance_id"]))
    )
