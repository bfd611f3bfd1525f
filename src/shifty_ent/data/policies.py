"""Retention policies: how long each classification is kept and what happens at the end.

A classification is covered by at most one policy of a tenant, so an asset's effective policy
(explicit, or the one of its classification) is never ambiguous. Creating a policy re-derives the
expiry of the active assets it now covers.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime, timedelta

from sqlmodel import select

from shifty_ent.core.context import Context
from shifty_ent.core.errors import Conflict, InvalidInput
from shifty_ent.core.ids import resolve
from shifty_ent.core.tenancy import validate_name
from shifty_ent.data.tables import CLASSIFICATIONS, METHODS, Asset, RetentionPolicy

POLICY_ROLES = ("operator", "admin")
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
    ctx.require_role(*POLICY_ROLES)
    name = validate_name(name, "policy name")
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
            "use nist_800_88 (Purge by key destruction for vault assets, Clear otherwise)"
        )
    if ctx.session.scalars(
        select(RetentionPolicy).where(
            RetentionPolicy.tenant_id == ctx.tenant_id, RetentionPolicy.name == name
        )
    ).first():
        raise Conflict(f"policy {name!r} already exists")
    for existing in _policies(ctx):
        overlap = set(existing.classifications or []) & set(classes)
        if overlap:
            raise Conflict(
                f"classification {', '.join(sorted(overlap))} is already covered by policy "
                f"{existing.name!r}"
            )
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
            Asset.classification.in_(policy.classifications),  # type: ignore[attr-defined]
        )
    ).all()
    for asset in rows:
        apply_policy(asset, policy)
    ctx.session.flush()
    return len(rows)


def list_policies(ctx: Context) -> list[RetentionPolicy]:
    return _policies(ctx)


def get_policy(ctx: Context, ref: str) -> RetentionPolicy:
    return resolve(
        ctx.session, RetentionPolicy, ref, what="policy", tenant_id=ctx.tenant_id, name_attr="name"
    )


def policy_for_classification(ctx: Context, classification: str) -> RetentionPolicy | None:
    for policy in _policies(ctx):
        if classification in (policy.classifications or []):
            return policy
    return None


def expiry_of(created_at: datetime, policy: RetentionPolicy) -> tuple[datetime, datetime | None]:
    """(expires_at, notify_at) of an asset created at ``created_at`` under ``policy``."""
    expires = created_at + timedelta(days=policy.retention_days)
    notify = expires - timedelta(days=policy.notify_days) if policy.notify_days else None
    return expires, notify


def apply_policy(asset: Asset, policy: RetentionPolicy | None) -> None:
    """Set the asset's effective policy and its derived dates."""
    if policy is None:
        asset.policy_id, asset.expires_at, asset.notify_at = None, None, None
        return
    asset.policy_id = policy.id
    asset.expires_at, asset.notify_at = expiry_of(asset.created_at, policy)
