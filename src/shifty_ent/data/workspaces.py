"""Disposable workspaces: a private directory with a size allocation and a time to live.

Each workspace is backed by an asset of type ``workspace`` (its directory), so destroying it
goes through the same deletion machinery as any other asset: overwrite per its method,
verification, a signed certificate. Its approval is the TTL the operator gave at creation
(``approved_by = workspace:<id>``), since a disposable workspace exists to be destroyed.
"""

from __future__ import annotations

import os
import re
import stat
from datetime import timedelta
from pathlib import Path
from typing import Any

from sqlalchemy import update
from sqlmodel import col, select

from shifty_ent.core import hosts, inputs, outfiles
from shifty_ent.core.asking import Confirm, ask
from shifty_ent.core.authz import authorize
from shifty_ent.core.context import Context
from shifty_ent.core.errors import Conflict, InvalidInput, Refused
from shifty_ent.core.ids import resolve
from shifty_ent.core.progress import Progress
from shifty_ent.core.tenancy import validate_name
from shifty_ent.data import permissions
from shifty_ent.data.assets import register_asset
from shifty_ent.data.policies import validate_method
from shifty_ent.data.tables import WORKSPACE_TYPES, Asset, DeletionJob, Workspace

_TTL = re.compile(r"(\d+)\s*([smhdw])", re.I)
_TTL_UNITS = {"s": 1, "m": 60, "h": 3600, "d": 86400, "w": 604800}
MAX_TTL = 366 * 86400


def parse_ttl(text: str) -> int:
    """``90m``, ``2h``, ``1d12h``, ``3600`` (seconds) -> seconds."""
    raw = (text or "").lower()
    if not re.fullmatch(r"[0-9smhdw]{1,40}", raw):
        raise InvalidInput(f"--ttl {text!r}: use e.g. 90m, 2h, 7d or 1d12h")
    if raw.isdigit():
        seconds = int(raw)
    else:
        parts = _TTL.findall(raw)
        if not parts or _TTL.sub("", raw).strip():
            raise InvalidInput(f"--ttl {text!r}: use e.g. 90m, 2h, 7d or 1d12h")
        seconds = sum(int(n) * _TTL_UNITS[u] for n, u in parts)
    if not 0 < seconds <= MAX_TTL:
        raise InvalidInput("--ttl must be between 1 second and 366 days")
    return seconds


def tenant_workspace_root(ctx: Context) -> Path:
    return ctx.settings.workspace_dir / str(ctx.tenant_id)


def create_workspace(
    ctx: Context,
    *,
    type: str,
    size: str | int,
    ttl: str | int,
    name: str | None = None,
    classification: str = "internal",
    method: str = "secure_overwrite",
) -> Workspace:
    """Create the directory (0700) and its backing asset (operator or admin)."""
    authorize(ctx, permissions.WORKSPACE_WRITE)
    if type not in WORKSPACE_TYPES:
        raise InvalidInput(
            f"unknown workspace type {type!r}; choose from {', '.join(WORKSPACE_TYPES)}"
        )
    allocated = inputs.size(size) if isinstance(size, str) else int(size)
    seconds = parse_ttl(ttl) if isinstance(ttl, str) else int(ttl)
    method = validate_method(method)
    if method == "cryptographic_erase":
        raise InvalidInput(
            "workspaces are plain directories: use secure_overwrite, nist_800_88 or standard"
        )
    ws = Workspace(
        tenant_id=ctx.tenant_id,
        name="",
        type=type,
        path="",
        asset_id=None,  # type: ignore[arg-type]  # set once its asset row exists
        size_allocated_bytes=allocated,
        ttl_seconds=seconds,
        method=method,
        created_by=ctx.actor,
        created_at=ctx.now(),
        expires_at=ctx.now() + timedelta(seconds=seconds),
        host_id=ctx.host.id,
    )
    ws.name = validate_name(name, "workspace name") if name else f"{type}-{str(ws.id)[:8]}"
    root = tenant_workspace_root(ctx)
    outfiles.private_dir(root)
    path = root / str(ws.id)
    os.mkdir(path, 0o700)
    try:
        asset = register_asset(
            ctx,
            name=f"workspace:{ws.name}:{str(ws.id)[:8]}",
            type="workspace",
            classification=classification,
            location=str(path),
            size_bytes=0,
        )
        asset.expires_at, asset.notify_at = ws.expires_at, None
        ctx.session.add(asset)
        ws.path, ws.asset_id = str(path), asset.id
        ctx.session.add(ws)
        ctx.session.flush()
        ctx.audit(
            "data.workspace.create",
            target_type="workspace",
            target_id=ws.id,
            details={
                "type": type,
                "path": str(path),
                "size_allocated_bytes": allocated,
                "ttl_seconds": seconds,
                "expires_at": ws.expires_at.isoformat(),
                "method": method,
            },
        )
    except BaseException:
        os.rmdir(path)
        raise
    return ws


def measure_usage(path: Path) -> int | None:
    """Bytes of regular files below ``path`` (apparent size; symlinks not followed)."""
    total = 0
    try:
        stack = [str(path)]
        while stack:
            with os.scandir(stack.pop()) as it:
                for entry in it:
                    st = entry.stat(follow_symlinks=False)
                    if stat.S_ISDIR(st.st_mode):
                        stack.append(entry.path)
                    elif stat.S_ISREG(st.st_mode):
                        total += st.st_size
    except FileNotFoundError:
        return None
    return total


def is_here(ctx: Context, ws: Workspace) -> bool:
    """Workspaces are directories of one host; only that host measures or destroys them."""
    return ws.host_id is None or ws.host_id == ctx.host.id


def refresh_usage(ctx: Context, ws: Workspace) -> Workspace:
    if ws.status == "active" and is_here(ctx, ws):
        ws.usage_bytes = measure_usage(Path(ws.path))
        ws.usage_measured_at = ctx.now()
        ctx.session.add(ws)
    return ws


def list_workspaces(ctx: Context, *, include_destroyed: bool = False) -> list[Workspace]:
    authorize(ctx, permissions.WORKSPACE_READ)
    stmt = select(Workspace).where(Workspace.tenant_id == ctx.tenant_id)
    if not include_destroyed:
        stmt = stmt.where(Workspace.status != "destroyed")
    rows = list(ctx.session.scalars(stmt.order_by(col(Workspace.created_at))).all())
    return [refresh_usage(ctx, ws) for ws in rows]


def get_workspace(ctx: Context, ref: str) -> Workspace:
    return resolve(ctx.session, Workspace, ref, what="workspace", tenant_id=ctx.tenant_id)


def show_workspace(ctx: Context, ref: str) -> Workspace:
    authorize(ctx, permissions.WORKSPACE_READ)
    return refresh_usage(ctx, get_workspace(ctx, ref))


def destroy_workspace(
    ctx: Context,
    ref: str | Workspace,
    *,
    system_actor: str | None = None,
    reason: str | None = None,
    confirm: Confirm | None = None,
    progress: Progress | None = None,
) -> dict[str, Any]:
    """Erase the workspace with its method and a certificate (operator or admin); the caller's
    ``confirm`` runs once the role is checked and the workspace found on this host."""
    from shifty_ent.data.deletion import execute_job, request_deletion

    authorize(ctx, permissions.WORKSPACE_WRITE)
    ws = ref if isinstance(ref, Workspace) else get_workspace(ctx, ref)
    if not is_here(ctx, ws):
        assert ws.host_id is not None
        name = hosts.names(ctx.session, {ws.host_id})[ws.host_id]
        raise Refused(
            f"workspace {ws.name!r} lives on host {name} ({ws.host_id}); destroy it there"
        )
    if ws.status != "active":
        raise Conflict(f"workspace {ws.name!r} is {ws.status}; it is destroyed only once")
    ask(confirm)
    refresh_usage(ctx, ws)
    claimed = ctx.session.execute(
        update(Workspace)
        .where(col(Workspace.id) == ws.id, col(Workspace.status) == "active")
        .values(status="destroying", usage_bytes=ws.usage_bytes)
        .execution_options(synchronize_session=False)
    )
    if claimed.rowcount != 1:  # type: ignore[attr-defined]  # DML returns a CursorResult
        raise Conflict(f"workspace {ws.name!r} is {ws.status}; it is destroyed only once")
    job = request_deletion(
        ctx,
        asset_refs=[str(ws.asset_id)],
        method=ws.method,
        reason=reason or f"workspace {ws.name} destroyed by {ctx.actor}",
        source="workspace",
        auto_approved_by=f"workspace:{ws.id}",
        reserve=True,
    )
    ws.job_id = job.id
    ws.status = "destroying"
    ctx.session.add(ws)
    ctx.audit(
        "data.workspace.destroy",
        target_type="workspace",
        target_id=ws.id,
        details={
            "job_id": str(job.id),
            "usage_bytes": ws.usage_bytes,
            "reason": reason,
            **({"system_actor": system_actor} if system_actor else {}),
        },
    )
    ctx.session.commit()
    job = execute_job(ctx, job, system_actor=system_actor, progress=progress)
    settle(ctx, ws)
    ctx.session.commit()
    return {**ws.public(), "job": job.public()}


def settle(ctx: Context, ws: Workspace) -> None:
    """Reflect the outcome of a workspace's deletion job on the workspace."""
    if ws.job_id is None:
        return
    job = ctx.session.get(DeletionJob, ws.job_id)
    if job is None:
        return
    ctx.session.refresh(job)
    if job.status == "completed":
        ws.status, ws.destroyed_at = "destroyed", job.completed_at
    elif job.status in ("failed", "partially_completed"):
        ws.status = "destroy_failed"
    ctx.session.add(ws)


def over_allocated(ws: Workspace) -> bool:
    return ws.usage_bytes is not None and ws.usage_bytes > ws.size_allocated_bytes


def backing_asset(ctx: Context, ws: Workspace) -> Asset | None:
    return ctx.session.get(Asset, ws.asset_id)
