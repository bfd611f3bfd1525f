"""Versions in use are held: their files are neither swept nor erased while something points at
them.

"In use" means an alias points at the version, or a deployment that is not stopped serves it;
an adapter's base checkpoint is in use with it. :func:`sync_holds` recomputes that set from the
registry and hands it to the data group as implicit holds (``data asset show`` lists them), so it
is called after every change of an alias or a deployment; recomputing everything keeps it right
whatever the order of changes.
"""

from __future__ import annotations

import uuid

from sqlalchemy import select
from sqlmodel import col

from shifty_ent.core.context import Context
from shifty_ent.data import api as data_api
from shifty_ent.model.tables import Deployment, ModelAlias, ModelVersion

SCOPE = "model"


def _base_of(ctx: Context, version: ModelVersion) -> ModelVersion | None:
    base_id = (version.lineage or {}).get("adapter_of")
    if not base_id:
        return None
    base = ctx.session.get(ModelVersion, uuid.UUID(str(base_id)))
    return base if base is not None and base.tenant_id == ctx.tenant_id else None


def versions_in_use(ctx: Context) -> dict[uuid.UUID, list[str]]:
    """Version id -> why it is in use (aliases and live deployments of the acting tenant)."""
    why: dict[uuid.UUID, list[str]] = {}
    for version_id, alias in ctx.session.execute(
        select(col(ModelAlias.version_id), col(ModelAlias.alias)).where(
            col(ModelAlias.tenant_id) == ctx.tenant_id
        )
    ):
        why.setdefault(version_id, []).append(f"alias {alias}")
    for dep_id, version_id in ctx.session.execute(
        select(col(Deployment.id), col(Deployment.version_id)).where(
            col(Deployment.tenant_id) == ctx.tenant_id, col(Deployment.status) != "stopped"
        )
    ):
        why.setdefault(version_id, []).append(f"deployment {str(dep_id)[:8]}")
    return why


def sync_holds(ctx: Context) -> dict[str, list[str]]:
    """Hold exactly the files of the versions in use (and their adapters' bases)."""
    uses: dict[uuid.UUID, list[str]] = {}
    for version_id, reasons in versions_in_use(ctx).items():
        version = ctx.session.get(ModelVersion, version_id)
        if version is None:
            continue
        text = f"model {version.ref}: {', '.join(sorted(reasons))}"
        if version.asset_id is not None:
            uses.setdefault(version.asset_id, []).append(text)
        base = _base_of(ctx, version)
        if base is not None and base.asset_id is not None:
            uses.setdefault(base.asset_id, []).append(f"base of {text}")
    return data_api.set_uses(ctx, SCOPE, {k: "; ".join(v) for k, v in uses.items()})
