"""Our state of an instance from what vast.ai reports, and every recorded state change."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import update
from sqlalchemy.orm.attributes import set_committed_value
from sqlmodel import col

from shifty_ent.core.context import Context
from shifty_ent.gpu import ledger
from shifty_ent.gpu.tables import (
    DISAPPEARED,
    EXITED,
    FINAL_STATES,
    FROZEN,
    LOADING,
    OFFLINE,
    RUNNING,
    STOPPED,
    TERMINATING,
    UNKNOWN,
    GpuInstance,
)
from shifty_ent.gpu.vastai import ProviderInstance


def map_status(p: ProviderInstance | None) -> str:
    """vast.ai's (actual, intended, cur_state) -> our state; unknown values map to ``unknown``."""
    if p is None or p.cur_state == "unloaded":
        return DISAPPEARED
    actual = (p.actual_status or "").lower() or None
    if p.intended_status == "stopped" or p.cur_state == "stopped" or actual == "stopped":
        return STOPPED
    if actual == "running":
        return RUNNING
    if actual in (None, "created", "loading", "rebooting"):
        return LOADING
    if actual == "frozen":
        return FROZEN
    if actual == "exited":
        return EXITED
    if actual == "offline":
        return OFFLINE
    return UNKNOWN


def normalise_util(value: float | None) -> float | None:
    """vast.ai's ``gpu_util`` as a 0-1 fraction (values above 1 are taken as percent)."""
    if value is None:
        return None
    return round(value / 100.0 if value > 1.0 else value, 4)


def observe(
    ctx: Context,
    inst: GpuInstance,
    seen: ProviderInstance | None,
    now: datetime,
    *,
    actor: str | None = None,
) -> bool:
    """Accrue costs to ``now`` at the old state, then apply what vast.ai reported.

    Returns True when the state changed (and this process made the change). The change goes
    through a version claim, so a concurrent reconcile applies it once.
    """
    session = ctx.session
    ledger.accrue(session, inst, now)
    new_status = map_status(seen)
    values: dict[str, Any] = {"last_seen_at": now}
    if seen is not None:
        values["provider_status"] = (seen.actual_status or "")[:64] or None
        values["status_msg"] = (seen.status_msg or "")[:500] or None
        values["gpu_util"] = normalise_util(seen.gpu_util)
        if seen.geolocation and not inst.geolocation:
            values["geolocation"] = seen.geolocation[:128]
        endpoint = endpoint_of(inst, seen)
        if endpoint and endpoint != inst.endpoint_url:
            values["endpoint_url"] = endpoint
    changed = new_status != inst.status and inst.status != TERMINATING
    if changed:
        values["status"] = new_status
        if new_status == DISAPPEARED:
            values["terminated_at"] = now
    claimed = session.execute(
        update(GpuInstance)
        .where(col(GpuInstance.id) == inst.id, col(GpuInstance.version) == inst.version)
        .values(version=GpuInstance.version + 1, **values)
        .execution_options(synchronize_session=False)
    )
    old = inst.status
    if claimed.rowcount != 1:  # type: ignore[attr-defined]  # DML returns a CursorResult
        session.refresh(inst)
        return False
    for key, value in {**values, "version": inst.version + 1}.items():
        set_committed_value(inst, key, value)
    if changed:
        ctx.audit(
            "gpu.status",
            target_type="gpu_instance",
            target_id=inst.id,
            details={
                "from": old,
                "to": new_status,
                "provider_status": values.get("provider_status"),
            },
            tenant_id=inst.tenant_id,
            actor=actor,
        )
    return changed


def endpoint_of(inst: GpuInstance, seen: ProviderInstance) -> str | None:
    if not inst.service_port or not seen.public_ipaddr:
        return None
    port = seen.host_port(inst.service_port)
    if not port:
        return None
    host = seen.public_ipaddr
    if ":" in host and not host.startswith("["):
        host = f"[{host}]"
    return f"http://{host}:{port}"


def mark(
    ctx: Context,
    inst: GpuInstance,
    status: str,
    *,
    actor: str | None = None,
    details: dict[str, Any] | None = None,
) -> None:
    old = inst.status
    inst.status = status
    inst.version += 1
    if status in FINAL_STATES and inst.terminated_at is None:
        inst.terminated_at = ctx.now()
    ctx.session.add(inst)
    ctx.session.flush()
    ctx.audit(
        "gpu.status",
        target_type="gpu_instance",
        target_id=inst.id,
        details={"from": old, "to": status, **(details or {})},
        tenant_id=inst.tenant_id,
        actor=actor,
    )
