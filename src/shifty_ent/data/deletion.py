"""Deletion jobs: request -> approve (four-eyes) -> execute, exactly once, resumable.

Once-only rules, all by conditional UPDATE checked by rowcount:
- an asset joins a job only ``WHERE open_job_id IS NULL AND status IN (active, erase_failed)
  AND NOT legal_hold``, so two requests (or two sweeps) never put one asset in two jobs;
- a job is approved only ``WHERE status = 'pending_approval'``;
- a job starts only ``WHERE status = 'approved'`` (or ``running`` with the dead executor's
  ``claim_token``, to resume after a crash); every progress write re-checks the token, so an
  executor that lost its claim stops.

Crash safety: an asset is marked ``deleted`` only after its data is gone (unlinked and the
directory fsynced, all S3 versions deleted, or the vault key destroyed); a run killed at any
point leaves it ``erasing`` with its progress in ``deletion_items``, and ``execute`` resumes.
"""

from __future__ import annotations

import os
import secrets
import socket
import time
from collections.abc import Callable, Sequence
from datetime import UTC, datetime, timedelta
from functools import partial
from pathlib import Path
from typing import Any, TypeVar

from sqlalchemy import and_, or_, update
from sqlmodel import col, select

from shifty_ent.core import checkpoint, hosts
from shifty_ent.core.asking import Confirm, ask
from shifty_ent.core.authz import authorize
from shifty_ent.core.context import Context
from shifty_ent.core.errors import (
    Conflict,
    InvalidInput,
    NotFound,
    Refused,
    ShiftyError,
)
from shifty_ent.core.identity import same_person
from shifty_ent.core.ids import resolve
from shifty_ent.core.progress import Progress
from shifty_ent.data import erasure, pathsafety, permissions, vault, vault_kms
from shifty_ent.data import roots as tenant_roots
from shifty_ent.data.assets import CLASSIFIED, get_asset
from shifty_ent.data.certificates import issue
from shifty_ent.data.overwrite import VerificationFailed
from shifty_ent.data.policies import validate_method
from shifty_ent.data.tables import (
    OPEN_JOB_STATES,
    WAITING,
    Asset,
    AssetSubject,
    DeletionItem,
    DeletionJob,
    RetentionPolicy,
    VaultKey,
)
from shifty_ent.data.uses import in_use, refuse_if_in_use, uses_of

LEASE = timedelta(seconds=120)
ERASABLE_STATES = ("active", "erase_failed")


_T = TypeVar("_T")


def _wall() -> datetime:
    """Leases use the real clock: SHIFTY_NOW previews a date, it must not expire live claims."""
    return datetime.now(UTC)


def _host() -> str:
    return socket.gethostname()


def executor_id(actor: str) -> str:
    return f"{_host()}:{os.getpid()}:{actor}"


# ------------------------------------------------------------------ preflight


def is_here(ctx: Context, asset: Asset) -> bool:
    """Whether this host holds the asset's data (remote locations: any host does)."""
    return asset.host_id is None or asset.host_id == ctx.host.id


def roots_for(ctx: Context, asset: Asset) -> list[Path]:
    """Where this asset may be erased: the tenant's data roots on this host, plus the tenant's
    own managed dirs."""
    roots = pathsafety.allowed_roots(tenant_roots.paths_on(ctx.session, ctx.tenant_id, ctx.host.id))
    managed = {
        "workspace": ctx.settings.workspace_dir / str(ctx.tenant_id),
        # arcade datasets of a tenant without data roots live in the tenant's managed area
        "dataset": ctx.settings.data_dir / "datasets" / str(ctx.tenant_id),
        # the model group's checkpoints and inference logs, likewise (model/storage.py)
        "model_checkpoint": ctx.settings.data_dir / "models" / str(ctx.tenant_id),
        "inference_log": ctx.settings.data_dir / "inference-logs" / str(ctx.tenant_id),
    }
    own = managed.get(asset.type)
    if own is not None and own.is_dir():
        roots.append(Path(os.path.realpath(own)))
    return roots


def preflight(ctx: Context, asset: Asset, method: str) -> None:
    """Refuse (exit 4) what could never be erased safely; changes nothing."""
    if asset.status == "deleted":
        raise Conflict(f"asset {asset.name!r} is already deleted")
    if asset.status not in ERASABLE_STATES:
        raise Conflict(f"asset {asset.name!r} is {asset.status}; wait for its job to finish")
    if asset.legal_hold:
        raise Refused(
            f"asset {asset.name!r} is on legal hold ({asset.hold_reason}); release it first"
        )
    refuse_if_in_use(ctx, asset)
    if asset.open_job_id is not None:
        raise Conflict(f"asset {asset.name!r} is already in deletion job {asset.open_job_id}")
    if method == "cryptographic_erase" and asset.scheme != "vault":
        raise Refused(
            f"cryptographic_erase needs an asset encrypted from its first write; {asset.name!r} "
            f"is a plain {asset.scheme} location (ingest it with 'data asset ingest', or use "
            "nist_800_88 / secure_overwrite)"
        )
    if asset.scheme == "file" and not is_here(ctx, asset):
        # the file is on another host: check the tenant holds a root covering it there; the
        # file-system checks run on that host when it executes the job
        assert asset.host_id is not None
        elsewhere = tenant_roots.paths_on(ctx.session, ctx.tenant_id, asset.host_id)
        pathsafety.within(Path(asset.location), [Path(p) for p in elsewhere])
    elif asset.scheme == "file":
        with pathsafety.open_target(Path(asset.location), roots_for(ctx, asset)) as target:
            if target.is_dir and target.fd is not None:
                pathsafety.scan_tree(target.fd, target.path)


# ------------------------------------------------------------------ request / approve


def request_deletion(
    ctx: Context,
    *,
    asset_refs: Sequence[str] = (),
    subject: str | None = None,
    method: str,
    reason: str,
    source: str = "manual",
    auto_approved_by: str | None = None,
    reserve: bool = False,
    include_archives: bool = False,
) -> DeletionJob:
    """Create a deletion job (operator or admin) for named assets or for one data subject.

    ``reserve`` (sweep and workspace jobs, executed right away by their creator) records this
    process as the job's owner with a lease, so a concurrent sweep resumes it only once this
    process is gone or the lease ran out.

    ``include_archives`` also erases the encrypted pre-deletion archive of each asset (and
    accepts an already deleted asset whose archive survives: only its archive is erased).
    """
    authorize(ctx, permissions.DELETE_REQUEST)
    method = validate_method(method)
    reason = (reason or "").strip()
    if not reason:
        raise InvalidInput("--reason is required: say why the data is being deleted")
    if bool(asset_refs) == bool(subject):
        raise InvalidInput("name the assets to delete, or give --subject ID (not both)")
    exceptions: list[dict[str, Any]] = []
    if subject:
        assets = _subject_assets(ctx, subject, include_archives=include_archives)
        if not assets:
            raise NotFound(f"no live asset names data subject {subject!r}")
        kept = []
        for asset in assets:
            in_use_by = uses_of(ctx, asset.id)
            if in_use_by:  # a model serves or is promoted from it: written down like a hold
                exceptions.append(
                    {
                        "asset_id": str(asset.id),
                        "name": asset.name,
                        "exception": "in use",
                        "reason": "; ".join(u.reason for u in in_use_by),
                    }
                )
            elif asset.legal_hold:  # GDPR Art. 17(3)(e): the hold wins, and is written down
                exceptions.append(
                    {
                        "asset_id": str(asset.id),
                        "name": asset.name,
                        "exception": "legal hold (GDPR Art. 17(3)(e))",
                        "reason": asset.hold_reason,
                    }
                )
            else:
                kept.append(asset)
        if not kept:
            raise Refused(
                f"every asset of subject {subject!r} is on legal hold; nothing can be erased"
            )
        assets = kept
    else:
        assets = []
        for ref in asset_refs:
            asset = get_asset(ctx, ref)
            if asset.id not in {a.id for a in assets}:
                assets.append(asset)
    archive_only = {a.id for a in assets if _archive_only(a, include_archives)}
    for asset in assets:
        if asset.id in archive_only:
            _preflight_archive(asset)
        else:
            preflight(ctx, asset, method)
    job = DeletionJob(
        tenant_id=ctx.tenant_id,
        method=method,
        asset_ids=[str(a.id) for a in assets],
        reason=reason,
        subject=subject,
        source=source,
        requested_by=ctx.actor,
        exceptions=exceptions,
        created_at=ctx.now(),
    )
    if auto_approved_by is None:
        auto_policy = _auto_approval_policy(ctx, assets, method)
        if auto_policy is not None:
            auto_approved_by = f"policy:{auto_policy.name}"
    if auto_approved_by is not None:
        job.status, job.auto_approved = "approved", True
        job.approved_by, job.approved_at = auto_approved_by, ctx.now()
    if reserve:
        job.claimed_by, job.lease_expires_at = executor_id(ctx.actor), _wall() + LEASE
    ctx.session.add(job)
    ctx.session.flush()
    for asset in assets:
        _claim_asset(ctx, asset, job, archive_only=asset.id in archive_only)
        options: dict[str, Any] = {}
        if include_archives:  # read by _run_item; replaced by the erasure's result
            options = {"include_archives": True, "archive_only": asset.id in archive_only}
        ctx.session.add(
            DeletionItem(
                job_id=job.id,
                asset_id=asset.id,
                tenant_id=ctx.tenant_id,
                size_before=asset.size_bytes,
                result=options,
            )
        )
    ctx.session.flush()
    ctx.audit(
        "data.delete.request",
        target_type="deletion_job",
        target_id=job.id,
        details={
            "method": method,
            "asset_ids": job.asset_ids,
            "reason": reason,
            "subject_request": subject is not None,
            "source": source,
            "auto_approved_by": job.approved_by if job.auto_approved else None,
            "exceptions": exceptions,
            "include_archives": include_archives,
            "archive_only": sorted(str(a) for a in archive_only),
        },
    )
    return job


def _archive_only(asset: Asset, include_archives: bool) -> bool:
    """A deleted asset whose pre-deletion archive survives: with --include-archives, the job
    erases that archive (the asset's own location is already erased)."""
    return include_archives and asset.status == "deleted" and bool(asset.archive_location)


def _preflight_archive(asset: Asset) -> None:
    if asset.legal_hold:
        raise Refused(
            f"asset {asset.name!r} is on legal hold ({asset.hold_reason}); release it first"
        )
    if asset.open_job_id is not None:
        raise Conflict(f"asset {asset.name!r} is already in deletion job {asset.open_job_id}")


def _subject_assets(ctx: Context, subject: str, *, include_archives: bool = False) -> list[Asset]:
    live = col(Asset.status) != "deleted"
    if include_archives:  # deleted assets whose archive survives count too
        live = or_(live, col(Asset.archive_location).is_not(None))
    return list(
        ctx.session.scalars(
            select(Asset)
            .where(
                Asset.tenant_id == ctx.tenant_id,
                live,
                col(Asset.id).in_(
                    select(col(AssetSubject.asset_id)).where(
                        col(AssetSubject.tenant_id) == ctx.tenant_id,
                        col(AssetSubject.subject) == subject,
                    )
                ),
            )
            .order_by(col(Asset.created_at))
        ).all()
    )


def _auto_approval_policy(ctx: Context, assets: list[Asset], method: str) -> RetentionPolicy | None:
    """Public/internal assets deleted with ``standard`` under auto-approving policies only."""
    if method != "standard" or not assets:
        return None
    policy: RetentionPolicy | None = None
    for asset in assets:
        if asset.classification not in ("public", "internal") or asset.policy_id is None:
            return None
        pol = ctx.session.get(RetentionPolicy, asset.policy_id)
        if pol is None or not pol.auto_approve:
            return None
        policy = policy or pol
    return policy


def _claim_asset(
    ctx: Context, asset: Asset, job: DeletionJob, *, archive_only: bool = False
) -> None:
    state = (
        and_(col(Asset.status) == "deleted", col(Asset.archive_location).is_not(None))
        if archive_only
        else col(Asset.status).in_(ERASABLE_STATES)
    )
    result = ctx.session.execute(
        update(Asset)
        .where(
            col(Asset.id) == asset.id,
            col(Asset.tenant_id) == ctx.tenant_id,
            col(Asset.open_job_id).is_(None),
            state,
            col(Asset.legal_hold) == False,  # noqa: E712
            ~in_use(),
        )
        .values(open_job_id=job.id)
        .execution_options(synchronize_session=False)
    )
    if result.rowcount != 1:  # type: ignore[attr-defined]  # DML returns a CursorResult
        raise Conflict(f"asset {asset.name!r} was claimed by another deletion job just now")
    asset.open_job_id = job.id


def get_job(ctx: Context, ref: str) -> DeletionJob:
    return resolve(
        ctx.session, DeletionJob, ref, what="deletion job", tenant_id=ctx.tenant_id, name_attr=None
    )


def approve(ctx: Context, ref: str) -> DeletionJob:
    """Approve a pending job: an admin who is not its requester (four-eyes)."""
    authorize(ctx, permissions.DELETE_APPROVE)
    job = get_job(ctx, ref)
    if job.status != "pending_approval":
        raise Conflict(f"deletion job {job.id} is {job.status}, not pending_approval")
    if same_person(job.requested_by, ctx.actor):
        raise Refused(
            "four-eyes rule: the requester cannot approve their own deletion job; "
            "another admin must approve it"
        )
    now = ctx.now()
    result = ctx.session.execute(
        update(DeletionJob)
        .where(col(DeletionJob.id) == job.id, col(DeletionJob.status) == "pending_approval")
        .values(status="approved", approved_by=ctx.actor, approved_at=now)
        .execution_options(synchronize_session=False)
    )
    if result.rowcount != 1:  # type: ignore[attr-defined]  # DML returns a CursorResult
        raise Conflict(f"deletion job {job.id} was approved or cancelled by someone else just now")
    job.status, job.approved_by, job.approved_at = "approved", ctx.actor, now
    ctx.audit(
        "data.delete.approve",
        target_type="deletion_job",
        target_id=job.id,
        details={"requested_by": job.requested_by, "method": job.method},
    )
    return job


def cancel(ctx: Context, ref: str, *, reason: str) -> DeletionJob:
    """Cancel a job that has not started (its requester, or an admin); frees its assets."""
    roles = authorize(ctx, permissions.DELETE_CANCEL)
    job = get_job(ctx, ref)
    if "admin" not in roles and not same_person(job.requested_by, ctx.actor):
        raise Refused("only the requester or an admin can cancel a deletion job")
    result = ctx.session.execute(
        update(DeletionJob)
        .where(
            col(DeletionJob.id) == job.id,
            col(DeletionJob.status).in_(("pending_approval", "approved")),
        )
        .values(
            status="cancelled", error=f"cancelled by {ctx.actor}: {reason}", completed_at=ctx.now()
        )
        .execution_options(synchronize_session=False)
    )
    if result.rowcount != 1:  # type: ignore[attr-defined]  # DML returns a CursorResult
        raise Conflict(
            f"deletion job {job.id} is {job.status}; only jobs not yet started can be cancelled"
        )
    _release_assets(ctx, job)
    ctx.session.refresh(job)
    ctx.audit(
        "data.delete.cancel",
        target_type="deletion_job",
        target_id=job.id,
        details={"reason": reason},
    )
    return job


def _release_assets(ctx: Context, job: DeletionJob) -> None:
    ctx.session.execute(
        update(Asset)
        .where(col(Asset.tenant_id) == ctx.tenant_id, col(Asset.open_job_id) == job.id)
        .values(open_job_id=None)
        .execution_options(synchronize_session=False)
    )


def list_jobs(ctx: Context, *, status: str | None = None) -> list[DeletionJob]:
    authorize(ctx, permissions.DELETE_READ)
    stmt = select(DeletionJob).where(DeletionJob.tenant_id == ctx.tenant_id)
    if status:
        stmt = stmt.where(DeletionJob.status == status)
    return list(ctx.session.scalars(stmt.order_by(col(DeletionJob.created_at))).all())


def job_items(ctx: Context, job: DeletionJob) -> list[DeletionItem]:
    return list(
        ctx.session.scalars(
            select(DeletionItem).where(
                DeletionItem.job_id == job.id, DeletionItem.tenant_id == ctx.tenant_id
            )
        ).all()
    )


def show_job(ctx: Context, ref: str) -> dict[str, Any]:
    authorize(ctx, permissions.DELETE_READ)
    job = get_job(ctx, ref)
    order = {a: i for i, a in enumerate(job.asset_ids)}
    items = sorted(job_items(ctx, job), key=lambda i: order.get(str(i.asset_id), 0))
    shown = {**job.public(), "items": [i.public() for i in items]}
    waiting = waiting_hosts(ctx, job) if job.status == WAITING else {}
    if waiting:
        names = hosts.names(ctx.session, set(waiting))
        shown["waiting_for_host"] = [
            {"host_id": h, "host_name": names[h], "asset_ids": ids}
            for h, ids in sorted(waiting.items())
        ]
    return shown


# ------------------------------------------------------------------ execute


def _claim_job(ctx: Context, job: DeletionJob) -> str:
    """Take the job into ``running`` (or over from a dead executor); returns the claim token."""
    now = _wall()
    token = secrets.token_hex(16)
    values = {
        "status": "running",
        "claim_token": token,
        "claimed_by": executor_id(ctx.actor),
        "lease_expires_at": now + LEASE,
        "attempts": DeletionJob.attempts + 1,
        "started_at": job.started_at or ctx.now(),
    }
    if job.status in ("approved", WAITING):
        cond = and_(col(DeletionJob.id) == job.id, col(DeletionJob.status) == job.status)
    elif job.status == "running":
        if not _claim_is_stale(job, now):
            raise Conflict(
                f"deletion job {job.id} is already running ({job.claimed_by}); "
                "it is not executed twice"
            )
        cond = and_(
            col(DeletionJob.id) == job.id,
            col(DeletionJob.status) == "running",
            col(DeletionJob.claim_token) == job.claim_token,
        )
    elif job.status == "pending_approval":
        raise Refused(f"deletion job {job.id} is waiting for approval by a second admin")
    else:
        raise Conflict(f"deletion job {job.id} is already {job.status}")
    result = ctx.session.execute(
        update(DeletionJob)
        .where(cond)
        .values(**values)
        .execution_options(synchronize_session=False)
    )
    if result.rowcount != 1:  # type: ignore[attr-defined]  # DML returns a CursorResult
        raise Conflict(f"deletion job {job.id} was claimed by another executor just now")
    ctx.audit(
        "data.delete.start",
        target_type="deletion_job",
        target_id=job.id,
        details={
            "executor": values["claimed_by"],
            "host_id": ctx.host.id,
            "resumed": job.status in ("running", WAITING),
        },
    )
    ctx.session.commit()
    ctx.session.refresh(job)
    return token


def reservation_is_stale(job: DeletionJob) -> bool:
    """An approved job reserved by its creator: may another process take it now?"""
    return job.claimed_by is None or _claim_is_stale(job, _wall())


def _claim_is_stale(job: DeletionJob, now: datetime) -> bool:
    """The executor is gone: same host and its pid is dead, or its lease ran out."""
    if job.lease_expires_at is not None and job.lease_expires_at < now:
        return True
    parts = (job.claimed_by or "").split(":")
    if len(parts) >= 2 and parts[0] == _host() and parts[1].isdigit():
        pid = int(parts[1])
        if pid == os.getpid():
            return False
        try:
            os.kill(pid, 0)
        except ProcessLookupError:
            return True
        except PermissionError:
            return False
    return False


class _Heartbeat:
    """Commits item progress and extends the lease, refusing to go on without the claim."""

    def __init__(self, ctx: Context, job: DeletionJob, token: str, item: DeletionItem) -> None:
        self.ctx, self.job, self.token, self.item = ctx, job, token, item

    def __call__(self, **fields: Any) -> None:
        for key, value in fields.items():
            if key == "marks":  # facts for a resumed run, kept until the result replaces them
                self.item.result = {**(self.item.result or {}), **value}
            else:
                setattr(self.item, key, value)
        self.ctx.session.add(self.item)
        self.beat()

    def beat(self) -> None:
        result = self.ctx.session.execute(
            update(DeletionJob)
            .where(col(DeletionJob.id) == self.job.id, col(DeletionJob.claim_token) == self.token)
            .values(lease_expires_at=_wall() + LEASE)
            .execution_options(synchronize_session=False)
        )
        if result.rowcount != 1:  # type: ignore[attr-defined]  # DML returns a CursorResult
            self.ctx.session.rollback()
            raise Conflict(f"deletion job {self.job.id} was taken over by another executor")
        self.ctx.session.commit()


class _BeatingProgress(Progress):
    """Passes progress on, and keeps the job's lease alive while long passes write."""

    def __init__(self, inner: Progress, beat: _Heartbeat) -> None:
        self.inner, self.beat, self.last = inner, beat, time.monotonic()

    def item(self, label: str, index: int, count: int) -> None:
        self.inner.item(label, index, count)

    def plan(self, label: str, *, size: int, passes: int) -> None:
        self.inner.plan(label, size=size, passes=passes)

    def begin_pass(self, number: int) -> None:
        self.inner.begin_pass(number)

    def advance(self, nbytes: int) -> None:
        self.inner.advance(nbytes)
        if time.monotonic() - self.last > LEASE.total_seconds() / 4:
            self.last = time.monotonic()
            self.beat.beat()


def execute(
    ctx: Context,
    ref: str,
    *,
    progress: Progress | None = None,
    system_actor: str | None = None,
    confirm: Confirm | None = None,
) -> DeletionJob:
    """Run an approved job (operator or admin), or resume one whose executor died; the caller's
    ``confirm`` runs once the role is checked and the job found."""
    authorize(ctx, permissions.DELETE_EXECUTE)
    checkpoint.after_commit(ctx, ctx.tenant_id)  # with a witness configured, once committed
    job = get_job(ctx, ref)
    ask(confirm)
    return execute_job(ctx, job, progress=progress, system_actor=system_actor)


def execute_job(
    ctx: Context,
    job: DeletionJob,
    *,
    progress: Progress | None = None,
    system_actor: str | None = None,
) -> DeletionJob:
    """Run this host's items of the job; items on other hosts are left ``waiting_for_host``.

    A job waiting for other hosts with nothing left here is returned untouched (not claimed).
    """
    if job.status == WAITING and not has_local_work(ctx, job):
        return job
    token = _claim_job(ctx, job)
    performer = f"{system_actor} (as {ctx.actor})" if system_actor else ctx.actor
    items = {str(i.asset_id): i for i in job_items(ctx, job)}
    todo = [a for a in job.asset_ids if items[a].status not in ("erased", "failed")]
    for rank, asset_id in enumerate(todo, 1):
        item = items[asset_id]
        asset = ctx.session.get(Asset, item.asset_id)
        if asset is not None and not is_here(ctx, asset):
            _wait_item(ctx, job, token, item, asset)
            continue
        if progress is not None and len(todo) > 1:
            progress.item(asset.name if asset else asset_id, rank, len(todo))
        _run_item(ctx, job, token, item, progress=progress, system_actor=system_actor)
    return _finish(ctx, job, token, list(items.values()), performer, system_actor)


def has_local_work(ctx: Context, job: DeletionJob) -> bool:
    """Whether an unfinished item of the job lives on this host."""
    for item in job_items(ctx, job):
        if item.status in ("erased", "failed"):
            continue
        asset = ctx.session.get(Asset, item.asset_id)
        if asset is None or is_here(ctx, asset):
            return True
    return False


def waiting_hosts(ctx: Context, job: DeletionJob) -> dict[str, list[str]]:
    """Host id -> asset ids of the job's unfinished items that live on another host."""
    out: dict[str, list[str]] = {}
    for item in job_items(ctx, job):
        if item.status in ("erased", "failed"):
            continue
        asset = ctx.session.get(Asset, item.asset_id)
        if asset is not None and not is_here(ctx, asset) and asset.host_id is not None:
            out.setdefault(asset.host_id, []).append(str(asset.id))
    return out


def _wait_item(
    ctx: Context, job: DeletionJob, token: str, item: DeletionItem, asset: Asset
) -> None:
    """Leave an item of another host to that host: never checked, touched or certified here."""
    assert asset.host_id is not None
    name = hosts.names(ctx.session, {asset.host_id})[asset.host_id]
    _Heartbeat(ctx, job, token, item)(
        status=WAITING,
        result={
            **(item.result or {}),
            "waiting_for_host": {"host_id": asset.host_id, "host_name": name},
        },
    )


def _run_item(
    ctx: Context,
    job: DeletionJob,
    token: str,
    item: DeletionItem,
    *,
    progress: Progress | None,
    system_actor: str | None,
) -> None:
    beat = _Heartbeat(ctx, job, token, item)
    asset = ctx.session.get(Asset, item.asset_id)
    assert asset is not None
    if asset.legal_hold:
        _fail_item(
            ctx,
            beat,
            asset,
            item,
            f"legal hold placed after the request ({asset.hold_reason}); not erased",
        )
        return
    held = uses_of(ctx, asset.id)
    if held:
        why = "; ".join(u.reason for u in held)
        _fail_item(ctx, beat, asset, item, f"in use since the request ({why}); not erased")
        return
    options = dict(item.result or {})
    if options.get("archive_only"):
        _run_archive_item(ctx, beat, job, item, asset, system_actor=system_actor)
        return
    if item.status in ("pending", WAITING):
        item.status, item.started_at = "running", item.started_at or ctx.now()
    asset.status = "erasing"
    ctx.session.add(asset)
    beat()  # commits: the item is running, the asset erasing
    state = {
        "inode": item.inode,
        "renamed_to": item.renamed_to,
        "passes_done": item.passes_done,
        "sha256_before": item.sha256_before,
        "size_before": item.size_before,
        "marks": dict(item.result or {}),
    }
    tick = _BeatingProgress(progress or Progress(), beat)
    try:
        if asset.scheme == "file":
            result = erasure.erase_local(
                Path(asset.location),
                roots_for(ctx, asset),
                job.method,
                item=state,
                save=beat,
                progress=tick,
            )
        elif asset.scheme == "vault":
            result = _erase_vault(ctx, beat, asset, job.method, progress=tick)
        elif asset.scheme == "s3":
            bucket, _, key = asset.location[len("s3://") :].partition("/")
            result = erasure.erase_s3(ctx.settings.s3_endpoint_url, bucket, key)
        else:
            result = erasure.attest(asset.location, asset.scheme)
    except (ShiftyError, OSError, VerificationFailed) as exc:
        message = getattr(exc, "message", None) or str(exc)
        ctx.session.rollback()
        _fail_item(ctx, beat, asset, item, message)
        return
    if asset.host_id is not None:
        result["host"] = ctx.host.public()
    if job.method == "nist_800_88" and asset.scheme == "file":
        result.setdefault("notes", []).append(
            "nist_800_88 on a plain file gives Clear only: Purge needs the data to have been "
            "encrypted from its first write (a vault asset) so its key can be destroyed."
        )
    try:
        _record_copies(ctx, asset, result, erase=bool(options.get("include_archives")))
    except (ShiftyError, OSError, VerificationFailed) as exc:
        # the location is erased; the archive is not: say so, never claim the data gone
        result["copies"] = [
            {
                "kind": "archive",
                "location": asset.archive_location,
                "fate": f"erasure failed, the encrypted archive copy remains: {exc}",
            }
        ]
        _downgrade_for_copies(result, [asset.archive_location or ""])
    if asset.scheme == "vault":
        _close_kms_epoch(ctx, asset, result)
    item.status, item.result, item.completed_at = "erased", result, ctx.now()
    asset.status, asset.deleted_at = "deleted", ctx.now()
    asset.deleted_by_job_id, asset.open_job_id = job.id, None
    if any(c.get("erased") for c in result.get("copies", [])):
        asset.archive_location = None
    ctx.session.add(asset)
    ctx.audit(
        "data.asset.erase",
        target_type="asset",
        target_id=asset.id,
        details={
            "job_id": str(job.id),
            "method": job.method,
            "classification": asset.classification,
            "nist_category": result.get("nist_category"),
            "post_sanitization_state": result.get("post_sanitization_state"),
            **({"system_actor": system_actor} if system_actor else {}),
        },
    )
    beat()


def _record_copies(ctx: Context, asset: Asset, result: dict[str, Any], *, erase: bool) -> None:
    """List the copies this tool made of the asset (its pre-deletion archive), erasing them
    when asked; a surviving copy downgrades the claim for the asset as a whole."""
    from shifty_ent.data import archive

    if not asset.archive_location:
        return
    path = Path(asset.archive_location)
    until = archive.archive_until(ctx, asset)
    copy: dict[str, Any] = {
        "kind": "archive",
        "location": str(path),
        "created_at": asset.archived_at.isoformat() if asset.archived_at else None,
        "encryption": "AES-256-GCM, data key wrapped by the tenant key in the archive header",
        "retention_until": until.isoformat() if until else None,
    }
    if erase:
        done = archive.erase_archive(ctx.settings, asset.tenant_id, path)
        copy.update(done)
    elif os.path.lexists(path):
        copy["fate"] = (
            "remains: an encrypted archive copy that 'data asset restore' brings back; "
            f"kept until {copy['retention_until'] or 'erased by hand'}"
        )
        copy["erased"] = False
    else:
        copy["fate"] = "absent: the archive file was no longer at its location"
        copy["erased"] = False
        copy["absent"] = True
    result["copies"] = [copy]
    if not copy.get("erased") and not copy.get("absent"):
        _downgrade_for_copies(result, [str(path)], until=copy["retention_until"])


def _downgrade_for_copies(
    result: dict[str, Any], locations: list[str], *, until: str | None = None
) -> None:
    """The location is erased but a copy survives: the asset as a whole is not sanitized."""
    result["location_nist_category"] = result.get("nist_category", "none")
    result["nist_category"] = "none"
    result["data_remains"] = True
    result["post_sanitization_state"] = (
        f"{result.get('post_sanitization_state')} at its location; an encrypted archive copy "
        f"remains ({', '.join(locations)})" + (f" until {until}" if until else "")
    )
    result.setdefault("notes", []).append(
        "Not sanitized as a whole: the erasure above covers the asset's location only. An "
        "encrypted archive copy made before deletion survives and can be restored with the "
        "tenant key; 'nist_category' is 'none' for the asset, 'location_nist_category' names "
        "what the location reached. Erase the archive with 'data delete request "
        "--include-archives' or let the sweep erase it when its retention ends."
    )


def _run_archive_item(
    ctx: Context,
    beat: _Heartbeat,
    job: DeletionJob,
    item: DeletionItem,
    asset: Asset,
    *,
    system_actor: str | None,
) -> None:
    """Erase only the surviving archive of an asset whose location was erased earlier."""
    item.status, item.started_at = "running", item.started_at or ctx.now()
    beat()
    result: dict[str, Any] = {
        "technique": "erase the encrypted pre-deletion archive copy",
        "passes": [],
        "passes_completed": 0,
        "fs_type": pathsafety.fs_type_of(ctx.settings.archive_dir),
        "archive_only": True,
        "notes": [
            "The asset's own location was erased earlier (deletion job "
            f"{asset.deleted_by_job_id}); this job erases the archive copy made before that."
        ],
    }
    kid = _archive_kek_id(ctx, asset)
    try:
        _record_copies(ctx, asset, result, erase=True)
    except (ShiftyError, OSError, VerificationFailed) as exc:
        message = getattr(exc, "message", None) or str(exc)
        ctx.session.rollback()
        item = ctx.session.get(DeletionItem, (item.job_id, item.asset_id)) or item
        beat.item = item
        item.status, item.error, item.completed_at = "failed", message, ctx.now()
        asset = ctx.session.get(Asset, asset.id) or asset
        asset.open_job_id = None
        ctx.session.add(asset)
        beat()
        return
    copy = result["copies"][0]
    result["nist_category"] = "Clear" if copy.get("erased") else "none"
    if copy.get("erased") and kid is not None:
        _close_archive_epoch(ctx, asset, kid, result)
    if copy.get("absent"):
        result["outcome"] = "absent"
    result["post_sanitization_state"] = copy["fate"]
    result["verification"] = copy.get("verification", {"result": "not run"})
    item.status, item.result, item.completed_at = "erased", result, ctx.now()
    asset.open_job_id, asset.archive_location = None, None
    ctx.session.add(asset)
    ctx.audit(
        "data.asset.archive_erase",
        target_type="asset",
        target_id=asset.id,
        details={
            "job_id": str(job.id),
            "archive": copy["location"],
            "fate": copy["fate"],
            **({"system_actor": system_actor} if system_actor else {}),
        },
    )
    beat()


def _fail_item(
    ctx: Context, beat: _Heartbeat, asset: Asset, item: DeletionItem, message: str
) -> None:
    asset = ctx.session.get(Asset, asset.id) or asset
    item = ctx.session.get(DeletionItem, (item.job_id, item.asset_id)) or item
    beat.item = item
    touched = bool(
        item.passes_done
        or item.renamed_to
        or (item.sha256_before and item.inode)
        or (item.result or {}).get(erasure.HASH_MARK)
    )
    item.status, item.error, item.completed_at = "failed", message, ctx.now()
    asset.status = "erase_failed" if touched else "active"
    asset.open_job_id = None
    ctx.session.add(asset)
    ctx.audit(
        "data.asset.erase_failed",
        target_type="asset",
        target_id=asset.id,
        details={"job_id": str(item.job_id), "error": message, "data_touched": touched},
    )
    beat()


def _erase_vault(
    ctx: Context, beat: _Heartbeat, asset: Asset, method: str, *, progress: Progress
) -> dict[str, Any]:
    """Destroy the data key (the Purge), then overwrite and unlink the ciphertext."""
    now = ctx.now()
    key = ctx.session.get(VaultKey, asset.id)
    if key is None:
        raise Refused(f"vault asset {asset.name!r} has no key record; cannot certify key erasure")
    destroyed_now = ctx.session.execute(
        update(VaultKey)
        .where(col(VaultKey.asset_id) == asset.id, col(VaultKey.wrapped_key).is_not(None))
        .values(wrapped_key=None, destroyed_at=now)
        .execution_options(synchronize_session=False)
    ).rowcount  # type: ignore[attr-defined]  # DML returns a CursorResult
    beat()  # commit the key destruction before touching the ciphertext
    ctx.session.refresh(key)
    ctx.session.commit()  # release the write lock: the WAL checkpoint below must not wait on us
    if key.wrapped_key is not None:
        raise Refused(f"the data key of {asset.name!r} is still present after destruction")
    notes: list[str] = []
    store_note = _scrub_store(ctx)
    if store_note:
        notes.append(store_note)
    holder = vault.kek_holder(ctx.settings, ctx.tenant_id, key.kek_id)
    category, epoch, first_note = _key_verdict(key.kek_id, holder, None, None)
    notes.insert(0, first_note)
    source = _ingest_source(ctx, asset)
    if source is not None:
        notes.append(
            f"The plaintext this asset was ingested from ({source['path']}) was left in place by "
            "'data asset ingest' and is "
            + (
                "still present: it is not covered by this erasure; register and erase it "
                "separately."
                if source["present"]
                else "no longer at that path (this tool did not erase it; where it went is not "
                "covered)."
            )
        )
    root = vault.tenant_vault_dir(ctx.settings, ctx.tenant_id)
    path = vault.vault_file(ctx.settings, ctx.tenant_id, asset.id)
    cipher = erasure.remove_ciphertext(path, Path(os.path.realpath(root)), progress=progress)
    return {
        "technique": "cryptographic erase (data key destroyed) + ciphertext overwrite and unlink",
        "nist_category": category,
        "key_wrapping_key": _key_fields(key.kek_id, holder, epoch, None),
        **({"ingest_source": source} if source is not None else {}),
        "passes": cipher.get("ciphertext_passes", []),
        "passes_completed": len(cipher.get("ciphertext_passes", [])),
        "key_id": f"data key of asset {asset.id} wrapped by {key.kek_id}",
        "key_destroyed_at": (key.destroyed_at or now).isoformat(),
        "key_destroyed_in_this_run": bool(destroyed_now),
        "verification": {
            "result": "passed",
            "method": "re-read the key store: the wrapped data key is gone; ciphertext "
            "overwrite read back in full; file checked absent",
        },
        "post_sanitization_state": "data key destroyed; " + cipher["ciphertext"],
        "fs_type": pathsafety.fs_type_of(root),
        "medium": erasure.medium.describe(os.path.realpath(root)),
        "notes": notes,
    }


def _key_fields(
    kid: str | None, holder: dict[str, Any] | None, epoch: str, closed: dict[str, Any] | None
) -> dict[str, Any]:
    """``details.key_wrapping_key`` of a cryptographic erase's certificate item."""
    return {
        "kek_id": kid,
        "held_by_installation": holder is not None,
        "location": holder["location"] if holder is not None else None,
        "held_in": holder["kind"] if holder is not None else None,
        "epoch": epoch,
        **({"destroyed": closed} if closed is not None else {}),
        **({k: v for k, v in holder.items() if k.startswith("kms_")} if holder else {}),
    }


def _close_kms_epoch(ctx: Context, asset: Asset, result: dict[str, Any]) -> None:
    """Once the asset and the copies this run erased are gone, close a KMS-held key epoch: the
    survivors are rewrapped under a new KMS key and the old one is scheduled for deletion, so
    no copy of the destroyed wrapped key left in the store opens any more: the erase is Purge.
    A failed close leaves it Clear, saying why; ``data vault rotate-key`` closes it later."""
    kw = result.get("key_wrapping_key") or {}
    if kw.get("held_in") != vault_kms.KIND:
        return
    from shifty_ent.data.vault_keys import close_epoch

    kid = kw.get("kek_id")
    closed: dict[str, Any] | None = None
    error: str | None = None
    try:
        done = close_epoch(ctx, reason=f"cryptographic erase of asset {asset.id}")
    except (ShiftyError, OSError) as exc:
        ctx.session.rollback()
        error = getattr(exc, "message", None) or str(exc)
    else:
        closed = done["keys_destroyed_detail"].get(kid)
    holder = vault.kek_holder(ctx.settings, ctx.tenant_id, kid)
    category, epoch, note = _key_verdict(kid, holder, closed, error)
    result["key_wrapping_key"] = _key_fields(kid, holder, epoch, closed)
    result["notes"][0] = note
    result["location_nist_category" if result.get("data_remains") else "nist_category"] = category


def _archive_kek_id(ctx: Context, asset: Asset) -> str | None:
    """The KEK named in the header of the asset's archive, read before it is erased."""
    from shifty_ent.data import archive

    if not asset.archive_location:
        return None
    path = os.path.realpath(asset.archive_location)
    try:
        keys = archive.archive_key_ids(ctx.settings, asset.tenant_id)
    except (ShiftyError, OSError):
        return None
    return next((kid for p, kid in keys.items() if os.path.realpath(p) == path), None)


def _close_archive_epoch(ctx: Context, asset: Asset, kid: str, result: dict[str, Any]) -> None:
    """An archive's data key was wrapped only in its header. Once the archive is erased, closing
    its KMS-held key epoch puts every other copy of that header (old blocks, backups) out of
    reach: the archive copy is then Purge by cryptographic erase, not only Clear."""
    holder = vault.kek_holder(ctx.settings, ctx.tenant_id, kid)
    if holder is None or holder["kind"] != vault_kms.KIND:
        result["key_wrapping_key"] = _key_fields(
            kid, holder, "open (local key file)" if holder else "closed", None
        )
        return
    from shifty_ent.data.vault_keys import close_epoch

    closed: dict[str, Any] | None = None
    try:
        done = close_epoch(ctx, reason=f"erasure of the archive of asset {asset.id}")
    except (ShiftyError, OSError) as exc:
        ctx.session.rollback()
        error = getattr(exc, "message", None) or str(exc)
        result["notes"].append(f"Not Purge: closing the archive's key epoch failed: {error}.")
    else:
        closed = done["keys_destroyed_detail"].get(kid)
    holder = vault.kek_holder(ctx.settings, ctx.tenant_id, kid)
    if holder is None and closed is not None:
        result["nist_category"] = "Purge"
        result["notes"].append(
            "Purge by cryptographic erase: the archive (AES-256-GCM) was overwritten and "
            f"unlinked, and the key that wrapped its data key ({kid}) is gone with its AWS KMS "
            f"key {closed.get('kms_key_arn') or closed.get('kms_key_id')} "
            f"({closed.get('kms_key_state')}), so no leftover copy of the archive opens."
        )
    result["key_wrapping_key"] = _key_fields(
        kid,
        holder,
        "closed (AWS KMS key scheduled for deletion)" if holder is None else "open (AWS KMS)",
        closed,
    )


def _key_verdict(
    kid: str | None,
    holder: dict[str, Any] | None,
    closed: dict[str, Any] | None,
    close_error: str | None,
) -> tuple[str, str, str]:
    """(NIST category, key epoch state, first note) of a cryptographic erase: Purge only once
    no copy of the destroyed wrapped key can be unwrapped with what the installation holds."""
    if holder is not None and holder["kind"] == "local_file":
        return (
            "Clear",
            "open (local key file)",
            "Not Purge: the data key was destroyed in the key store, but the key that wrapped it "
            f"({kid}) is still held by this installation in the local file "
            f"{holder['location']}, beside the vault; its key epoch is open, and closing it "
            "would only overwrite and unlink that file, which does not reach the medium's other "
            "copies. A copy of the wrapped data key can survive the deletion in freed SQLite "
            "pages and the -wal file, or in PostgreSQL dead row versions, WAL and base backups; "
            "with that file it still unwraps and decrypts any copy of the ciphertext. What this "
            "run did reach is Clear: the ciphertext was overwritten with one verified random "
            "pass, truncated and unlinked. Purge needs the vault's keys in AWS KMS "
            '(vault_kms = "aws"), whose key epochs close by deleting the KMS key.',
        )
    if holder is not None and holder["kind"] != vault_kms.KIND:
        return (
            "Clear",
            "unknown (key records unreadable)",
            "Not Purge: the data key was destroyed in the key store, but whether the key that "
            f"wrapped it ({kid}) is gone could not be checked: {holder.get('error')}. Until it "
            "can, a copy of the wrapped data key left in freed database pages, WAL or backups "
            "may still open; what this run did reach is Clear.",
        )
    if holder is not None:
        why = f" (closing it failed: {close_error})" if close_error else ""
        return (
            "Clear",
            "open (AWS KMS)",
            "Not Purge yet: the data key was destroyed in the key store, but its key epoch is "
            f"open{why}: the key that wrapped it ({kid}) can still be unwrapped by AWS KMS key "
            f"{holder.get('kms_key_arn') or holder.get('kms_key_id')} "
            f"({holder.get('kms_key_state')}), so a copy of the wrapped data key left in freed "
            "database pages, WAL or backups would still open. 'data vault rotate-key' closes the "
            "epoch; it then records on this certificate ('data certificate show') that the key "
            "is destroyed.",
        )
    if closed is not None and closed.get("kind") == vault_kms.KIND:
        return (
            "Purge",
            "closed (AWS KMS key scheduled for deletion)",
            "Purge by cryptographic erase: the asset was encrypted (AES-256-GCM) from its first "
            f"write, its data key was destroyed, and its key epoch was closed: the surviving data "
            f"keys were wrapped under a new key and the key that wrapped this one ({kid}) is gone "
            f"with its AWS KMS key {closed.get('kms_key_arn') or closed.get('kms_key_id')}, "
            f"which refuses every operation and is deleted by AWS on "
            f"{closed.get('kms_deletion_date', 'the end of its waiting period')}. No surviving "
            "copy of the wrapped data key can be unwrapped with what the installation holds. An "
            "AWS principal allowed kms:CancelKeyDeletion could restore the key until then; "
            "backups of the database taken while the key existed need the KMS key too.",
        )
    return (
        "Purge",
        "closed",
        "Purge by cryptographic erase: the asset was encrypted (AES-256-GCM) from its first "
        f"write, its data key was destroyed and the key that wrapped it ({kid}) is no "
        "longer held by this installation, so no surviving copy of the wrapped data key can "
        "be unwrapped with what the installation holds. Backups of the tenant key file or "
        "the database taken while the key existed are outside this claim.",
    )


def _ingest_source(ctx: Context, asset: Asset) -> dict[str, Any] | None:
    """The plaintext file a vault asset was ingested from (recorded in its ingest event)."""
    from shifty_ent.core.tables import AuditEvent

    event = ctx.session.scalars(
        select(AuditEvent)
        .where(
            AuditEvent.tenant_id == ctx.tenant_id,
            AuditEvent.action == "data.asset.ingest",
            AuditEvent.target_id == str(asset.id),
        )
        .limit(1)
    ).first()
    path = (event.details or {}).get("source") if event is not None else None
    if not path:
        return None
    return {"path": path, "present": os.path.lexists(path)}


def _scrub_store(ctx: Context) -> str | None:
    """Push freed pages out of SQLite's WAL; say what PostgreSQL keeps."""
    if ctx.dialect == "sqlite":
        raw = ctx.engine.raw_connection()
        try:
            cur = raw.cursor()
            busy = cur.execute("PRAGMA wal_checkpoint(TRUNCATE)").fetchone()
            cur.close()
        finally:
            raw.close()
        if busy and busy[0]:
            return (
                "SQLite: secure_delete is on, but the WAL checkpoint was busy; the old key page "
                "may stay in the -wal file until the next checkpoint."
            )
        return None
    return (
        "PostgreSQL keeps the old row version holding the wrapped key until VACUUM reclaims it, "
        "and in WAL archives and base backups; run VACUUM on data_vault_keys and expire backups."
    )


def _finish(
    ctx: Context,
    job: DeletionJob,
    token: str,
    items: list[DeletionItem],
    performer: str,
    system_actor: str | None,
) -> DeletionJob:
    ctx.session.expire_all()
    job = ctx.session.get(DeletionJob, job.id)  # type: ignore[assignment]  # reloading a job that exists
    items = job_items(ctx, job)
    if any(i.status not in ("erased", "failed") for i in items):
        return _wait_for_hosts(ctx, job, token, system_actor)
    erased = sum(1 for i in items if i.status == "erased")
    failed = [i for i in items if i.status == "failed"]
    status = "completed" if not failed else ("failed" if not erased else "partially_completed")
    now = ctx.now()
    result = ctx.session.execute(
        update(DeletionJob)
        .where(col(DeletionJob.id) == job.id, col(DeletionJob.claim_token) == token)
        .values(
            status=status,
            completed_at=now,
            lease_expires_at=None,
            error="; ".join(f"{i.asset_id}: {i.error}" for i in failed) or None,
        )
        .execution_options(synchronize_session=False)
    )
    if result.rowcount != 1:  # type: ignore[attr-defined]  # DML returns a CursorResult
        ctx.session.rollback()
        raise Conflict(f"deletion job {job.id} was taken over by another executor")
    ctx.session.refresh(job)
    _release_assets(ctx, job)
    cert = None
    if erased:
        cert = issue(ctx, job, items, performed_by=performer)
        job.certificate_id = cert.id
        ctx.session.add(job)
    ctx.audit(
        "data.delete.complete",
        target_type="deletion_job",
        target_id=job.id,
        details={
            "status": status,
            "erased": erased,
            "failed": len(failed),
            "certificate_id": str(cert.id) if cert else None,
            "certificate_sha256": cert.document_sha256 if cert else None,
            **({"system_actor": system_actor} if system_actor else {}),
        },
    )
    ctx.session.commit()
    return job


def _wait_for_hosts(
    ctx: Context, job: DeletionJob, token: str, system_actor: str | None
) -> DeletionJob:
    """This host's part is done; hand the job back (unclaimed) to the hosts it waits for. Its
    certificate is issued by whichever host finishes the last item."""
    result = ctx.session.execute(
        update(DeletionJob)
        .where(col(DeletionJob.id) == job.id, col(DeletionJob.claim_token) == token)
        .values(status=WAITING, claim_token=None, claimed_by=None, lease_expires_at=None)
        .execution_options(synchronize_session=False)
    )
    if result.rowcount != 1:  # type: ignore[attr-defined]  # DML returns a CursorResult
        ctx.session.rollback()
        raise Conflict(f"deletion job {job.id} was taken over by another executor")
    ctx.session.refresh(job)
    waiting = waiting_hosts(ctx, job)
    names = hosts.names(ctx.session, set(waiting))
    ctx.audit(
        "data.delete.wait",
        target_type="deletion_job",
        target_id=job.id,
        details={
            "host_id": ctx.host.id,
            "waiting_for": [
                {"host_id": h, "host_name": names[h], "asset_ids": ids}
                for h, ids in sorted(waiting.items())
            ],
            **({"system_actor": system_actor} if system_actor else {}),
        },
    )
    ctx.session.commit()
    return job


def classified(asset: Asset) -> bool:
    return asset.classification in CLASSIFIED


def open_jobs_filter() -> Any:
    return or_(*(col(DeletionJob.status) == s for s in OPEN_JOB_STATES))


def fail_unstarted(ctx: Context, job: DeletionJob, message: str) -> None:
    """End an approved job that never touched its assets (e.g. its archive step failed)."""
    result = ctx.session.execute(
        update(DeletionJob)
        .where(col(DeletionJob.id) == job.id, col(DeletionJob.status) == "approved")
        .values(status="failed", error=message, completed_at=ctx.now())
        .execution_options(synchronize_session=False)
    )
    if result.rowcount != 1:  # type: ignore[attr-defined]  # DML returns a CursorResult
        ctx.session.rollback()
        return
    for item in job_items(ctx, job):
        item.status, item.error, item.completed_at = "failed", message, ctx.now()
        ctx.session.add(item)
    _release_assets(ctx, job)
    ctx.audit(
        "data.delete.fail",
        target_type="deletion_job",
        target_id=job.id,
        details={"error": message, "data_touched": False},
    )
    ctx.session.commit()


def archives_due(ctx: Context, now: datetime) -> list[Asset]:
    """Deleted assets of this host whose pre-deletion archive has passed its retention."""
    from shifty_ent.data.archive import archive_until

    rows = ctx.session.scalars(
        select(Asset).where(
            Asset.tenant_id == ctx.tenant_id,
            Asset.status == "deleted",
            col(Asset.archive_location).is_not(None),
            col(Asset.open_job_id).is_(None),
            Asset.legal_hold == False,  # noqa: E712
            or_(col(Asset.host_id).is_(None), col(Asset.host_id) == ctx.host.id),
        )
    ).all()
    return [a for a in rows if (until := archive_until(ctx, a)) is not None and until <= now]


def sweep_step(
    ctx: Context, summary: dict[str, Any], asset_id: Any, step: str, action: Callable[[], _T]
) -> _T | None:
    """One step of a sweep for one asset. Another runner holding it (Conflict) is passed over
    quietly; any other refusal is recorded under ``failures`` for that step. Both roll back and
    give None, so the sweep goes on with the next asset."""
    try:
        return action()
    except Conflict:
        ctx.session.rollback()
        return None
    except ShiftyError as exc:
        ctx.session.rollback()
        summary["failures"].append({"asset_id": asset_id, "step": step, "error": exc.message})
        return None


def _erase_archive(
    ctx: Context, asset: Asset, policy: RetentionPolicy | None, system_actor: str
) -> DeletionJob:
    """Erase an archive whose retention ended, in its own auto-approved, certified job."""
    job = request_deletion(
        ctx,
        asset_refs=[str(asset.id)],
        method=policy.method if policy and policy.method != "standard" else "nist_800_88",
        reason="archive retention ended"
        + (f" (policy {policy.name}: {policy.retention_days} days)" if policy else ""),
        source="sweep",
        auto_approved_by=f"policy:{policy.name}" if policy else "archive retention",
        reserve=True,
        include_archives=True,
    )
    ctx.session.commit()
    return execute_job(ctx, job, system_actor=system_actor)


def sweep_archives(
    ctx: Context, now: datetime, summary: dict[str, Any], dry_run: bool, system_actor: str
) -> None:
    """Sweep step: erase each archive whose retention ended, in its own certified job."""
    erased = summary.setdefault("archives_erased", [])
    for asset in archives_due(ctx, now):
        entry = {"asset_id": asset.id, "name": asset.name, "archive": asset.archive_location}
        if dry_run:
            erased.append({**entry, "would_erase": True})
            continue
        policy = ctx.session.get(RetentionPolicy, asset.policy_id) if asset.policy_id else None

        erase = partial(_erase_archive, ctx, asset, policy, system_actor)
        done = sweep_step(ctx, summary, asset.id, "archive_erase", erase)
        if done is None:
            continue
        erased.append({**entry, "job_id": done.id, "certificate_id": done.certificate_id})
        if done.status != "completed":
            summary["failures"].append(
                {"asset_id": asset.id, "step": "archive_erase", "error": done.error}
            )
