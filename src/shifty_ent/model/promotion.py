"""Promotion: an alias moves to a version once an ``approve_deployment`` mission approved it.

The approval is an arcade mission about the version (``subject_ref``) and the alias, opened with
the version's evaluations (each labelled ``measured`` or ``claimed``) and the alias' gates. Four
eyes: the person who requested it can neither answer it (the arcade refuses) nor promote on it.
An alias' metric gates must be met by measured evaluations, also on an admin's ``--override``
(which only stands in for a missing approval, with a reason).
"""

from __future__ import annotations

from sqlalchemy import select
from sqlmodel import col

from shifty_ent.arcade import api as arcade_api
from shifty_ent.core.authz import authorize
from shifty_ent.core.context import Context
from shifty_ent.core.errors import InvalidInput, Refused
from shifty_ent.core.identity import same_person
from shifty_ent.model import gates, permissions
from shifty_ent.model.aliases import (
    PRODUCTION,
    move_alias,
    policy_of,
    refuse_failed_gates,
    validate_alias,
)
from shifty_ent.model.approvals import approval_for, requester
from shifty_ent.model.tables import AliasEvent, Evaluation, ModelVersion
from shifty_ent.model.versions import get_version, subject_ref


def _refuse(
    ctx: Context, version: ModelVersion, alias: str, message: str, **details: object
) -> Refused:
    """Record the refusal in the audit chain (it stays although the command fails)."""
    ctx.audit(
        "model.promote.refused",
        target_type="model_version",
        target_id=version.id,
        details={
            "name": version.name,
            "version": version.version,
            "alias": alias,
            "reason": message,
            **details,
        },
    )
    ctx.session.commit()
    return Refused(message)


def promote(
    ctx: Context,
    ref: str,
    alias: str,
    *,
    override: bool = False,
    reason: str | None = None,
) -> AliasEvent:
    """Point ALIAS at the version once an approve_deployment mission approved it for ALIAS.

    Operators and admins may promote an approved version, but not on an approval they requested
    themselves; only an admin may ``--override`` the approval, and only with a ``--reason``.
    The alias' gates hold either way. Every path, refusals included, is audited.
    """
    authorize(ctx, permissions.PROMOTE)
    if override:
        authorize(ctx, permissions.PROMOTE_OVERRIDE)
    alias = validate_alias(alias)
    version = get_version(ctx, ref)
    mission = None
    if override:
        reason = (reason or "").strip()
        if not reason:
            raise InvalidInput("--override needs --reason: an override records why")
    else:
        mission = approval_for(ctx, version, alias)
        if mission is None:
            raise _refuse(
                ctx,
                version,
                alias,
                f"{version.ref} has no approved approve_deployment mission for {alias!r}: "
                f"request one with 'model approval request {version.ref} --alias {alias}' "
                "(or an admin passes --override --reason)",
            )
        asked = requester(mission)
        if same_person(asked, ctx.actor):
            raise _refuse(
                ctx,
                version,
                alias,
                f"four eyes: {ctx.actor} requested approval {str(mission.id)[:8]} and cannot "
                "promote on it; another operator or admin promotes",
                mission_id=str(mission.id),
            )
    try:
        refuse_failed_gates(ctx, version, alias)
    except Refused as refused:
        raise _refuse(ctx, version, alias, refused.message, **refused.details) from None
    return move_alias(
        ctx,
        version,
        alias,
        action="promote",
        reason=reason,
        mission_id=mission.id if mission else None,
        override=override,
    )


def request_approval(ctx: Context, ref: str, *, alias: str = PRODUCTION) -> arcade_api.MissionView:
    """Open an approve_deployment mission for a version and alias (operator/admin), carrying
    its evaluations (``claimed`` ones labelled so) and how it stands against the alias' gates.
    Someone other than the requester answers it."""
    authorize(ctx, permissions.APPROVAL_REQUEST)
    alias = validate_alias(alias)
    version = get_version(ctx, ref)
    evals = ctx.session.scalars(
        select(Evaluation)
        .where(col(Evaluation.tenant_id) == ctx.tenant_id, col(Evaluation.version_id) == version.id)
        .order_by(col(Evaluation.created_at).desc())
        .limit(5)
    ).all()
    policy = policy_of(ctx, version.model_id, alias)
    payload = {
        "model": version.name,
        "model_version_id": str(version.id),
        "version": version.version,
        "alias": alias,
        "source": f"{version.source}:{version.source_id}@{version.pinned_revision}",
        "metrics": dict(version.metrics or {}),
        "evaluations": [
            {
                "type": e.type,
                "method": e.method,
                "evidence": e.evidence,
                "dataset_id": str(e.dataset_id) if e.dataset_id else None,
                "metrics": e.metrics,
                "created_by": e.created_by,
            }
            for e in evals
        ],
        "meta": {
            "gates": [r.public() for r in gates.check(ctx, version, policy.gates if policy else [])]
        },
    }
    mission = arcade_api.create_mission(
        ctx, type="approve_deployment", payload=payload, subject_ref=subject_ref(version.id)
    )
    ctx.audit(
        "model.approval.request",
        target_type="model_version",
        target_id=version.id,
        details={"mission_id": str(mission.id), "alias": alias},
    )
    return mission
