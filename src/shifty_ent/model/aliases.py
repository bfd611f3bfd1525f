"""Aliases: the mutable pointers to versions, their history (set, promote, rollback) and their
policies (protected, metric gates).

Every alias move is an :class:`AliasEvent` (who, when, why, from which version) plus an audit
event; ``rollback`` derives the alias' previous version from that history. A protected alias
(``production`` unless an admin unprotects it) never moves by ``alias set``: only ``promote``
(an approval, see :mod:`promotion`) or ``rollback`` to a version approved for that alias.
"""

from __future__ import annotations

import re
import uuid
from collections.abc import Sequence
from typing import Any

from sqlalchemy import func, select, update
from sqlmodel import col

from shifty_ent.core.authz import authorize
from shifty_ent.core.context import Context
from shifty_ent.core.errors import Conflict, InvalidInput, NotFound, Refused
from shifty_ent.model import approvals, permissions
from shifty_ent.model.holds import sync_holds
from shifty_ent.model.tables import (
    AliasEvent,
    AliasPolicy,
    ModelAlias,
    ModelVersion,
    RegisteredModel,
)
from shifty_ent.model.versions import get_model, get_version

ALIAS_RE = re.compile(r"^[a-z][a-z0-9_-]{0,63}$")
PRODUCTION = "production"
PROTECTED_BY_DEFAULT = frozenset({PRODUCTION})


def validate_alias(alias: str) -> str:
    alias = (alias or "").strip()
    if not ALIAS_RE.match(alias) or alias == "latest":
        raise InvalidInput(
            f"alias {alias!r} must be lowercase letters, digits, _ or - (and not 'latest')"
        )
    return alias


def _history(ctx: Context, model_id: uuid.UUID, alias: str | None = None) -> list[AliasEvent]:
    stmt = select(AliasEvent).where(
        col(AliasEvent.tenant_id) == ctx.tenant_id, col(AliasEvent.model_id) == model_id
    )
    if alias is not None:
        stmt = stmt.where(col(AliasEvent.alias) == alias)
    return list(ctx.session.scalars(stmt.order_by(col(AliasEvent.seq))).all())


def alias_history(ctx: Context, name: str, alias: str | None = None) -> list[AliasEvent]:
    authorize(ctx, permissions.READ)
    return _history(ctx, get_model(ctx, name).id, alias)


def move_alias(
    ctx: Context,
    version: ModelVersion,
    alias: str,
    *,
    action: str,
    reason: str | None = None,
    mission_id: uuid.UUID | None = None,
    override: bool = False,
) -> AliasEvent:
    """Point ``alias`` at ``version`` and record the move (caller checks roles and approvals)."""
    alias = validate_alias(alias)
    # lock the model row first: concurrent moves of one model's aliases serialise here
    ctx.session.execute(
        update(RegisteredModel)
        .where(col(RegisteredModel.id) == version.model_id)
        .values(latest_version=RegisteredModel.latest_version)
    )
    current = ctx.session.get(ModelAlias, (ctx.tenant_id, version.model_id, alias))
    from_version: int | None = None
    if current is not None:
        prev = ctx.session.get(ModelVersion, current.version_id)
        from_version = prev.version if prev else None
        current.version_id = version.id
        current.updated_at = ctx.now()
        current.updated_by = ctx.actor
    else:
        ctx.session.add(
            ModelAlias(
                tenant_id=ctx.tenant_id,
                model_id=version.model_id,
                alias=alias,
                version_id=version.id,
                updated_at=ctx.now(),
                updated_by=ctx.actor,
            )
        )
    seq = (
        ctx.session.scalar(
            select(func.max(col(AliasEvent.seq))).where(
                col(AliasEvent.model_id) == version.model_id
            )
        )
        or 0
    ) + 1
    event = AliasEvent(
        tenant_id=ctx.tenant_id,
        model_id=version.model_id,
        seq=seq,
        alias=alias,
        action=action,
        from_version=from_version,
        to_version=version.version,
        to_version_id=version.id,
        actor=ctx.actor,
        reason=reason,
        mission_id=mission_id,
        override=override,
        at=ctx.now(),
    )
    ctx.session.add(event)
    ctx.session.flush()
    ctx.audit(
        f"model.alias.{action}",
        target_type="model_version",
        target_id=version.id,
        details={
            "name": version.name,
            "alias": alias,
            "from_version": from_version,
            "to_version": version.version,
            "reason": reason,
            "mission_id": str(mission_id) if mission_id else None,
            "override": override,
        },
    )
    sync_holds(ctx)  # the version now pointed at is held from sweeps; the one left, maybe not
    return event


def policy_of(ctx: Context, model_id: uuid.UUID, alias: str) -> AliasPolicy | None:
    return ctx.session.get(AliasPolicy, (ctx.tenant_id, model_id, alias))


def is_protected(ctx: Context, model_id: uuid.UUID, alias: str) -> bool:
    policy = policy_of(ctx, model_id, alias)
    return policy.protected if policy is not None else alias in PROTECTED_BY_DEFAULT


def set_alias(ctx: Context, name: str, alias: str, version: int | str) -> AliasEvent:
    """Point ALIAS of NAME at VERSION (operator or admin); never a protected alias."""
    authorize(ctx, permissions.ALIAS_SET)
    alias = validate_alias(alias)
    target = get_version(ctx, f"{name}:{version}" if str(version).isdigit() else str(version))
    if target.name != name:
        raise InvalidInput(f"version {version} does not belong to model {name}")
    if is_protected(ctx, target.model_id, alias):
        raise Refused(
            f"alias {alias!r} of {name} is protected: it moves only through 'model promote' "
            "(an approval) or 'model rollback'"
        )
    refuse_failed_gates(ctx, target, alias)
    return move_alias(ctx, target, alias, action="set")


def refuse_failed_gates(ctx: Context, version: ModelVersion, alias: str) -> list[Any]:
    """The alias' gate results for ``version``; Refused naming each gate it does not meet."""
    from shifty_ent.model import gates as gate_rules

    policy = policy_of(ctx, version.model_id, alias)
    results = gate_rules.check(ctx, version, policy.gates if policy else [])
    failed = [r for r in results if not r.passed]
    if failed:
        raise Refused(
            f"{version.ref} does not meet the gates of {alias!r}: "
            + "; ".join(f"{gate_rules.describe(r.gate)}: {r.reason}" for r in failed),
            gates=[r.public() for r in results],
        )
    return results


def _save_policy(
    ctx: Context,
    model: RegisteredModel,
    alias: str,
    *,
    protected: bool | None = None,
    gates: list[dict[str, Any]] | None = None,
) -> AliasPolicy:
    # the model row lock: policy changes and alias moves of one model serialise
    ctx.session.execute(
        update(RegisteredModel)
        .where(col(RegisteredModel.id) == model.id)
        .values(latest_version=RegisteredModel.latest_version)
    )
    policy = policy_of(ctx, model.id, alias)
    if policy is None:
        policy = AliasPolicy(
            tenant_id=ctx.tenant_id,
            model_id=model.id,
            alias=alias,
            protected=alias in PROTECTED_BY_DEFAULT,
            gates=[],
            updated_at=ctx.now(),
            updated_by=ctx.actor,
        )
    if protected is not None:
        policy.protected = protected
    if gates is not None:
        policy.gates = gates
    policy.updated_at = ctx.now()
    policy.updated_by = ctx.actor
    ctx.session.add(policy)
    ctx.session.flush()
    return policy


def protect(ctx: Context, name: str, alias: str, *, protected: bool) -> dict[str, Any]:
    """Protect ALIAS of NAME (or lift it) (admin); recorded in the audit chain."""
    authorize(ctx, permissions.ALIAS_POLICY)
    alias = validate_alias(alias)
    model = get_model(ctx, name)
    was = is_protected(ctx, model.id, alias)
    policy = _save_policy(ctx, model, alias, protected=protected)
    ctx.audit(
        "model.alias.protect" if protected else "model.alias.unprotect",
        target_type="model",
        target_id=model.id,
        details={"name": name, "alias": alias, "was_protected": was, "protected": protected},
    )
    return policy_row(ctx, model, policy.alias, policy)


def set_gates(
    ctx: Context,
    name: str,
    alias: str,
    *,
    requires: Sequence[str],
    dataset: str | None,
    clear: bool = False,
) -> dict[str, Any]:
    """Replace ALIAS' gates on DATASET with REQUIRES (``--clear``: drop them; without
    ``--dataset``, every gate) (admin); recorded in the audit chain."""
    from shifty_ent.data import api as data_api
    from shifty_ent.model import gates as gate_rules

    authorize(ctx, permissions.ALIAS_POLICY)
    alias = validate_alias(alias)
    if clear == bool(requires):
        raise InvalidInput("give --require METRIC>=VALUE (with --dataset) or --clear")
    parsed = [gate_rules.parse_require(r) for r in requires]
    if parsed and not dataset:
        raise InvalidInput("--require needs --dataset: the evaluation dataset the gate reads")
    model = get_model(ctx, name)
    asset = data_api.get_asset(ctx, dataset) if dataset else None
    existing = policy_of(ctx, model.id, alias)
    current = list(existing.gates or []) if existing is not None else []
    keep = [g for g in current if asset is not None and g["dataset_id"] != str(asset.id)]
    added = [
        {
            "metric": metric,
            "op": op,
            "threshold": threshold,
            "dataset_id": str(asset.id),
            "dataset": asset.name,
        }
        for metric, op, threshold in parsed
        if asset is not None
    ]
    gates = keep + added
    if len(gates) > gate_rules.MAX_GATES:
        raise InvalidInput(f"an alias carries at most {gate_rules.MAX_GATES} gates")
    policy = _save_policy(ctx, model, alias, gates=gates)
    ctx.audit(
        "model.alias.gate",
        target_type="model",
        target_id=model.id,
        details={
            "name": name,
            "alias": alias,
            "dataset_id": str(asset.id) if asset else None,
            "gates": [gate_rules.describe(g) + f" on {g['dataset']}" for g in gates],
            "removed": len(current) - len(keep),
        },
    )
    return policy_row(ctx, model, alias, policy)


def policy_row(
    ctx: Context, model: RegisteredModel, alias: str, policy: AliasPolicy | None
) -> dict[str, Any]:
    from shifty_ent.model import gates as gate_rules

    current = ctx.session.get(ModelAlias, (ctx.tenant_id, model.id, alias))
    version = ctx.session.get(ModelVersion, current.version_id) if current else None
    gates = list(policy.gates or []) if policy else []
    return {
        "name": model.name,
        "alias": alias,
        "version": version.version if version else None,
        "version_id": version.id if version else None,
        "protected": policy.protected if policy else alias in PROTECTED_BY_DEFAULT,
        "gates": [f"{gate_rules.describe(g)} on {g['dataset']}" for g in gates],
        "gate_rules": gates,
        "updated_at": current.updated_at if current else None,
        "updated_by": current.updated_by if current else None,
    }


def list_aliases(ctx: Context, name: str) -> list[dict[str, Any]]:
    """Every alias of NAME that points somewhere or carries a policy, with both (any role)."""
    authorize(ctx, permissions.READ)
    model = get_model(ctx, name)
    pointed = ctx.session.scalars(
        select(col(ModelAlias.alias)).where(
            col(ModelAlias.tenant_id) == ctx.tenant_id, col(ModelAlias.model_id) == model.id
        )
    ).all()
    policies = {
        p.alias: p
        for p in ctx.session.scalars(
            select(AliasPolicy).where(
                col(AliasPolicy.tenant_id) == ctx.tenant_id, col(AliasPolicy.model_id) == model.id
            )
        ).all()
    }
    names = sorted({*pointed, *policies, *PROTECTED_BY_DEFAULT})
    return [policy_row(ctx, model, alias, policies.get(alias)) for alias in names]


def previous_versions(events: Sequence[AliasEvent]) -> list[int]:
    """The alias' stack of versions: sets push, rollbacks pop back to their target."""
    stack: list[int] = []
    for ev in events:
        if ev.action == "rollback" and ev.to_version in stack:
            while stack and stack[-1] != ev.to_version:
                stack.pop()
        elif not stack or stack[-1] != ev.to_version:
            stack.append(ev.to_version)
    return stack


def rollback(
    ctx: Context,
    name: str,
    *,
    reason: str | None = None,
    to: int | None = None,
    alias: str = PRODUCTION,
) -> AliasEvent:
    """Move ALIAS (production) back to the previous version, or to ``to`` (operator or admin).

    Who and when are always recorded; the reason when given (docs/cli-contract.md shows no
    ``--reason``, so scripts written against it keep working). An empty reason is a mistake.
    """
    authorize(ctx, permissions.ROLLBACK)
    alias = validate_alias(alias)
    if reason is not None:
        reason = reason.strip()
        if not reason:
            raise InvalidInput("--reason must not be empty (leave it out to record none)")
    model = get_model(ctx, name)
    current = ctx.session.get(ModelAlias, (ctx.tenant_id, model.id, alias))
    if current is None:
        raise NotFound(f"model {name} has no {alias!r} alias to roll back")
    stack = previous_versions(_history(ctx, model.id, alias))
    if to is None:
        if len(stack) < 2:
            raise Conflict(f"alias {alias!r} of {name} has no earlier version to roll back to")
        target_number = stack[-2]
    else:
        target_number = to
    target = get_version(ctx, f"{name}:{target_number}")
    if target.id == current.version_id:
        raise Conflict(f"alias {alias!r} of {name} already points at version {target.version}")
    if is_protected(ctx, model.id, alias) and not approvals.approved_for(ctx, target, alias):
        raise Refused(
            f"alias {alias!r} of {name} is protected: version {target.version} was never "
            f"approved for it, so it cannot be rolled back to"
        )
    return move_alias(ctx, target, alias, action="rollback", reason=reason)
