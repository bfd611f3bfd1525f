"""Registered models and their versions: register (pin a source), list, show, aliases, rollback.

A version is immutable once registered: its source, pin and metadata never change; aliases are the
mutable pointers, and every alias move is an :class:`AliasEvent` (who, when, why, from which
version) plus an audit event. ``rollback`` derives the alias' previous version from that history.
"""

from __future__ import annotations

import json
import re
import uuid
from collections.abc import Sequence
from datetime import UTC
from typing import Any

from sqlalchemy import Select, String, func, literal_column, select, type_coerce, update
from sqlalchemy.exc import IntegrityError

from shifty_ent.core import collector
from shifty_ent.core.authz import authorize
from shifty_ent.core.context import Context
from shifty_ent.core.errors import Conflict, InvalidInput, NotFound
from shifty_ent.core.ids import resolve as resolve_ref
from shifty_ent.model import permissions, seams
from shifty_ent.model.sources import Pin, ProgressFn
from shifty_ent.model.tables import (
    SOURCES,
    AliasEvent,
    ModelAlias,
    ModelVersion,
    RegisteredModel,
)

NAME_RE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._/-]{0,127}$")
ALIAS_RE = re.compile(r"^[a-z][a-z0-9_-]{0,63}$")
PRODUCTION = "production"
CLASSIFICATIONS = ("public", "internal", "confidential", "restricted", "pii", "phi")


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


def validate_alias(alias: str) -> str:
    alias = (alias or "").strip()
    if not ALIAS_RE.match(alias) or alias == "latest":
        raise InvalidInput(
            f"alias {alias!r} must be lowercase letters, digits, _ or - (and not 'latest')"
        )
    return alias


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
        cfg[key] = value
    if temperature is not None:
        if not 0.0 <= temperature <= 2.0:
            raise InvalidInput("--temperature must be between 0 and 2")
        cfg["temperature"] = temperature
    if max_tokens is not None:
        if max_tokens < 1:
            raise InvalidInput("--max-tokens must be at least 1")
        cfg["max_tokens"] = max_tokens
    return cfg


def pin_source(
    ctx: Context,
    source: str,
    source_id: str,
    *,
    revision: str | None = None,
    pull: bool = False,
    progress: ProgressFn | None = None,
) -> Pin:
    """Resolve the source to an immutable pin (network or disk; holds no database lock)."""
    if source == "huggingface":
        from shifty_ent.model.sources import huggingface

        return huggingface.resolve(ctx.settings, source_id, revision)
    if source == "ollama":
        from shifty_ent.model.sources import ollama

        if revision:
            raise InvalidInput("--revision does not apply to Ollama; put the tag in the name")
        return ollama.resolve(ctx.settings, source_id, do_pull=pull, progress=progress)
    if source == "s3":
        from shifty_ent.model.sources import s3

        return s3.resolve(ctx.settings, source_id, revision)
    if source == "custom":
        from shifty_ent.model.sources import custom

        if revision:
            raise InvalidInput("--revision does not apply to a custom checkpoint")
        return custom.resolve(source_id)
    raise InvalidInput(f"--source must be one of {', '.join(SOURCES)}")


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
        .where(RegisteredModel.id == model.id, RegisteredModel.tenant_id == ctx.tenant_id)
        .values(latest_version=RegisteredModel.latest_version + 1)
    )
    number = ctx.session.scalar(
        select(RegisteredModel.latest_version).where(RegisteredModel.id == model.id)
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
        source_meta=pin.meta,
        generation_config=generation_config or {},
        lineage=lineage or {},
        metrics=metrics or {},
        created_at=ctx.now(),
        created_by=ctx.actor,
    )
    if pin.source == "custom":
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


def _checkpoint_asset(
    ctx: Context, name: str, number: int, pin: Pin, classification: str
) -> uuid.UUID:
    """The data asset of a checkpoint: the one of an earlier version with the same files at the
    same path while it is live (one asset per set of files, so retention acts once), else new."""
    earlier = ctx.session.scalars(
        select(ModelVersion.asset_id).where(
            ModelVersion.tenant_id == ctx.tenant_id,
            ModelVersion.source == "custom",
            ModelVersion.source_id == pin.source_id,
            ModelVersion.pinned_revision == pin.pinned_revision,
            ModelVersion.asset_id.is_not(None),
        )
    ).first()
    if earlier is not None:
        asset = seams.get_asset(ctx, str(earlier))
        if getattr(asset, "status", "active") == "active":
            return asset.id
    asset = seams.register_asset(
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
            RegisteredModel.tenant_id == ctx.tenant_id, RegisteredModel.name == name
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
                RegisteredModel.tenant_id == ctx.tenant_id, RegisteredModel.name == name
            )
        ).first()
        if found is None:
            raise
        return found
    ctx.audit(
        "model.create", target_type="registered_model", target_id=model.id, details={"name": name}
    )
    return model


# ------------------------------------------------------------------------------ reading


def get_model(ctx: Context, name: str) -> RegisteredModel:
    return resolve_ref(ctx.session, RegisteredModel, name, what="model", tenant_id=ctx.tenant_id)


def get_version(ctx: Context, ref: str) -> ModelVersion:
    """``NAME`` (latest), ``NAME:N``, ``NAME@ALIAS``, or a version id / unique id prefix."""
    ref = (ref or "").strip()
    if not ref:
        raise InvalidInput("a model version is required (NAME, NAME:N, NAME@ALIAS or an id)")
    base = select(ModelVersion).where(ModelVersion.tenant_id == ctx.tenant_id)
    if "@" in ref:
        name, _, alias = ref.rpartition("@")
        model = get_model(ctx, name)
        row = ctx.session.scalars(
            base.join(
                ModelAlias,
                (ModelAlias.version_id == ModelVersion.id)
                & (ModelAlias.tenant_id == ModelVersion.tenant_id),
            ).where(ModelAlias.model_id == model.id, ModelAlias.alias == alias)
        ).first()
        if row is None:
            raise NotFound(f"model {name} has no alias {alias!r}")
        return row
    name, sep, number = ref.rpartition(":")
    if sep and number.isdigit() and name:
        model = get_model(ctx, name)
        row = ctx.session.scalars(
            base.where(ModelVersion.model_id == model.id, ModelVersion.version == int(number))
        ).first()
        if row is None:
            raise NotFound(f"model {name} has no version {number}")
        return row
    model = ctx.session.scalars(
        select(RegisteredModel).where(
            RegisteredModel.tenant_id == ctx.tenant_id, RegisteredModel.name == ref
        )
    ).first()
    if model is not None:
        row = ctx.session.scalars(
            base.where(ModelVersion.model_id == model.id)
            .order_by(ModelVersion.version.desc())
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
    stmt = select(ModelAlias.version_id, ModelAlias.alias).where(
        ModelAlias.tenant_id == ctx.tenant_id
    )
    if version_ids is not None:
        stmt = stmt.where(ModelAlias.version_id.in_(list(version_ids)))
    out: dict[uuid.UUID, list[str]] = {}
    for vid, alias in ctx.session.execute(stmt):
        out.setdefault(vid, []).append(alias)
    return out


def show_version(ctx: Context, ref: str) -> dict[str, Any]:
    authorize(ctx, permissions.READ)
    version = get_version(ctx, ref)
    return version.public(aliases_of(ctx, [version.id]).get(version.id, []))


# What ``model list`` shows of a version. The bulky source metadata and generation config are
# left to ``model show``.
LIST_COLUMNS = (
    "id",
    "name",
    "version",
    "source",
    "source_id",
    "pinned_revision",
    "lineage",
    "status",
    "created_at",
    "created_by",
)


def list_versions(
    ctx: Context,
    *,
    name: str | None = None,
    source: str | None = None,
    alias: str | None = None,
    latest_only: bool = False,
    limit: int | None = None,
) -> list[dict[str, Any]]:
    """Versions of the tenant (newest first per name), with aliases, as plain JSON-ready rows.

    The rows carry the same values as :meth:`ModelVersion.public` but are built from the
    driver's own tuples: a tenant may hold 10,000 versions, and loading ORM objects (or letting
    SQLAlchemy turn every id, time and JSON text into Python objects that are then turned back
    into text) costs several times the query itself (bench/register.py measures the ratio).
    """
    authorize(ctx, permissions.READ)
    stmt = _list_query(
        ctx, name=name, source=source, alias=alias, latest_only=latest_only, limit=limit
    )
    aliases = {str(vid): tuple(sorted(names)) for vid, names in aliases_of(ctx).items()}
    result = ctx.session.connection().execute(stmt)
    try:
        # read the driver's cursor directly: plain tuples, no Row object per row
        with collector.paused():
            if ctx.dialect == "sqlite":
                return _rows_from_sqlite(result.cursor, aliases)
            return _rows_from_postgres(result.cursor, aliases)
    finally:
        result.close()


# SQLite stores a UUID as 32 hex digits and a time as naive UTC "YYYY-MM-DD HH:MM:SS.ffffff".
# These turn them into ``str(uuid)`` and ``isoformat()`` text. Migration 0007_model_listing
# indexes exactly these expressions (SQLite matches them by their parsed form, so the table
# prefix may differ): the listing reads them precomputed instead of formatting every row.
_SQLITE_ID_TEXT = (
    "(substr(model_versions.id, 1, 8) || '-' || substr(model_versions.id, 9, 4) || '-' || "
    "substr(model_versions.id, 13, 4) || '-' || substr(model_versions.id, 17, 4) || '-' || "
    "substr(model_versions.id, 21))"
)
_SQLITE_AT_TEXT = (
    "(replace(replace(model_versions.created_at, '.000000', ''), ' ', 'T') || '+00:00')"
)


def _list_query(
    ctx: Context,
    *,
    name: str | None,
    source: str | None,
    alias: str | None,
    latest_only: bool,
    limit: int | None,
) -> Select[Any]:
    """The ``model list`` SELECT; columns are typed as plain strings so that no result
    processing runs (the row builders below format ids and times themselves)."""
    t = ModelVersion.__table__.c  # type: ignore[attr-defined]
    columns = [
        t.version if c == "version" else type_coerce(t[c], String).label(c) for c in LIST_COLUMNS
    ]
    if ctx.dialect == "sqlite":
        # ids and times in their printed text, read from the index that holds them
        columns[LIST_COLUMNS.index("id")] = literal_column(_SQLITE_ID_TEXT, String).label("id")
        columns[LIST_COLUMNS.index("created_at")] = literal_column(_SQLITE_AT_TEXT, String).label(
            "created_at"
        )
    stmt = select(*columns).where(t.tenant_id == ctx.tenant_id)
    if name is not None:
        stmt = stmt.where(t.model_id == get_model(ctx, name).id)
    if source is not None:
        if source not in SOURCES:
            raise InvalidInput(f"--source must be one of {', '.join(SOURCES)}")
        stmt = stmt.where(t.source == source)
    if alias is not None:
        stmt = stmt.where(
            t.id.in_(
                select(ModelAlias.version_id).where(
                    ModelAlias.tenant_id == ctx.tenant_id, ModelAlias.alias == alias
                )
            )
        )
    if latest_only:
        stmt = stmt.join(
            RegisteredModel,
            (RegisteredModel.id == t.model_id) & (RegisteredModel.latest_version == t.version),
        )
    stmt = stmt.order_by(t.name, t.version.desc())
    return stmt if limit is None else stmt.limit(limit)


def _rows_from_sqlite(result: Any, aliases: dict[str, tuple[str, ...]]) -> list[dict[str, Any]]:
    """SQLite hands back JSON as text (ids and times come formatted by the query)."""
    loads = json.loads
    none: tuple[str, ...] = ()
    return [
        {
            "id": i,
            "name": n,
            "version": v,
            "source": src,
            "source_id": sid,
            "pinned_revision": pin,
            "aliases": aliases.get(i, none),
            "lineage": {} if lin == "{}" else loads(lin),
            "status": st,
            "created_at": c,
            "created_by": by,
        }
        for i, n, v, src, sid, pin, lin, st, c, by in result
    ]


def _rows_from_postgres(result: Any, aliases: dict[str, tuple[str, ...]]) -> list[dict[str, Any]]:
    """psycopg already hands back UUIDs, aware datetimes (in the session's zone) and JSON."""
    rows = []
    for i, n, v, src, sid, pin, lin, st, c, by in result:
        vid = str(i)
        rows.append(
            {
                "id": vid,
                "name": n,
                "version": v,
                "source": src,
                "source_id": sid,
                "pinned_revision": pin,
                "aliases": aliases.get(vid, ()),
                "lineage": json.loads(lin) if isinstance(lin, str) else lin,
                "status": st,
                "created_at": c.astimezone(UTC).isoformat(),
                "created_by": by,
            }
        )
    return rows


def model_versions(ctx: Context, name: str) -> list[dict[str, Any]]:
    """Every version of NAME with its pin, aliases and lineage (newest first)."""
    authorize(ctx, permissions.READ)
    model = get_model(ctx, name)
    versions = ctx.session.scalars(
        select(ModelVersion)
        .where(ModelVersion.tenant_id == ctx.tenant_id, ModelVersion.model_id == model.id)
        .order_by(ModelVersion.version.desc())
    ).all()
    aliases = aliases_of(ctx, [v.id for v in versions])
    out = []
    for v in versions:
        row = v.public(aliases.get(v.id, []))
        row.pop("source_meta", None)
        out.append(row)
    return out


# ------------------------------------------------------------------------------ aliases


def _history(ctx: Context, model_id: uuid.UUID, alias: str | None = None) -> list[AliasEvent]:
    stmt = select(AliasEvent).where(
        AliasEvent.tenant_id == ctx.tenant_id, AliasEvent.model_id == model_id
    )
    if alias is not None:
        stmt = stmt.where(AliasEvent.alias == alias)
    return list(ctx.session.scalars(stmt.order_by(AliasEvent.seq)).all())


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
        .where(RegisteredModel.id == version.model_id)
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
            select(func.max(AliasEvent.seq)).where(AliasEvent.model_id == version.model_id)
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


# ------------------------------------------------------------------------------ promotion


def approval_for(ctx: Context, version: ModelVersion) -> Any | None:
    """A settled, approved ``approve_deployment`` mission for this version, if any."""
    for mission in seams.missions_for_subject(
        ctx, seams.subject_ref(version.id), type="approve_deployment"
    ):
        if getattr(mission, "status", None) == "settled" and (
            getattr(mission, "settled_result", None) == "approve"
        ):
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
        from shifty_ent.core.errors import Refused

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


def request_approval(ctx: Context, ref: str, *, alias: str = PRODUCTION) -> Any:
    """Open an approve_deployment mission for a version, carrying its metrics (operator/admin)."""
    authorize(ctx, permissions.APPROVAL_REQUEST)
    version = get_version(ctx, ref)
    from shifty_ent.model.tables import Evaluation

    evals = ctx.session.scalars(
        select(Evaluation)
        .where(Evaluation.tenant_id == ctx.tenant_id, Evaluation.version_id == version.id)
        .order_by(Evaluation.created_at.desc())
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
    mission = seams.create_mission(
        ctx, type="approve_deployment", payload=payload, subject_ref=seams.subject_ref(version.id)
    )
    ctx.audit(
        "model.approval.request",
        target_type="model_version",
        target_id=version.id,
        details={"mission_id": str(mission.id), "alias": alias},
    )
    return mission
