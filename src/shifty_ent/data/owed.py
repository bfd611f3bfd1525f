"""What each host owes a tenant: due assets, unfinished job items and expired workspaces whose
data lives on that host (``data sweep --host``), and what this host's sweep must leave alone.

Local files, vault copies and workspaces are erased only by the host they live on; remote
locations (``s3://`` and others, host ``None``) by any host.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import select
from sqlmodel import col

from shifty_ent.core import hosts
from shifty_ent.core.authz import authorize
from shifty_ent.core.context import Context
from shifty_ent.data import permissions
from shifty_ent.data.due import due_query
from shifty_ent.data.tables import WAITING, Asset, DeletionItem, DeletionJob, Workspace

ANY_HOST = "any host"
COLUMNS = (
    "host_name",
    "host_id",
    "this_host",
    "due_assets",
    "job_items",
    "expired_workspaces",
    "total",
)


def owed_items(ctx: Context, now: datetime) -> list[dict[str, Any]]:
    """Every piece of work due for the tenant, each naming the host that must do it."""

    cols = (Asset.id, Asset.name, Asset.location, Asset.expires_at, Asset.host_id)
    out: list[dict[str, Any]] = []
    for aid, name, location, expires, host_id in ctx.session.execute(
        due_query(ctx.tenant_id, now, *cols)
    ).all():
        out.append(
            {
                "kind": "due_asset",
                "asset_id": aid,
                "name": name,
                "location": location,
                "expires_at": expires,
                "host_id": host_id,
            }
        )
    items = ctx.session.execute(
        select(
            col(DeletionJob.id),
            col(DeletionJob.status),
            col(Asset.id),
            col(Asset.name),
            col(Asset.location),
            col(Asset.host_id),
        )
        .join(
            DeletionItem,
            (col(DeletionItem.job_id) == col(DeletionJob.id))
            & (col(DeletionItem.tenant_id) == col(DeletionJob.tenant_id)),
        )
        .join(
            Asset,
            (col(Asset.id) == col(DeletionItem.asset_id)) & (col(Asset.tenant_id) == ctx.tenant_id),
        )
        .where(
            col(DeletionJob.tenant_id) == ctx.tenant_id,
            col(DeletionJob.status).in_(("approved", "running", WAITING)),
            col(DeletionItem.status).not_in(("erased", "failed")),
        )
        .order_by(col(DeletionJob.created_at), col(Asset.name))
    ).all()
    for job_id, job_status, aid, name, location, host_id in items:
        out.append(
            {
                "kind": "job_item",
                "job_id": job_id,
                "job_status": job_status,
                "asset_id": aid,
                "name": name,
                "location": location,
                "host_id": host_id,
            }
        )
    for ws in ctx.session.scalars(
        select(Workspace)
        .where(
            col(Workspace.tenant_id) == ctx.tenant_id,
            col(Workspace.status) == "active",
            col(Workspace.expires_at) <= now,
        )
        .order_by(col(Workspace.expires_at))
    ).all():
        out.append(
            {
                "kind": "expired_workspace",
                "workspace_id": ws.id,
                "name": ws.name,
                "path": ws.path,
                "expires_at": ws.expires_at,
                "host_id": ws.host_id,
            }
        )
    names = hosts.names(ctx.session, {e["host_id"] for e in out if e["host_id"]})
    for entry in out:
        entry["host_name"] = names[entry["host_id"]] if entry["host_id"] else ANY_HOST
    return out


def elsewhere(ctx: Context, now: datetime) -> list[dict[str, Any]]:
    """What this host's sweep leaves to other hosts: their due assets and expired workspaces,
    and the items of jobs that already wait for them."""
    here = ctx.host.id
    return [
        {**entry, "state": WAITING}
        for entry in owed_items(ctx, now)
        if entry["host_id"] not in (None, here)
        and (entry["kind"] != "job_item" or entry["job_status"] == WAITING)
    ]


def by_host(ctx: Context, now: datetime) -> list[dict[str, Any]]:
    """Counts and items per host, this host first, then by name (``data sweep --host``)."""
    authorize(ctx, permissions.SWEEP)
    groups: dict[str | None, dict[str, Any]] = {}
    for entry in owed_items(ctx, now):
        hid = entry["host_id"]
        group = groups.setdefault(
            hid,
            {
                "host_id": hid,
                "host_name": entry["host_name"],
                "this_host": hid == ctx.host.id,
                "due_assets": 0,
                "job_items": 0,
                "expired_workspaces": 0,
                "total": 0,
                "items": [],
            },
        )
        key = {"due_asset": "due_assets", "job_item": "job_items"}.get(
            entry["kind"], "expired_workspaces"
        )
        group[key] += 1
        group["total"] += 1
        group["items"].append({k: v for k, v in entry.items() if k not in ("host_id", "host_name")})
    return sorted(
        groups.values(), key=lambda g: (not g["this_host"], g["host_id"] is None, g["host_name"])
    )
