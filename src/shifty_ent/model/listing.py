"""``model list``: the tenant's versions as JSON-ready rows, straight from the driver's tuples.

A tenant may hold 10,000 versions; loading ORM objects (or letting SQLAlchemy turn every id, time
and JSON text into Python objects that are then turned back into text) costs several times the
query itself, so each database gets its own row builder (bench/register.py measures the ratio).
"""

from __future__ import annotations

import json
from datetime import UTC
from typing import Any

from sqlalchemy import Select, String, literal_column, select, type_coerce
from sqlmodel import col

from shifty_ent.core import collector
from shifty_ent.core.authz import authorize
from shifty_ent.core.context import Context
from shifty_ent.core.errors import InvalidInput
from shifty_ent.model import permissions
from shifty_ent.model.tables import SOURCES, ModelAlias, ModelVersion, RegisteredModel
from shifty_ent.model.versions import aliases_of, get_model

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
    t = ModelVersion.__table__.c  # type: ignore[attr-defined]  # SQLModel sets __table__ at runtime
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
                select(col(ModelAlias.version_id)).where(
                    col(ModelAlias.tenant_id) == ctx.tenant_id, col(ModelAlias.alias) == alias
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
