"""Instances of the tenant: lookups, listing and syncing them with vast.ai.

HTTP calls to vast.ai never run inside an open transaction: on SQLite every transaction holds the
write lock, so each service commits what it has before it talks to the network.
"""

from __future__ import annotations

import uuid

from sqlalchemy import select
from sqlmodel import col

from shifty_ent.core import ids
from shifty_ent.core.authz import authorize
from shifty_ent.core.context import Context
from shifty_ent.core.errors import InvalidInput
from shifty_ent.gpu import permissions
from shifty_ent.gpu.states import observe
from shifty_ent.gpu.tables import COMMITTED_STATES, FINAL_STATES, STATES, GpuInstance
from shifty_ent.gpu.vastai import VastClient, client_from_settings

LABEL_PREFIX = "shifty-ent"


def client(ctx: Context) -> VastClient:
    return client_from_settings(ctx.settings)


def label_for(tenant_id: uuid.UUID, instance_id: uuid.UUID) -> str:
    """The vast.ai label that lets reconcile find an instance (and its tenant) again."""
    return f"{LABEL_PREFIX}:{tenant_id}:{instance_id}"


def parse_label(label: str | None) -> tuple[uuid.UUID, uuid.UUID] | None:
    if not label or not label.startswith(LABEL_PREFIX + ":"):
        return None
    parts = label.split(":")
    if len(parts) != 3:
        return None
    try:
        return uuid.UUID(parts[1]), uuid.UUID(parts[2])
    except ValueError:
        return None


def get_instance(ctx: Context, ref: str) -> GpuInstance:
    """One instance of the current tenant by UUID, unique prefix, vast.ai id or label."""
    ref = (ref or "").strip()
    base = select(GpuInstance).where(col(GpuInstance.tenant_id) == ctx.tenant_id)
    if ref.isdigit():
        row = ctx.session.scalars(base.where(col(GpuInstance.provider_instance_id) == ref)).first()
        if row is not None:
            return row
    return ids.resolve(
        ctx.session, GpuInstance, ref, what="instance", tenant_id=ctx.tenant_id, name_attr="label"
    )


def list_instances(
    ctx: Context, *, state: str | None = None, refresh: bool = False
) -> list[GpuInstance]:
    authorize(ctx, permissions.READ)
    if state is not None and state not in (*STATES, "active"):
        raise InvalidInput(f"--state must be one of active, {', '.join(STATES)}")
    if refresh:
        refresh_tenant(ctx)
    return _instances(ctx, state)


def _instances(ctx: Context, state: str | None = None) -> list[GpuInstance]:
    stmt = select(GpuInstance).where(col(GpuInstance.tenant_id) == ctx.tenant_id)
    if state == "active":
        stmt = stmt.where(col(GpuInstance.status).in_(sorted(COMMITTED_STATES)))
    elif state:
        stmt = stmt.where(col(GpuInstance.status) == state)
    return list(ctx.session.scalars(stmt.order_by(col(GpuInstance.created_at))).all())


def instance_status(ctx: Context, ref: str, *, refresh: bool = False) -> GpuInstance:
    authorize(ctx, permissions.READ)
    inst = get_instance(ctx, ref)
    if refresh and inst.provider_instance_id and inst.status not in FINAL_STATES:
        ctx.session.commit()
        with client(ctx) as api:
            seen = api.get_instance(inst.provider_instance_id)
        observe(ctx, inst, seen, ctx.now())
    return inst


def refresh_tenant(ctx: Context) -> None:
    """Sync this tenant's live instances with one paginated list call."""
    live = [i for i in _instances(ctx) if i.provider_instance_id and i.status not in FINAL_STATES]
    if not live:
        return
    ctx.session.commit()
    with client(ctx) as api:
        seen = {str(p.id): p for p in api.iter_instances()}
        now = ctx.now()
        for inst in live:
            found = seen.get(inst.provider_instance_id or "")
            if found is None:
                found = api.get_instance(inst.provider_instance_id or "0")
            observe(ctx, inst, found, now)
