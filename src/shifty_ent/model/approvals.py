"""Which approvals count: an ``approve_deployment`` mission for one version and one alias,
settled ``approve``, and answered by someone other than the person who requested it.

Why here and not in :mod:`promotion`: ``rollback`` asks the same question ("was this version
approved for this alias?") and :mod:`aliases` must not import :mod:`promotion`.
"""

from __future__ import annotations

from sqlalchemy import exists, select
from sqlmodel import col

from shifty_ent.arcade import api as arcade_api
from shifty_ent.core.context import Context
from shifty_ent.core.identity import same_person
from shifty_ent.model.tables import AliasEvent, ModelVersion
from shifty_ent.model.versions import subject_ref


def requester(mission: arcade_api.MissionView) -> str | None:
    """Who asked for the approval: the person who opened the mission."""
    return mission.public().get("created_by")


def _alias_of(mission: arcade_api.MissionView) -> str | None:
    payload = mission.public().get("payload") or {}
    alias = payload.get("alias") if isinstance(payload, dict) else None
    return alias if isinstance(alias, str) else None


def approval_for(ctx: Context, version: ModelVersion, alias: str) -> arcade_api.MissionView | None:
    """The newest approval of ``version`` for ``alias`` that counts, if any.

    An approval answered by its own requester (possible in stores written before the arcade
    refused it) does not count: four eyes means two people.
    """
    found = None
    for mission in arcade_api.missions_for_subject(
        ctx, subject_ref(version.id), type="approve_deployment"
    ):
        if not (mission.settled and mission.settled_result == "approve"):
            continue
        if _alias_of(mission) != alias:
            continue
        asked = requester(mission)
        if any(same_person(asked, who) for who in arcade_api.answerers(ctx, mission.id)):
            continue
        found = mission
    return found


def promoted_before(ctx: Context, version: ModelVersion, alias: str) -> bool:
    """Whether ``promote`` (approved, or an admin's recorded override) ever moved ALIAS here."""
    return bool(
        ctx.session.scalar(
            select(
                exists().where(
                    col(AliasEvent.tenant_id) == ctx.tenant_id,
                    col(AliasEvent.model_id) == version.model_id,
                    col(AliasEvent.alias) == alias,
                    col(AliasEvent.action) == "promote",
                    col(AliasEvent.to_version_id) == version.id,
                )
            )
        )
    )


def approved_for(ctx: Context, version: ModelVersion, alias: str) -> bool:
    """A version a protected alias may be rolled back to."""
    return promoted_before(ctx, version, alias) or approval_for(ctx, version, alias) is not None
