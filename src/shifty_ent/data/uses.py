"""Implicit legal holds: assets another group uses right now.

A model version that an alias or a live deployment points at must not be swept or erased under
it, whatever its retention says. The model group tells this module, after each change of what it
uses, the full set of its assets in use and why (:func:`set_uses`); the sweep's due query, the
deletion request and the executor then skip or refuse those assets (:func:`in_use`,
:func:`refuse_if_in_use`), and ``data asset show`` lists the holds. Unlike an explicit hold, no
person releases these: they end when nothing points at the asset any more.
"""

from __future__ import annotations

import uuid
from collections.abc import Mapping
from typing import Any

from sqlalchemy import and_, delete, exists, select
from sqlmodel import col

from shifty_ent.core.context import Context
from shifty_ent.core.errors import Refused
from shifty_ent.data.tables import Asset, AssetUse


def in_use() -> Any:
    """SQL: the asset of the enclosing query has an implicit hold."""
    return exists().where(
        and_(col(AssetUse.asset_id) == col(Asset.id), col(AssetUse.tenant_id) == Asset.tenant_id)
    )


def uses_of(ctx: Context, asset_id: uuid.UUID) -> list[AssetUse]:
    return list(
        ctx.session.scalars(
            select(AssetUse)
            .where(col(AssetUse.tenant_id) == ctx.tenant_id, col(AssetUse.asset_id) == asset_id)
            .order_by(col(AssetUse.scope))
        ).all()
    )


def refuse_if_in_use(ctx: Context, asset: Asset) -> None:
    """Refuse (exit 4, one line) to erase an asset something still uses."""
    held = uses_of(ctx, asset.id)
    if held:
        why = "; ".join(u.reason for u in held)
        raise Refused(f"asset {asset.name!r} is in use ({why}); it is held until nothing uses it")


def set_uses(ctx: Context, scope: str, uses: Mapping[uuid.UUID, str]) -> dict[str, list[str]]:
    """Replace the acting tenant's holds of ``scope`` with ``uses`` (asset id -> reason).

    The caller's own command was authorized (moving an alias, deploying); holding data is the
    safe direction, so no extra role is needed. Placed and ended holds are audited.
    """
    current = {
        u.asset_id: u
        for u in ctx.session.scalars(
            select(AssetUse).where(
                col(AssetUse.tenant_id) == ctx.tenant_id, col(AssetUse.scope) == scope
            )
        ).all()
    }
    placed, ended = [], []
    for asset_id, reason in uses.items():
        row = current.get(asset_id)
        if row is None:
            ctx.session.add(
                AssetUse(
                    tenant_id=ctx.tenant_id,
                    asset_id=asset_id,
                    scope=scope,
                    reason=reason,
                    since=ctx.now(),
                )
            )
            placed.append(asset_id)
        elif row.reason != reason:
            row.reason = reason
            ctx.session.add(row)
    gone = [asset_id for asset_id in current if asset_id not in uses]
    if gone:
        ctx.session.execute(
            delete(AssetUse).where(
                col(AssetUse.tenant_id) == ctx.tenant_id,
                col(AssetUse.scope) == scope,
                col(AssetUse.asset_id).in_(gone),
            )
        )
        ended = gone
    ctx.session.flush()
    for asset_id in placed:
        ctx.audit(
            "data.asset.in_use",
            target_type="asset",
            target_id=asset_id,
            details={"scope": scope, "reason": uses[asset_id]},
        )
    for asset_id in ended:
        ctx.audit(
            "data.asset.unused",
            target_type="asset",
            target_id=asset_id,
            details={"scope": scope, "reason": current[asset_id].reason},
        )
    return {"placed": [str(a) for a in placed], "ended": [str(a) for a in ended]}
