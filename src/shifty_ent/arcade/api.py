"""The arcade group's public API: the only module other groups and reports import from it.

Other groups open missions about their own subjects (a model version to approve, outputs to
review) and read how they settled, as frozen :class:`MissionView` snapshots. Reports that
aggregate the arcade in SQL read the tables re-exported at the bottom (read-only). The dataset
contract (row shape, prompt template) is re-exported so that training and evaluation render the
rows ``arcade dataset create`` writes exactly as the arcade defines them.
"""

from __future__ import annotations

import uuid
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from shifty_ent.arcade.dataset_format import (
    CARD_FILE,
    DATA_FILE,
    DEFAULT_TEMPLATE,
    classification_example,
    completion,
    render_prompt,
    validate_template,
)
from shifty_ent.arcade.tables import Answer, Dataset, Mission, Profile
from shifty_ent.core.context import Context
from shifty_ent.core.views import view_of


@dataclass(frozen=True)
class MissionView:
    """A mission as another group sees it; ``public()`` is the mission object of the contract."""

    id: uuid.UUID
    type: str
    status: str
    subject_ref: str | None
    settled_result: str | None
    contract: Mapping[str, Any]

    @property
    def settled(self) -> bool:
        return self.status == "settled"

    def public(self) -> dict[str, Any]:
        return dict(self.contract)

    @classmethod
    def of(cls, mission: Mission) -> MissionView:
        return view_of(cls, mission, contract=mission.public())


def create_mission(
    ctx: Context,
    *,
    type: str,
    payload: dict[str, Any],
    subject_ref: str,
    gold: str | None = None,
    overlap: int | None = None,
) -> MissionView:
    """Open a mission tied to ``subject_ref`` (role-checked and audited by the arcade)."""
    from shifty_ent.arcade.missions import create_mission as _create

    return MissionView.of(
        _create(
            ctx, type=type, payload=payload, gold=gold, overlap=overlap, subject_ref=subject_ref
        )
    )


def missions_for_subject(
    ctx: Context, subject_ref: str, type: str | None = None
) -> list[MissionView]:
    """The acting tenant's missions about ``subject_ref``, oldest first."""
    from shifty_ent.arcade.missions import missions_for_subject as _for

    return [MissionView.of(m) for m in _for(ctx, subject_ref, type=type)]


def answerers(ctx: Context, mission_id: uuid.UUID) -> list[str]:
    """Who answered a mission of the acting tenant (names only, in answer order)."""
    from sqlalchemy import select
    from sqlmodel import col

    return list(
        ctx.session.scalars(
            select(col(Answer.username))
            .where(col(Answer.tenant_id) == ctx.tenant_id, col(Answer.mission_id) == mission_id)
            .order_by(col(Answer.completed_at))
        ).all()
    )


__all__ = [
    "CARD_FILE",
    "DATA_FILE",
    "DEFAULT_TEMPLATE",
    "Answer",
    "Dataset",
    "Mission",
    "MissionView",
    "Profile",
    "answerers",
    "classification_example",
    "completion",
    "create_mission",
    "missions_for_subject",
    "render_prompt",
    "validate_template",
]
