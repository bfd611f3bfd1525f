"""Promotion: an alias moves to a version once an ``approve_deployment`` mission approved it.

The approval is an arcade mission about the version (``subject_ref``), opened with the version's
metrics and evaluations; only an admin may override a missing approval, with a reason.
"""

from __future__ import annotations

from sqlalchemy import select
from sqlmodel import col

from shifty_ent.arcade import api as arcade_api
from shifty_ent.core.authz import authorize
from shifty_ent.core.context import Context
from shifty_ent.core.errors import InvalidInput, Refused
from shifty_ent.model import permissions
from shifty_ent.model.aliases import PRODUCTION, move_alias, validate_alias
from shifty_ent.model.tables import AliasEvent, Evaluation, ModelVersion
from shifty_ent.model.versions import get_version, subject_ref


def approval_for(ctx: Context, version: ModelVersion) -> arcade_api.MissionView | None:
    """A settled, approved ``approve_deployment`` mission for this version, if any."""
    for mission in arcade_api.missions_for_subject(
        ctx, subject_ref(version.id), type="approve_deployment"
    ):
        if mission.settled and mission.settled_result == "approve":
            return mission
    return None


def promote(
    ctx: Context,
    ref: str,
    alias: str,
    *,
    override: bool = False,
    reason: str | None = None,
) -> AliasEvent:
    """Point ALIAS at the version once an approve_deployment mission approved it.

    Operators and admins may promote an approved version; only an admin may ``--override`` the
    approval, and only with a ``--reason``. Both paths are audited with the mission or reason.
    """
    authorize(ctx, permissions.PROMOTE)
    if override:
        authorize(ctx, permissions.PROMOTE_OVERRIDE)
    alias = validate_alias(alias)
    version = get_version(ctx, ref)
    if override:
        reason = (reason or "").strip()
        if not reason:
            raise InvalidInput("--override needs --reason: an override records why")
        return move_alias(ctx, version, alias, action="promote", reason=reason, override=True)
    mission = approval_for(ctx, version)
    if mission is None:
        ctx.audit(
            "model.promote.refused",
            target_type="model_version",
            target_id=version.id,
            details={"name": version.name, "version": version.version, "alias": alias},
        )
        ctx.session.commit()  # the refusal stays on the record although the command fails
        raise Refused(
            f"{version.ref} has no approved approve_deployment mission: request one with "
            f"'model approval request {version.ref}' (or an admin passes --override --reason)"
        )
    return move_alias(ctx, version, alias, action="promote", reason=reason, mission_id=mission.id)


def request_approval(ctx: Context, ref: str, *, alias: str = PRODUCTION) -> arcade_api.MissionView:
    """Open an approve_deployment mission for a version, carrying its metrics (operator/admin)."""
    authorize(ctx, permissions.APPROVAL_REQUEST)
    version = get_version(ctx, ref)
    evals = ctx.session.scalars(
        select(Evaluation)
        .where(col(Evaluation.tenant_id) == ctx.tenant_id, col(Evaluation.version_id) == version.id)
        .order_by(col(Evaluation.created_at).desc())
        .limit(5)
    ).all()
    payload = {
        "model": version.name,
        "model_version_id": str(version.id),
        "version": version.version,
        "alias": validate_alias(alias),
        "source": f"{version.source}:{version.source_id}@{version.pinned_revision}",
        "metrics": dict(version.metrics or {}),
        "evaluations": [{"type": e.type, "method": e.method, "metrics": e.metrics} for e in evals],
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
