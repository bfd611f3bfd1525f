"""Aliases: the mutable pointers to versions, and their history (set, promote, rollback).

Every alias move is an :class:`AliasEvent` (who, when, why, from which version) plus an audit
event; ``rollback`` derives the alias' previous version from that history.
"""

from __future__ import annotations

import re
import uuid
from collections.abc import Sequence

from sqlalchemy import func, select, update
from sqlmodel import col

from shifty_ent.core.authz import authorize
from shifty_ent.core.context import Context
from shifty_ent.core.errors import Conflict, InvalidInput, NotFound
from shifty_ent.model import permissions
from shifty_ent.model.holds import sync_holds
from shifty_ent.model.tables import AliasEvent, ModelAlias, ModelVersion, RegisteredModel
from shifty_ent.model.versions import get_model, get_version

ALIAS_RE = re.compile(r"^[a-z][a-z0-9_-]{0,63}$")
PRODUCTION = "production"


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


def set_alias(ctx: Context, name: str, alias: str, version: int | str) -> AliasEvent:
    """Point ALIAS of NAME at VERSION (operator or admin)."""
    authorize(ctx, permissions.ALIAS_SET)
    target = get_version(ctx, f"{name}:{version}" if str(version).isdigit() else str(version))
    if target.name != name:
        raise InvalidInput(f"version {version} does not belong to model {name}")
    return move_alias(ctx, target, alias, action="set")


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
    return move_alias(ctx, target, alias, action="rollback", reason=reason)
