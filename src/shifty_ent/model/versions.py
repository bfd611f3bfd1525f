"""Registered models and their versions: register (pin a source, store it), read them back.

A version is immutable once registered: its source, pin and metadata never change; aliases
(:mod:`shifty_ent.model.aliases`) are the mutable pointers.
"""

from __future__ import annotations

import json
import re
import uuid
from collections.abc import Sequence
from typing import Any

from sqlalchemy import select, update
from sqlalchemy.exc import IntegrityError
from sqlmodel import col

from shifty_ent.core.authz import authorize
from shifty_ent.core.context import Context
from shifty_ent.core.errors import InvalidInput, NotFound
from shifty_ent.core.ids import resolve as resolve_ref
from shifty_ent.core.storable import escape_unstorable, refuse_unstorable
from shifty_ent.data import api as data_api
from shifty_ent.model import permissions
from shifty_ent.model.pinning import pin_source
from shifty_ent.model.sources import Pin, ProgressFn
from shifty_ent.model.tables import SOURCES, ModelAlias, ModelVersion, RegisteredModel

NAME_RE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._/-]{0,127}$")
CLASSIFICATIONS = ("public", "internal", "confidential", "restricted", "pii", "phi")


def subject_ref(version_id: uuid.UUID) -> str:
    """How a model version is named in missions' ``subject_ref``."""
    return f"model_version:{version_id}"


def validate_model_name(name: str) -> str:
    name = (name or "").strip()
    if not NAME_RE.match(name) or name.isdigit():
        raise InvalidInput(
            f"model name {name!r} must be 1-128 characters: letters, digits, . _ / - "
            "(starting with a letter or digit, not all digits)"
        )
    if len(name) == 36 and name.count("-") == 4:
        raise InvalidInput(f"model name {name!r} looks like a UUID; choose a name")
    return name


def parse_generation_config(
    temperature: float | None, max_tokens: int | None, pairs: Sequence[str] = ()
) -> dict[str, Any]:
    """``--temperature``, ``--max-tokens`` and free ``KEY=VALUE`` pairs (JSON values allowed)."""
    cfg: dict[str, Any] = {}
    for pair in pairs:
        key, sep, raw = pair.partition("=")
        key = key.strip()
        if not sep or not key or not re.match(r"^[A-Za-z_][A-Za-z0-9_.-]{0,63}$", key):
            raise InvalidInput(f"--config {pair!r} must be KEY=VALUE")
        try:
            value: Any = json.loads(raw)
        except json.JSONDecodeError:
            value = raw
        cfg[key] = refuse_unstorable(value, f"--config {key}")
    if temperature is not None:
        if not 0.0 <= temperature <= 2.0:
            raise InvalidInput("--temperature must be between 0 and 2")
        cfg["temperature"] = temperature
    if max_tokens is not None:
        if max_tokens < 1:
            raise InvalidInput("--max-tokens must be at least 1")
        cfg["max_tokens"] = max_tokens
    return cfg


def register(
    ctx: Context,
    *,
    name: str,
    source: str,
    source_id: str,
    revision: str | None = None,
    temperature: float | None = None,
    max_tokens: int | None = None,
    config: Sequence[str] = (),
    description: str | None = None,
    classification: str = "internal",
    pull: bool = False,
    progress: ProgressFn | None = None,
) -> ModelVersion:
    """Pin ``source_id`` and store it as version n+1 of NAME (operator or admin); audited."""
    authorize(ctx, permissions.REGISTER)
    name = validate_model_name(name)
    source = (source or "").strip().lower()
    if source not in SOURCES:
        raise InvalidInput(f"--source must be one of {', '.join(SOURCES)}")
    if classification not in CLASSIFICATIONS:
        raise InvalidInput(f"--classification must be one of {', '.join(CLASSIFICATIONS)}")
    gen = parse_generation_config(temperature, max_tokens, config)
    # release the write lock while we talk to the Hub / Ollama / S3 or hash a checkpoint
    ctx.session.commit()
    pin = pin_source(ctx, source, source_id, revision=revision, pull=pull, progress=progress)
    return add_version(
        ctx,
        name=name,
        pin=pin,
        generation_config=gen,
        description=description,
        classification=classification,
    )


def add_version(
    ctx: Context,
    *,
    name: str,
    pin: Pin,
    generation_config: dict[str, Any] | None = None,
    lineage: dict[str, Any] | None = None,
    metrics: dict[str, Any] | None = None,
    description: str | None = None,
    classification: str = "internal",
) -> ModelVersion:
    """Store a pinned source as the next version of NAME (creating NAME on first use)."""
    model = _get_or_create_model(ctx, name, description)
    # the row lock of this UPDATE serialises concurrent registrations of the same NAME
    ctx.session.execute(
        update(RegisteredModel)
        .where(col(RegisteredModel.id) == model.id, col(RegisteredModel.tenant_id) == ctx.tenant_id)
        .values(latest_version=RegisteredModel.latest_version + 1)
    )
    number = ctx.session.scalar(
        select(col(RegisteredModel.latest_version)).where(col(RegisteredModel.id) == model.id)
    )
    version = ModelVersion(
        tenant_id=ctx.tenant_id,
        model_id=model.id,
        name=name,
        version=int(number or 1),
        source=pin.source,
        source_id=pin.source_id,
        pinned_revision=pin.pinned_revision,
        requested_revision=pin.requested_revision,
        source_meta=escape_unstorable(pin.meta),  # the source's own text (cards, licenses)
        generation_config=generation_config or {},
        lineage=lineage or {},
        metrics=metrics or {},
        created_at=ctx.now(),
        created_by=ctx.actor,
    )
    if pin.source == "custom":
        classification = derived_classification(ctx, classification, lineage or {})
        version.asset_id = _checkpoint_asset(ctx, name, version.version, pin, classification)
    ctx.session.add(version)
    ctx.session.flush()
    ctx.audit(
        "model.version.register",
        target_type="model_version",
        target_id=version.id,
        details={
            "name": name,
            "version": version.version,
            "source": pin.source,
            "source_id": pin.source_id,
            "pinned_revision": pin.pinned_revision,
            "asset_id": str(version.asset_id) if version.asset_id else None,
            "lineage": version.lineage,
        },
    )
    return version


def derived_classification(ctx: Context, given: str, lineage: dict[str, Any]) -> str:
    """A trained checkpoint is as sensitive as the strictest of what it was made from: the
    classification asked for, its training dataset's and its base checkpoint's."""
    found = [given]
    if lineage.get("dataset_id"):
        found.append(data_api.get_asset(ctx, str(lineage["dataset_id"])).classification)
    if lineage.get("base_model_id"):
        base = ctx.session.get(ModelVersion, uuid.UUID(str(lineage["base_model_id"])))
        if base is not None and base.tenant_id == ctx.tenant_id and base.asset_id is not None:
            found.append(data_api.get_asset(ctx, str(base.asset_id)).classification)
    return data_api.strictest_classification(*found)


def _checkpoint_asset(
    ctx: Context, name: str, number: int, pin: Pin, classification: str
) -> uuid.UUID:
    """The data asset of a checkpoint: the one of an earlier version with the same files at the
    same path while it is live (one asset per set of files, so retention acts once), else new."""
    earlier = ctx.session.scalars(
        select(col(ModelVersion.asset_id)).where(
            col(ModelVersion.tenant_id) == ctx.tenant_id,
            col(ModelVersion.source) == "custom",
            col(ModelVersion.source_id) == pin.source_id,
            col(ModelVersion.pinned_revision) == pin.pinned_revision,
            col(ModelVersion.asset_id).is_not(None),
        )
    ).first()
    if earlier is not None:
        asset = data_api.get_asset(ctx, str(earlier))
        if asset.active:
            return asset.id
    # the same path already is a live asset (new files written over an earlier version's):
    # one location is one asset, whose retention and erasure cover every version stored there
    here = data_api.live_asset_at(ctx, pin.source_id)
    if here is not None:
        return here.id
    asset = data_api.register_asset(
        ctx,
        name=f"model-checkpoint/{name}/v{number}",
        type="model_checkpoint",
        classification=classification,
        location=pin.source_id,
        size_bytes=pin.size_bytes,
        sha256=pin.pinned_revision.removeprefix("sha256:"),
    )
    return asset.id


def _get_or_create_model(ctx: Context, name: str, description: str | None) -> RegisteredModel:
    found = ctx.session.scalars(
        select(RegisteredModel).where(
            col(RegisteredModel.tenant_id) == ctx.tenant_id, col(RegisteredModel.name) == name
        )
    ).first()
    if found is not None:
        return found
    model = RegisteredModel(
        tenant_id=ctx.tenant_id,
        name=name,
        description=description,
        created_at=ctx.now(),
        created_by=ctx.actor,
    )
    try:
        with ctx.session.begin_nested():
            ctx.session.add(model)
    except IntegrityError:
        # another terminal created NAME between our SELECT and INSERT: use theirs
        found = ctx.session.scalars(
            select(RegisteredModel).where(
                col(RegisteredModel.tenant_id) == ctx.tenant_id, col(RegisteredModel.name) == name
            )
        ).first()
        if found is None:
            raise
        return found
    ctx.audit(
        "model.create", target_type="registered_model", target_id=model.id, details={"name": name}
    )
    return model


def get_model(ctx: Context, name: str) -> RegisteredModel:
    return resolve_ref(ctx.session, RegisteredModel, name, what="model", tenant_id=ctx.tenant_id)


def get_version(ctx: Context, ref: str) -> ModelVersion:
    """``NAME`` (latest), ``NAME:N``, ``NAME@ALIAS``, or a version id / unique id prefix."""
    ref = (ref or "").strip()
    if not ref:
        raise InvalidInput("a model version is required (NAME, NAME:N, NAME@ALIAS or an id)")
    base = select(ModelVersion).where(col(ModelVersion.tenant_id) == ctx.tenant_id)
    if "@" in ref:
        name, _, alias = ref.rpartition("@")
        model = get_model(ctx, name)
        row = ctx.session.scalars(
            base.join(
                ModelAlias,
                (col(ModelAlias.version_id) == col(ModelVersion.id))
                & (ModelAlias.tenant_id == ModelVersion.tenant_id),
            ).where(col(ModelAlias.model_id) == model.id, col(ModelAlias.alias) == alias)
        ).first()
        if row is None:
            raise NotFound(f"model {name} has no alias {alias!r}")
        return row
    name, sep, number = ref.rpartition(":")
    if sep and number.isdigit() and name:
        model = get_model(ctx, name)
        row = ctx.session.scalars(
            base.where(
                col(ModelVersion.model_id) == model.id, col(ModelVersion.version) == int(number)
            )
        ).first()
        if row is None:
            raise NotFound(f"model {name} has no version {number}")
        return row
    registered = ctx.session.scalars(
        select(RegisteredModel).where(
            col(RegisteredModel.tenant_id) == ctx.tenant_id, col(RegisteredModel.name) == ref
        )
    ).first()
    if registered is not None:
        row = ctx.session.scalars(
            base.where(col(ModelVersion.model_id) == registered.id)
            .order_by(col(ModelVersion.version).desc())
            .limit(1)
        ).first()
        if row is None:
            raise NotFound(f"model {ref} has no versions")
        return row
    return resolve_ref(
        ctx.session,
        ModelVersion,
        ref,
        what="model version",
        tenant_id=ctx.tenant_id,
        name_attr=None,
    )


def aliases_of(
    ctx: Context, version_ids: Sequence[uuid.UUID] | None = None
) -> dict[uuid.UUID, list[str]]:
    stmt = select(col(ModelAlias.version_id), col(ModelAlias.alias)).where(
        col(ModelAlias.tenant_id) == ctx.tenant_id
    )
    if version_ids is not None:
        stmt = stmt.where(col(ModelAlias.version_id).in_(list(version_ids)))
    out: dict[uuid.UUID, list[str]] = {}
    for vid, alias in ctx.session.execute(stmt):
        out.setdefault(vid, []).append(alias)
    return out


def show_version(ctx: Context, ref: str) -> dict[str, Any]:
    authorize(ctx, permissions.READ)
    version = get_version(ctx, ref)
    return version.public(aliases_of(ctx, [version.id]).get(version.id, []))


def model_versions(ctx: Context, name: str) -> list[dict[str, Any]]:
    """Every version of NAME with its pin, aliases and lineage (newest first)."""
    authorize(ctx, permissions.READ)
    model = get_model(ctx, name)
    versions = ctx.session.scalars(
        select(ModelVersion)
        .where(col(ModelVersion.tenant_id) == ctx.tenant_id, col(ModelVersion.model_id) == model.id)
        .order_by(col(ModelVersion.version).desc())
    ).all()
    aliases = aliases_of(ctx, [v.id for v in versions])
    out = []
    for v in versions:
        row = v.public(aliases.get(v.id, []))
        row.pop("source_meta", None)
        out.append(row)
    return out
