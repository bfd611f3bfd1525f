"""The only places the model group calls other groups: data assets, GPU instances, missions.

Each function imports its group lazily and names exactly one service function of it, so a change
of those groups touches this file only.
"""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from typing import Any

from shifty_ent.core.context import Context

# data ---------------------------------------------------------------------------------------


def register_asset(
    ctx: Context,
    *,
    name: str,
    type: str,
    classification: str,
    location: str,
    size_bytes: int | None,
    sha256: str | None,
) -> Any:
    from shifty_ent.data.assets import register_asset as _register

    return _register(
        ctx,
        name=name,
        type=type,
        classification=classification,
        location=location,
        size_bytes=size_bytes,
        sha256=sha256,
    )


def get_asset(ctx: Context, ref: str) -> Any:
    from shifty_ent.data.assets import get_asset as _get

    return _get(ctx, ref)


# gpu ----------------------------------------------------------------------------------------


def get_instance(ctx: Context, ref: str) -> Any:
    from shifty_ent.gpu.service import get_instance as _get

    return _get(ctx, ref)


def provision(ctx: Context, **kwargs: Any) -> Any:
    from shifty_ent.gpu.service import provision as _provision

    return _provision(ctx, **kwargs)


def check_health(ctx: Context, instance: Any) -> dict[str, Any]:
    from shifty_ent.gpu.service import check_health as _check

    return dict(_check(ctx, instance) or {})


# arcade -------------------------------------------------------------------------------------


def create_mission(
    ctx: Context,
    *,
    type: str,
    payload: dict[str, Any],
    subject_ref: str,
    gold: str | None = None,
    overlap: int | None = None,
) -> Any:
    from shifty_ent.arcade.missions import create_mission as _create

    return _create(
        ctx, type=type, payload=payload, gold=gold, overlap=overlap, subject_ref=subject_ref
    )


def missions_for_subject(ctx: Context, subject_ref: str, type: str | None = None) -> Sequence[Any]:
    from shifty_ent.arcade.missions import missions_for_subject as _for

    return list(_for(ctx, subject_ref, type=type))


def subject_ref(version_id: uuid.UUID) -> str:
    """How a model version is named in missions' ``subject_ref``."""
    return f"model_version:{version_id}"
