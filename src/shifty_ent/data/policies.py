"""Retention policies: how long each classification is kept and what happens at the end.

A classification is covered by at most one policy of a tenant, so an asset's effective policy
(explicit, or the one of its classification) is never ambiguous. Creating or updating a policy
re-derives the expiry of the active assets it covers, in the same transaction; policy changes of
one tenant are serialised (a row lock on PostgreSQL, the write lock on SQLite), so two terminals
can never leave one classification under two policies.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime, timedelta
from typing import Any

from sqlmodel import col, func, select

from shifty_ent.core.asking import Confirm, ask
from shifty_ent.core.authz import authorize
from shifty_ent.core.context import Context
from shifty_ent.core.errors import Conflict, InvalidInput
from shifty_ent.core.ids import resolve
from shifty_ent.core.tables import Tenant
from shifty_ent.core.tenancy import validate_name
from shifty_ent.data import permissions
from shifty_ent.data.tables import CLASSIFICATIONS, METHODS, Asset, RetentionPolicy

MAX_RETENTION_DAYS = 365 * 100


def validate_classification(value: str) -> str:
    value = (value or "").strip().lower()
    if value not in CLASSIFICATIONS:
        raise InvalidInput(
            f"unknown classification {value!r}; choose from {', '.join(CLASSIFICATIONS)}"
        )
    return value


def validate_method(value: str) -> str:
    value = (value or "").strip().lower()
    if value not in METHODS:
        raise InvalidInput(f"unknown deletion method {value!r}; choose from {', '.join(METHODS)}")
    return value


def create_policy(
    ctx: Context,
    *,
    name: str,
    classifications: Sequence[str],
    retention_days: int,
    auto_delete: bool = False,
    archive_before_delete: bool = False,
    notify_days: int | None = None,
    method: str = "standard",
    auto_approve: bool = False,
) -> RetentionPolicy:
    """Create a policy (operator or admin) and re-derive the expiry of the assets it covers."""
    authorize(ctx, permissions.POLICY_WRITE)
    name = validate_name(name, "policy name")
    classes, method = _checked_settings(
        classifications, retention_days, notify_days, method, auto_approve
    )
    _lock_policies(ctx)
    if ctx.session.scalars(
        select(RetentionPolicy).where(
            RetentionPolicy.tenant_id == ctx.tenant_id, RetentionPolicy.name == name
        )
    ).first():
        raise Conflict(f"policy {name!r} already exists")
    _check_no_overlap(ctx, classes, besides=None)
    policy = RetentionPolicy(
        tenant_id=ctx.tenant_id,
        name=name,
        classifications=classes,
        retention_days=retention_days,
        auto_delete=auto_delete,
        archive_before_delete=archive_before_delete,
        notify_days=notify_days,
        method=method,
        auto_approve=auto_approve,
        created_by=ctx.actor,
    )
    ctx.session.add(policy)
    ctx.session.flush()
    covered = _apply_to_assets(ctx, policy)
    ctx.audit(
        "data.policy.create",
        target_type="retention_policy",
        target_id=policy.id,
        details={**policy.public(), "assets_covered": covered},
    )
    return policy


def _checked_settings(
    classifications: Sequence[str],
    retention_days: int,
    notify_days: int | None,
    method: str,
    auto_approve: bool,
) -> tuple[list[str], str]:
    """The rules every policy obeys, created or updated: (sorted classifications, method)."""
    classes = sorted({validate_classification(c) for c in classifications})
    if not classes:
        raise InvalidInput("give at least one --classification")
    if not 0 <= retention_days <= MAX_RETENTION_DAYS:
        raise InvalidInput(f"--retention-days must be between 0 and {MAX_RETENTION_DAYS}")
    if notify_days is not None and not 0 < notify_days <= MAX_RETENTION_DAYS:
        raise InvalidInput("--notify-days must be a positive number of days")
    method = validate_method(method)
    if auto_approve and not (method == "standard" and set(classes) <= {"public", "internal"}):
        raise InvalidInput(
            "--auto-approve is only allowed for public/internal data with method standard; "
            "everything else needs a second person's approval"
        )
    if method == "cryptographic_erase":
        raise InvalidInput(
            "a policy cannot default to cryptographic_erase: only vault assets support it; "
            "use nist_800_88 (key destruction for vault assets, Clear for files)"
        )
    return classes, method


def _lock_policies(ctx: Context) -> None:
    """Serialise policy changes of the tenant: the coverage check below must see the others'."""
    ctx.session.execute(select(Tenant.id).where(Tenant.id == ctx.tenant_id).with_for_update())


def _check_no_overlap(
    ctx: Context, classes: Sequence[str], besides: RetentionPolicy | None
) -> None:
    for existing in _policies(ctx):
        if besides is not None and existing.id == besides.id:
            continue
        overlap = set(existing.classifications or []) & set(classes)
        if overlap:
            raise Conflict(
                f"classification {', '.join(sorted(overlap))} is already covered by policy "
                f"{existing.name!r}"
            )


def _policies(ctx: Context) -> list[RetentionPolicy]:
    return list(
        ctx.session.scalars(
            select(RetentionPolicy)
            .where(RetentionPolicy.tenant_id == ctx.tenant_id)
            .order_by(RetentionPolicy.name)
        ).all()
    )


def _apply_to_assets(ctx: Context, policy: RetentionPolicy) -> int:
    rows = ctx.session.scalars(
        select(Asset).where(
            Asset.tenant_id == ctx.tenant_id,
            Asset.status == "active",
            Asset.policy_explicit == False,  # noqa: E712
            col(Asset.classification).in_(policy.classifications),
        )
    ).all()
    for asset in rows:
        apply_policy(asset, policy)
    ctx.session.flush()
    return len(rows)


def list_policies(ctx: Context) -> list[RetentionPolicy]:
    authorize(ctx, permissions.POLICY_READ)
    return _policies(ctx)


def show_policy(ctx: Context, ref: str) -> RetentionPolicy:
    """One policy, for a member (``get_policy`` is the unchecked lookup other services use)."""
    authorize(ctx, permissions.POLICY_READ)
    return get_policy(ctx, ref)


def get_policy(ctx: Context, ref: str) -> RetentionPolicy:
    return resolve(
        ctx.session, RetentionPolicy, ref, what="policy", tenant_id=ctx.tenant_id, name_attr="name"
    )


def policy_for_classification(ctx: Context, classification: str) -> RetentionPolicy | None:
    for policy in _policies(ctx):
        if classification in (policy.classifications or []):
            return policy
    return None


def expiry_of(
    created_at: datetime, retention_days: int, notify_days: int | None
) -> tuple[datetime, datetime | None]:
    """(expires_at, notify_at) of an asset created at ``created_at`` under such a policy."""
    expires = created_at + timedelta(days=retention_days)
    notify = expires - timedelta(days=notify_days) if notify_days else None
    return expires, notify


def apply_policy(asset: Asset, policy: RetentionPolicy | None) -> None:
    """Set the asset's effective policy and its derived dates."""
    if policy is None:
        asset.policy_id, asset.expires_at, asset.notify_at = None, None, None
        return
    asset.policy_id = policy.id
    asset.expires_at, asset.notify_at = expiry_of(
        asset.created_at, policy.retention_days, policy.notify_days
    )


# ------------------------------------------------------------------ changes


def _erasable(asset: Asset, expires: datetime | None, auto_delete: bool, now: datetime) -> bool:
    """Whether the next sweep would erase this asset (expired, auto-delete, not held)."""
    return auto_delete and expires is not None and expires <= now and not asset.legal_hold


def _brief(asset: Asset, expires: datetime | None) -> dict[str, Any]:
    return {"id": asset.id, "name": asset.name, "expires_at": expires}


def update_policy(
    ctx: Context,
    ref: str,
    *,
    classifications: Sequence[str] | None = None,
    retention_days: int | None = None,
    auto_delete: bool | None = None,
    archive_before_delete: bool | None = None,
    notify_days: int | None = None,
    method: str | None = None,
    auto_approve: bool | None = None,
    yes: bool = False,
    dry_run: bool = False,
) -> dict[str, Any]:
    """Change a policy (None leaves a setting as it is; ``notify_days=0`` stops notices) and
    re-derive the dates of every active asset it governs or, by classification, now covers.

    Shortening retention or turning on auto-delete can make assets due at once, and the next
    cron sweep would erase them: such a change needs ``yes`` (``dry_run`` lists them and
    changes nothing). Returns the policy as it is (or would be) with what changed."""
    authorize(ctx, permissions.POLICY_WRITE)
    given = {
        "classifications": classifications,
        "retention_days": retention_days,
        "auto_delete": auto_delete,
        "archive_before_delete": archive_before_delete,
        "notify_days": notify_days,
        "method": method,
        "auto_approve": auto_approve,
    }
    if all(v is None for v in given.values()):
        raise InvalidInput("nothing to change: give at least one setting to update")
    _lock_policies(ctx)
    policy = get_policy(ctx, ref)
    before = policy.public()
    after: dict[str, Any] = {k: before[k] if v is None else v for k, v in given.items()}
    if notify_days == 0:
        after["notify_days"] = None
    after["classifications"], after["method"] = _checked_settings(
        after["classifications"],
        after["retention_days"],
        after["notify_days"],
        after["method"],
        after["auto_approve"],
    )
    _check_no_overlap(ctx, after["classifications"], besides=policy)
    changed = {k: [before[k], after[k]] for k in given if before[k] != after[k]}

    now = ctx.now()
    covered = set(after["classifications"])
    assets = ctx.session.scalars(
        select(Asset).where(
            col(Asset.tenant_id) == ctx.tenant_id,
            col(Asset.status) == "active",
            (col(Asset.policy_id) == policy.id)
            | (
                (col(Asset.policy_explicit) == False)  # noqa: E712
                & col(Asset.policy_id).is_(None)
                & col(Asset.classification).in_(sorted(covered))
            ),
        )
    ).all()
    plan: list[tuple[Asset, bool, datetime | None, datetime | None]] = []
    counts = {"recomputed": 0, "covered": 0, "released": 0}
    due_now: list[dict[str, Any]] = []
    for asset in assets:
        keeps = asset.policy_explicit or asset.classification in covered
        # the dates ``after`` gives, without touching the row yet
        expires, notify = (
            expiry_of(asset.created_at, after["retention_days"], after["notify_days"])
            if keeps
            else (None, None)
        )
        if not keeps:
            counts["released"] += 1
        elif asset.policy_id is None:
            counts["covered"] += 1
        elif (expires, notify) != (asset.expires_at, asset.notify_at):
            counts["recomputed"] += 1
        old_erasable = asset.policy_id is not None and _erasable(
            asset, asset.expires_at, policy.auto_delete, now
        )
        if keeps and _erasable(asset, expires, after["auto_delete"], now) and not old_erasable:
            due_now.append(_brief(asset, expires))
        plan.append((asset, keeps, expires, notify))
    if due_now and not (yes or dry_run):
        raise InvalidInput(
            f"this change makes {len(due_now)} asset(s) due now and the next sweep would erase "
            "them; pass --yes to confirm, or --dry-run to list them"
        )
    result = {
        **{**before, **after},
        "changed": changed,
        "assets": {**counts, "due_now": due_now},
        "dry_run": dry_run,
    }
    if dry_run or not changed:
        return result
    for key in given:
        setattr(policy, key, after[key])
    for asset, keeps, expires, notify in plan:
        asset.policy_id = policy.id if keeps else None
        asset.expires_at, asset.notify_at = expires, notify
    ctx.session.flush()
    ctx.audit(
        "data.policy.update",
        target_type="retention_policy",
        target_id=policy.id,
        details={"changed": changed, **counts, "due_now": len(due_now)},
    )
    return result


def delete_policy(ctx: Context, ref: str, *, confirm: Confirm | None = None) -> RetentionPolicy:
    """Delete a policy that no asset refers to, active or erased (one made by mistake, say).

    A policy an asset is under, or was under when it was erased, is part of that asset's record
    (deletion certificates and retention reports name it); change it with ``update`` instead.
    Assets an update released no longer refer to it: their record is that update's audit event."""
    authorize(ctx, permissions.POLICY_WRITE)
    _lock_policies(ctx)
    policy = get_policy(ctx, ref)
    used = ctx.session.scalar(
        select(func.count())
        .select_from(Asset)
        .where(Asset.tenant_id == ctx.tenant_id, Asset.policy_id == policy.id)
    )
    if used:
        raise Conflict(
            f"policy {policy.name!r} governs {used} asset(s) and stays part of their record; "
            "change it with 'data policy update' instead"
        )
    ask(confirm)
    ctx.audit(
        "data.policy.delete",
        target_type="retention_policy",
        target_id=policy.id,
        details=policy.public(),
    )
    ctx.session.delete(policy)
    ctx.session.flush()
    return policy
