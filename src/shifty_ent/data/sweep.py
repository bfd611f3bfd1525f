"""``data sweep``: the cron job. Safe to run twice at once on one database.

Phases, in order: record (and POST) notices for assets entering their notice window; resume
sweep/workspace jobs whose executor died; for each expired asset under an auto-delete policy,
claim it into a job (conditional UPDATE: only one sweep wins it), archive it when the policy
says so, and execute the job; destroy expired workspaces; report over-allocated workspaces;
remove vault files of this tenant on this host that no asset row refers to and that are older
than a day (ciphertext left by a killed ``data asset ingest``: its data key was never stored).

The acting user (``--as``) needs operator or admin; what the sweep does is recorded with that
user as actor and ``system_actor = "system:sweep"`` in the audit details.
"""

from __future__ import annotations

import os
import re
import stat
import time
import uuid
from datetime import datetime
from functools import partial
from typing import Any, NamedTuple

from sqlalchemy import exists, or_, select
from sqlalchemy.exc import IntegrityError
from sqlmodel import col

from shifty_ent.core import checkpoint, hosts
from shifty_ent.core.authz import authorize
from shifty_ent.core.context import Context
from shifty_ent.core.errors import Conflict, ShiftyError
from shifty_ent.core.progress import Progress
from shifty_ent.data import notify, permissions
from shifty_ent.data.due import due_query
from shifty_ent.data.tables import (
    WAITING,
    Asset,
    DeletionJob,
    Notification,
    RetentionPolicy,
    VaultKey,
    Workspace,
)
from shifty_ent.data.uses import in_use

SYSTEM_ACTOR = "system:sweep"
ORPHAN_AGE_S = 24 * 3600  # a vault file no row refers to is removed once this old
_VAULT_NAME = re.compile(
    r"\.?([0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12})"
    r"\.vault(?:\.partial)?"
)


class Due(NamedTuple):
    """An expired asset and the policy that expires it, as the driver returns the ids (hex
    text on SQLite, UUID on PostgreSQL): the selection stays cheap; each asset is loaded, by
    :attr:`asset_uuid`, only when it is acted on."""

    asset_id: Any
    policy_id: Any

    @property
    def asset_uuid(self) -> uuid.UUID:
        return _as_uuid(self.asset_id)

    @property
    def policy_uuid(self) -> uuid.UUID:
        return _as_uuid(self.policy_id)


def _as_uuid(value: Any) -> uuid.UUID:
    return value if isinstance(value, uuid.UUID) else uuid.UUID(str(value))


def select_due(ctx: Context, now: datetime) -> list[Due]:
    """Expired, unheld, unclaimed assets under an auto-delete policy.

    One query that walks ``ix_data_assets_due (tenant_id, status, expires_at)`` and joins the
    (few) policies by primary key; it returns plain columns, so its cost stays close to the
    bare SQL (see bench/sweep.py).
    """
    rows = ctx.session.connection().execute(due_statement(ctx.tenant_id, now, ctx.host.id))
    return [Due._make(row) for row in rows]


def due_statement(tenant_id: uuid.UUID, now: datetime, host_id: str | None = None) -> Any:
    """Due assets of the tenant; with ``host_id``, only those this host can erase (its own local
    ones and remote locations)."""
    stmt = due_query(tenant_id, now)
    if host_id is not None:
        stmt = stmt.where(or_(col(Asset.host_id).is_(None), col(Asset.host_id) == host_id))
    return stmt


def _expired_active(ctx: Context, now: datetime, *kept_because: Any) -> list[Asset]:
    """The tenant's active assets past their expiry that ``kept_because`` keeps from the sweep."""
    return list(
        ctx.session.scalars(
            select(Asset).where(
                col(Asset.tenant_id) == ctx.tenant_id,
                col(Asset.status) == "active",
                col(Asset.expires_at) <= now,
                *kept_because,
            )
        ).all()
    )


def _expired_held(ctx: Context, now: datetime) -> list[Asset]:
    return _expired_active(
        ctx,
        now,
        col(Asset.legal_hold) == True,  # noqa: E712
        col(Asset.type) != "workspace",
    )


def _expired_in_use(ctx: Context, now: datetime) -> list[Asset]:
    """Expired assets kept because another group uses them (see :mod:`shifty_ent.data.uses`)."""
    return _expired_active(ctx, now, in_use())


def _erase_failed(ctx: Context) -> list[Asset]:
    """Assets an earlier erasure touched but could not finish: they need a person."""
    return list(
        ctx.session.scalars(
            select(Asset).where(
                col(Asset.tenant_id) == ctx.tenant_id, col(Asset.status) == "erase_failed"
            )
        ).all()
    )


def _noticeable(ctx: Context, now: datetime) -> list[tuple[Asset, RetentionPolicy]]:
    stmt = (
        select(Asset, RetentionPolicy)
        .join(RetentionPolicy, col(RetentionPolicy.id) == col(Asset.policy_id))
        .where(
            col(Asset.tenant_id) == ctx.tenant_id,
            col(Asset.status) == "active",
            col(Asset.notify_at) <= now,
            col(Asset.expires_at) > now,
            col(Asset.legal_hold) == False,  # noqa: E712  (a held asset is not about to go)
            col(Asset.type) != "workspace",
            ~exists().where(
                col(Notification.asset_id) == col(Asset.id),
                col(Notification.kind) == "expiry_notice",
            ),
        )
        .order_by(col(Asset.expires_at))
    )
    return [(a, p) for a, p in ctx.session.execute(stmt).all()]


def _iso(value: datetime | None) -> str:
    return value.isoformat() if value else "unknown"


def _request(ctx: Context, asset: Asset, policy: RetentionPolicy) -> DeletionJob:
    """The auto-approved job that erases an expired asset, reserved for this sweep."""
    from shifty_ent.data.deletion import request_deletion

    job = request_deletion(
        ctx,
        asset_refs=[str(asset.id)],
        method=policy.method,
        reason=f"retention policy {policy.name}: expired at {_iso(asset.expires_at)}",
        source="sweep",
        auto_approved_by=f"policy:{policy.name}",
        reserve=True,
    )
    ctx.session.commit()
    return job


def _brief(asset: Asset) -> dict[str, Any]:
    return {
        "asset_id": asset.id,
        "name": asset.name,
        "classification": asset.classification,
        "expires_at": asset.expires_at,
        "location": asset.location,
    }


def run_sweep(
    ctx: Context, *, dry_run: bool = False, progress: Progress | None = None
) -> dict[str, Any]:
    """Run the phases; ``progress`` hears of each asset and workspace erased, and its bytes."""
    progress = progress or Progress()
    authorize(ctx, permissions.SWEEP)
    now = ctx.now()
    summary: dict[str, Any] = {
        "now": now,
        "dry_run": dry_run,
        "notified": [],
        "archived": [],
        "deleted": [],
        "resumed": [],
        "workspaces_destroyed": [],
        "over_allocation": [],
        "skipped_legal_hold": [_brief(a) for a in _expired_held(ctx, now)],
        "skipped_in_use": [_brief(a) for a in _expired_in_use(ctx, now)],
        "erase_failed": [_brief(a) for a in _erase_failed(ctx)],
        "waiting_for_host": [],
        "orphans_removed": [],
        "failures": [],
    }
    if not dry_run:
        hosts.remember(ctx.session, ctx.host, at=now)
    _elsewhere(ctx, now, summary)
    _notices(ctx, now, summary, dry_run)
    if not dry_run:
        _resume(ctx, summary)
    _expired_assets(ctx, now, summary, dry_run, progress)
    from shifty_ent.data.deletion import sweep_archives  # archives past their retention

    sweep_archives(ctx, now, summary, dry_run, SYSTEM_ACTOR)
    _workspaces(ctx, now, summary, dry_run, progress)
    _orphans(ctx, summary, dry_run)
    if not dry_run:
        ctx.audit(
            "data.sweep",
            target_type="sweep",
            details={
                "system_actor": SYSTEM_ACTOR,
                "notified": len(summary["notified"]),
                "archived": len(summary["archived"]),
                "deleted": len(summary["deleted"]),
                "resumed": len(summary["resumed"]),
                "workspaces_destroyed": len(summary["workspaces_destroyed"]),
                "waiting_for_host": len(summary["waiting_for_host"]),
                "orphans_removed": len(summary["orphans_removed"]),
                "failures": len(summary["failures"]),
                "host_id": ctx.host.id,
            },
        )
        checkpoint.after_commit(ctx, ctx.tenant_id)  # with a witness configured
    else:
        ctx.session.rollback()
    return summary


# ------------------------------------------------------------------ orphan vault files


def _orphans(ctx: Context, summary: dict[str, Any], dry_run: bool) -> None:
    """Remove (or, in a dry run, list) this tenant's vault files on this host that no asset row
    refers to and that were last written more than a day ago (file times are wall-clock time, so
    the age is too); one audit event each. A younger file may be an ingest still running."""
    from shifty_ent.data import vault

    folder = vault.tenant_vault_dir(ctx.settings, ctx.tenant_id)
    try:
        with os.scandir(folder) as it:
            entries = list(it)
    except (FileNotFoundError, NotADirectoryError):
        return
    cutoff = time.time() - ORPHAN_AGE_S
    found: dict[uuid.UUID, tuple[str, os.stat_result]] = {}
    for entry in entries:
        match = _VAULT_NAME.fullmatch(entry.name)
        if match is None:
            continue
        try:
            st = entry.stat(follow_symlinks=False)
        except OSError:
            continue
        if stat.S_ISREG(st.st_mode) and st.st_mtime < cutoff:
            found.setdefault(uuid.UUID(match.group(1)), (entry.name, st))
    if not found:
        return
    known = {
        _as_uuid(value)
        for value in ctx.session.scalars(
            select(col(Asset.id)).where(col(Asset.id).in_(list(found)))
        )
    }
    for asset_id, (name, st) in sorted(found.items()):
        if asset_id in known:
            continue
        item = {"file": name, "size_bytes": st.st_size, "asset_id": str(asset_id)}
        if not dry_run:
            try:
                os.unlink(folder / name)
            except FileNotFoundError:
                continue  # another sweep removed it
            ctx.audit(
                "data.vault.orphan_removed",
                target_type="vault_file",
                details={
                    **item,
                    "modified_at": datetime.fromtimestamp(st.st_mtime).astimezone().isoformat(),
                    "system_actor": SYSTEM_ACTOR,
                    "host_id": ctx.host.id,
                },
            )
        summary["orphans_removed"].append(item)


# ------------------------------------------------------------------ other hosts


def _elsewhere(ctx: Context, now: datetime, summary: dict[str, Any]) -> None:
    """Due assets and expired workspaces that live on another host: reported, never touched
    (a file this host cannot see is not "absent", it is that host's to erase)."""
    from shifty_ent.data import owed

    for entry in owed.elsewhere(ctx, now):
        summary["waiting_for_host"].append(entry)


# ------------------------------------------------------------------ notices


def _notices(ctx: Context, now: datetime, summary: dict[str, Any], dry_run: bool) -> None:
    due = _noticeable(ctx, now)
    if dry_run:
        summary["notified"] = [{**_brief(a), "would_notify": True} for a, _ in due]
        return
    recorded: list[Notification] = []
    for asset, policy in due:
        payload = {
            "event": "asset.expiring",
            "tenant": ctx.tenant.name if ctx.tenant else None,
            "asset_id": str(asset.id),
            "name": asset.name,
            "classification": asset.classification,
            "expires_at": asset.expires_at.isoformat() if asset.expires_at else None,
            "days_left": max(0, (asset.expires_at - now).days) if asset.expires_at else None,
            "policy": policy.name,
            "action": "auto_delete" if policy.auto_delete else "review",
        }
        note = Notification(
            tenant_id=ctx.tenant_id,
            asset_id=asset.id,
            kind="expiry_notice",
            payload=payload,
            delivery="pending" if ctx.settings.notify_webhook else "recorded",
            created_at=now,
        )
        try:
            with ctx.session.begin_nested():
                ctx.session.add(note)
        except IntegrityError:  # another sweep recorded it first
            continue
        ctx.audit(
            "data.notify",
            target_type="asset",
            target_id=asset.id,
            details={"kind": "expiry_notice", "system_actor": SYSTEM_ACTOR},
        )
        recorded.append(note)
    ctx.session.commit()  # record first, deliver after: no lock held during HTTP
    for note in recorded:
        entry = {**note.payload, "delivery": note.delivery}
        if ctx.settings.notify_webhook:
            result = notify.post_json(ctx.settings.notify_webhook, note.payload)
            note.delivery = "delivered" if result.ok else "failed"
            note.attempts, note.last_error = result.attempts, result.error
            note.delivered_at = ctx.now() if result.ok else None
            ctx.session.add(note)
            ctx.session.commit()
            entry.update(delivery=note.delivery, attempts=result.attempts)
            if not result.ok:
                summary["failures"].append(
                    {"asset_id": note.asset_id, "step": "notify", "error": result.error}
                )
        summary["notified"].append(entry)


# ------------------------------------------------------------------ jobs


def _resume(ctx: Context, summary: dict[str, Any]) -> None:
    """Finish sweep and workspace jobs a killed sweep left approved or running."""
    from shifty_ent.data.deletion import execute_job, has_local_work, reservation_is_stale

    jobs = ctx.session.scalars(
        select(DeletionJob).where(
            col(DeletionJob.tenant_id) == ctx.tenant_id,
            col(DeletionJob.source).in_(("sweep", "workspace")),
            col(DeletionJob.status).in_(("approved", "running", WAITING)),
        )
    ).all()
    for job in jobs:
        if job.status == "approved" and not reservation_is_stale(job):
            continue  # its creator (a live sweep) is about to run it
        if job.status == WAITING and not has_local_work(ctx, job):
            continue  # reported by _elsewhere: its items wait for other hosts
        try:
            done = execute_job(ctx, job, system_actor=SYSTEM_ACTOR)
        except Conflict:
            ctx.session.rollback()
            continue  # live in another process, or already finished
        summary["resumed"].append({"job_id": done.id, "status": done.status})
        _settle_workspace_of(ctx, done)


def _settle_workspace_of(ctx: Context, job: DeletionJob) -> None:
    from shifty_ent.data.workspaces import settle

    ws = ctx.session.scalars(select(Workspace).where(col(Workspace.job_id) == job.id)).first()
    if ws is not None:
        settle(ctx, ws)
        ctx.session.commit()


def _expired_assets(
    ctx: Context, now: datetime, summary: dict[str, Any], dry_run: bool, progress: Progress
) -> None:
    from shifty_ent.data.deletion import execute_job, sweep_step

    due = select_due(ctx, now)
    if dry_run:
        for d in due:
            asset = ctx.session.get(Asset, d.asset_uuid)
            policy = ctx.session.get(RetentionPolicy, d.policy_uuid)
            if asset is None or policy is None:
                continue
            refusal = _predicted_refusal(ctx, asset, policy.method)
            if refusal is not None:
                step, error = refusal
                summary["failures"].append(
                    {"asset_id": asset.id, "step": step, "error": error, "predicted": True}
                )
                continue
            entry = {**_brief(asset), "policy": policy.name, "method": policy.method}
            if policy.archive_before_delete and asset.archived_at is None:
                summary["archived"].append({**entry, "would_archive": True})
            summary["deleted"].append({**entry, "would_delete": True})
        return
    ctx.session.commit()
    for rank, d in enumerate(due, 1):
        asset = ctx.session.get(Asset, d.asset_uuid)
        policy = ctx.session.get(RetentionPolicy, d.policy_uuid)
        if asset is None or policy is None:
            continue
        ctx.session.refresh(asset)
        if asset.open_job_id is not None or asset.status != "active" or asset.legal_hold:
            ctx.session.rollback()
            continue
        job = sweep_step(  # None: another sweep claimed it, or the request was refused
            ctx,
            summary,
            asset.id,
            "request",
            partial(_request, ctx, asset, policy),
        )
        if job is None:
            continue
        progress.item(f"asset {asset.name}", rank, len(due))
        needs_archive = policy.archive_before_delete and asset.archived_at is None
        if needs_archive and not _archive(ctx, asset, job, summary):
            continue
        done = sweep_step(
            ctx,
            summary,
            asset.id,
            "erase",
            partial(execute_job, ctx, job, system_actor=SYSTEM_ACTOR, progress=progress),
        )
        if done is None:
            continue
        entry = {
            **_brief(asset),
            "job_id": done.id,
            "status": done.status,
            "certificate_id": done.certificate_id,
        }
        summary["deleted"].append(entry)
        if done.status != "completed":
            summary["failures"].append({"asset_id": asset.id, "step": "erase", "error": done.error})


def _predicted_refusal(ctx: Context, asset: Asset, method: str) -> tuple[str, str] | None:
    """(step, error) of the failure a real sweep would meet for this asset, or None.

    The same checks a real sweep makes before erasing (the request's preflight: data roots,
    links, devices; S3 credentials), made read-only, so a dry run never promises a deletion
    that every real run then fails.
    """
    from shifty_ent.data import erasure
    from shifty_ent.data.deletion import preflight

    try:
        preflight(ctx, asset, method)
    except (ShiftyError, OSError) as exc:
        return "request", getattr(exc, "message", None) or str(exc)
    if asset.scheme == "s3":
        bucket, _, key = asset.location[len("s3://") :].partition("/")
        missing = erasure.s3_credentials_missing(bucket, key)
        if missing is not None:
            return "erase", missing
    return None


def _archive(ctx: Context, asset: Asset, job: DeletionJob, summary: dict[str, Any]) -> bool:
    """Archive before erasure; on failure the job is failed and the asset left untouched."""
    from shifty_ent.data.archive import archive_asset
    from shifty_ent.data.deletion import fail_unstarted

    key = ctx.session.get(VaultKey, asset.id) if asset.scheme == "vault" else None
    try:
        result = archive_asset(ctx.settings, asset, key, ctx.now().isoformat())
    except (ShiftyError, OSError) as exc:
        message = getattr(exc, "message", None) or str(exc)
        fail_unstarted(ctx, job, f"archive before delete failed, nothing erased: {message}")
        summary["failures"].append({"asset_id": asset.id, "step": "archive", "error": message})
        return False
    asset = ctx.session.get(Asset, asset.id)  # type: ignore[assignment]  # reloading an asset that exists
    asset.archive_location, asset.archived_at = result["path"], ctx.now()
    ctx.session.add(asset)
    ctx.audit(
        "data.asset.archive",
        target_type="asset",
        target_id=asset.id,
        details={**result, "system_actor": SYSTEM_ACTOR, "encryption": "AES-256-GCM"},
    )
    ctx.session.commit()
    summary["archived"].append({**_brief(asset), "archive": result["path"]})
    return True


# ------------------------------------------------------------------ workspaces


def _workspaces(
    ctx: Context, now: datetime, summary: dict[str, Any], dry_run: bool, progress: Progress
) -> None:
    from shifty_ent.data.workspaces import destroy_workspace, over_allocated, refresh_usage

    active = list(
        ctx.session.scalars(
            select(Workspace).where(
                col(Workspace.tenant_id) == ctx.tenant_id,
                col(Workspace.status) == "active",
                or_(col(Workspace.host_id).is_(None), col(Workspace.host_id) == ctx.host.id),
            )
        ).all()
    )
    expired = [ws for ws in active if ws.expires_at <= now]
    for ws in active:
        refresh_usage(ctx, ws)
        if over_allocated(ws):
            summary["over_allocation"].append(
                {
                    "workspace_id": ws.id,
                    "name": ws.name,
                    "usage_bytes": ws.usage_bytes,
                    "size_allocated_bytes": ws.size_allocated_bytes,
                }
            )
    if dry_run:
        summary["workspaces_destroyed"] = [
            {
                "workspace_id": ws.id,
                "name": ws.name,
                "expires_at": ws.expires_at,
                "would_destroy": True,
            }
            for ws in expired
        ]
        return
    ctx.session.commit()
    for rank, ws in enumerate(expired, 1):
        progress.item(f"workspace {ws.name}", rank, len(expired))
        try:
            result = destroy_workspace(
                ctx,
                ws,
                progress=progress,
                system_actor=SYSTEM_ACTOR,
                reason=f"workspace TTL expired at {ws.expires_at.isoformat()}",
            )
        except Conflict:
            ctx.session.rollback()
            continue  # another sweep is destroying it
        except ShiftyError as exc:
            ctx.session.rollback()
            summary["failures"].append(
                {"workspace_id": ws.id, "step": "workspace", "error": exc.message}
            )
            continue
        summary["workspaces_destroyed"].append(
            {
                "workspace_id": ws.id,
                "name": ws.name,
                "status": result["status"],
                "job_id": result["job"]["id"],
                "certificate_id": result["job"]["certificate_id"],
            }
        )
        if result["status"] != "destroyed":
            summary["failures"].append(
                {"workspace_id": ws.id, "step": "workspace", "error": result["job"]["error"]}
            )
