"""The model group's public API: the only module other groups and reports import from it.

Other groups see a registered version as a frozen :class:`VersionView` (the pinned source and
where its files are), and name it in missions with :func:`subject_ref`.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass

from shifty_ent.core.authz import authorize
from shifty_ent.core.context import Context
from shifty_ent.core.views import view_of
from shifty_ent.model import permissions, versions
from shifty_ent.model.tables import ModelVersion
from shifty_ent.model.versions import subject_ref


@dataclass(frozen=True)
class VersionView:
    """What other groups may know of a model version."""

    id: uuid.UUID
    name: str
    version: int
    source: str
    source_id: str
    pinned_revision: str | None
    asset_id: uuid.UUID | None

    @property
    def ref(self) -> str:
        return f"{self.name}:{self.version}"

    @classmethod
    def of(cls, version: ModelVersion) -> VersionView:
        return view_of(cls, version)


def get_version(ctx: Context, ref: str) -> VersionView:
    """``NAME``, ``NAME:N``, ``NAME@ALIAS`` or an id, for a reader of the acting tenant."""
    authorize(ctx, permissions.READ)
    return VersionView.of(versions.get_version(ctx, ref))


__all__ = ["VersionView", "get_version", "subject_ref"]
