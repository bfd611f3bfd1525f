"""tenant roots: data roots owned by one tenant on one host; local data bound to its host

Revision ID: 0009_tenant_roots
Revises: 0011_audit_v2, 0002_data
Create Date: 2026-12-03

- ``hosts``: machines that hold local data (stable id from /etc/machine-id, last known name).
- ``data_roots``: one row per (tenant, host, directory); only one live row per (host, path).
  Each tenant's old ``tenants.data_roots`` list moves here, bound to the host running this
  migration, with a ``tenant.root.add`` event in the tenant's chain. A legacy root that overlaps
  another tenant's (the cross-tenant erasure this revision closes) is moved for neither: an
  installation administrator re-assigns it with ``tenant root add``. ``tenants.data_roots`` goes.
- ``data_assets.host_id`` / ``data_workspaces.host_id``: the host a local file, vault copy or
  workspace lives on (the migrating host for existing ones; NULL for remote locations).
- ``data_assets.location_key``: ``host_id:location`` for local data, the URI otherwise; unique
  among live assets. Where several live assets already share a location, the oldest keeps it and
  the others get no key (and an audit event saying so) until they are erased.
"""

import json
import sys
import uuid
from collections.abc import Sequence
from datetime import datetime
from pathlib import Path
from typing import Any

import sqlalchemy as sa
import sqlmodel.sql.sqltypes
from alembic import op
from sqlalchemy import Text
from sqlalchemy.dialects import postgresql

import shifty_ent.core.types

revision: str = "0009_tenant_roots"
down_revision: str | Sequence[str] | None = ("0011_audit_v2", "0002_data")
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

ACTOR = "migration:0009_tenant_roots"
LIVE_ROOT = sa.text("removed_at IS NULL")
LIVE_LOCATION = sa.text("location_key IS NOT NULL AND status <> 'deleted'")


def _warn(text: str) -> None:
    sys.stderr.write(f"warning: {text}\n")


def _host(conn: sa.Connection) -> tuple[str, str]:
    """This machine's id and name (``SHIFTY_HOST_ID`` only counts in a declared store)."""
    from shifty_ent.core import hosts
    from shifty_ent.core.config import load_settings

    mode = conn.execute(sa.text("SELECT identity_mode FROM installation WHERE id = 1")).scalar()
    settings = load_settings()
    if mode != "declared":
        settings.host_id = None
    info = hosts.this_host(settings, mode or "os")
    return info.id, info.name


def upgrade() -> None:
    op.create_table(
        "hosts",
        sa.Column("id", sqlmodel.sql.sqltypes.AutoString(length=64), nullable=False),
        sa.Column("name", sqlmodel.sql.sqltypes.AutoString(length=255), nullable=False),
        sa.Column(
            "first_seen_at", shifty_ent.core.types.UTCDateTime(timezone=True), nullable=False
        ),
        sa.Column("last_seen_at", shifty_ent.core.types.UTCDateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_table(
        "data_roots",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("tenant_id", sa.Uuid(), nullable=False),
        sa.Column("path", Text(), nullable=False),
        sa.Column("host_id", sqlmodel.sql.sqltypes.AutoString(length=64), nullable=False),
        sa.Column("host_name", sqlmodel.sql.sqltypes.AutoString(length=255), nullable=False),
        sa.Column("added_by", sqlmodel.sql.sqltypes.AutoString(length=128), nullable=False),
        sa.Column("added_at", shifty_ent.core.types.UTCDateTime(timezone=True), nullable=False),
        sa.Column("removed_at", shifty_ent.core.types.UTCDateTime(timezone=True), nullable=True),
        sa.Column("removed_by", sqlmodel.sql.sqltypes.AutoString(length=128), nullable=True),
        sa.ForeignKeyConstraint(["host_id"], ["hosts.id"]),
        sa.ForeignKeyConstraint(["tenant_id"], ["tenants.id"]),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_index("ix_data_roots_tenant_id", "data_roots", ["tenant_id"])
    op.create_index(
        "uq_data_roots_live",
        "data_roots",
        ["host_id", "path"],
        unique=True,
        sqlite_where=LIVE_ROOT,
        postgresql_where=LIVE_ROOT,
    )
    # plain ADD COLUMN on both databases: no table rebuild (SQLite batch mode would drop and
    # recreate tables other rows point to)
    op.add_column(
        "data_assets",
        sa.Column("host_id", sqlmodel.sql.sqltypes.AutoString(length=64), nullable=True),
    )
    op.add_column("data_assets", sa.Column("location_key", Text(), nullable=True))
    op.add_column(
        "data_workspaces",
        sa.Column("host_id", sqlmodel.sql.sqltypes.AutoString(length=64), nullable=True),
    )
    _move_data(op.get_bind())
    op.create_index(
        "uq_data_assets_live_location",
        "data_assets",
        ["location_key"],
        unique=True,
        sqlite_where=LIVE_LOCATION,
        postgresql_where=LIVE_LOCATION,
    )
    if op.get_bind().dialect.name == "sqlite":
        op.execute("ALTER TABLE tenants DROP COLUMN data_roots")  # SQLite >= 3.35, no rebuild
    else:
        op.drop_column("tenants", "data_roots")


def _move_data(conn: sa.Connection) -> None:
    tenants = conn.execute(sa.text("SELECT id, name, data_roots FROM tenants")).all()
    has_local = conn.execute(
        sa.text(
            "SELECT 1 FROM data_assets WHERE scheme IN ('file', 'vault') "
            "UNION ALL SELECT 1 FROM data_workspaces"
        )
    ).first()
    wanted = [(t, r) for t in tenants for r in _roots_of(t.data_roots)]
    if (
        not wanted
        and not has_local
        and not conn.execute(sa.text("SELECT 1 FROM data_assets")).first()
    ):
        return
    from sqlmodel import Session

    from shifty_ent.core import audit, clock
    from shifty_ent.core.clock import as_utc

    host_id, host_name = _host(conn)
    now = clock.now()
    session = Session(bind=conn)
    mode = conn.execute(sa.text("SELECT identity_mode FROM installation WHERE id = 1")).scalar()
    session.info["identity_mode"] = mode or "os"
    hosts_t = sa.table(
        "hosts",
        sa.column("id", sa.String()),
        sa.column("name", sa.String()),
        sa.column("first_seen_at", shifty_ent.core.types.UTCDateTime(timezone=True)),
        sa.column("last_seen_at", shifty_ent.core.types.UTCDateTime(timezone=True)),
    )
    conn.execute(
        hosts_t.insert().values(id=host_id, name=host_name, first_seen_at=now, last_seen_at=now)
    )
    roots_t = sa.table(
        "data_roots",
        sa.column("id", sa.Uuid()),
        sa.column("tenant_id", sa.Uuid()),
        sa.column("path", sa.String()),
        sa.column("host_id", sa.String()),
        sa.column("host_name", sa.String()),
        sa.column("added_by", sa.String()),
        sa.column("added_at", shifty_ent.core.types.UTCDateTime(timezone=True)),
    )
    for tenant, path in wanted:
        clash = sorted(
            {
                other.name
                for other, opath in wanted
                if other.id != tenant.id and _nested(path, opath)
            }
        )
        tenant_id = _uuid(tenant.id)
        if clash:
            _warn(
                f"data root {path} of tenant {tenant.name!r} overlaps the root of "
                f"{', '.join(clash)}; not moved: assign it again with 'tenant root add'"
            )
            audit.append(
                session,
                tenant_id=tenant_id,
                actor=ACTOR,
                action="tenant.root.drop",
                target_type="data_root",
                target_id=None,
                details={"path": path, "reason": f"overlaps the root of {', '.join(clash)}"},
                at=_after(session, tenant_id, now, as_utc),
            )
            continue
        done = conn.execute(
            sa.select(roots_t.c.id).where(
                roots_t.c.tenant_id == tenant_id,
                roots_t.c.path == path,
                roots_t.c.host_id == host_id,
            )
        ).first()
        if done:
            continue
        root_id = uuid.uuid4()
        conn.execute(
            roots_t.insert().values(
                id=root_id,
                tenant_id=tenant_id,
                path=path,
                host_id=host_id,
                host_name=host_name,
                added_by=ACTOR,
                added_at=now,
            )
        )
        audit.append(
            session,
            tenant_id=tenant_id,
            actor=ACTOR,
            action="tenant.root.add",
            target_type="data_root",
            target_id=root_id,
            details={"path": path, "host_id": host_id, "host_name": host_name, "migrated": True},
            at=_after(session, tenant_id, now, as_utc),
        )
    conn.execute(
        sa.text(
            "UPDATE data_assets SET host_id = :h, location_key = :prefix || location "
            "WHERE scheme IN ('file', 'vault')"
        ),
        {"h": host_id, "prefix": f"{host_id}:"},
    )
    conn.execute(
        sa.text("UPDATE data_assets SET location_key = location WHERE location_key IS NULL")
    )
    conn.execute(sa.text("UPDATE data_workspaces SET host_id = :h"), {"h": host_id})
    _unshare_locations(conn, session, now, as_utc)
    session.flush()


def _unshare_locations(conn: sa.Connection, session: Any, now: datetime, as_utc: Any) -> None:
    """Several live assets at one location: the oldest keeps its key, the others lose it."""
    from shifty_ent.core import audit

    rows = conn.execute(
        sa.text(
            "SELECT id, tenant_id, name, location_key FROM data_assets "
            "WHERE status <> 'deleted' AND location_key IN ("
            "  SELECT location_key FROM data_assets WHERE status <> 'deleted' "
            "  GROUP BY location_key HAVING COUNT(*) > 1) "
            "ORDER BY location_key, created_at, id"
        )
    ).all()
    seen: set[str] = set()
    for row in rows:
        if row.location_key not in seen:
            seen.add(row.location_key)
            continue
        conn.execute(
            sa.text("UPDATE data_assets SET location_key = NULL WHERE id = :i"), {"i": row.id}
        )
        _warn(f"asset {row.name!r} shares its location with an older live asset; erase one")
        tenant_id = _uuid(row.tenant_id)
        audit.append(
            session,
            tenant_id=tenant_id,
            actor=ACTOR,
            action="data.asset.shared_location",
            target_type="asset",
            target_id=_uuid(row.id),
            details={"location_key": row.location_key},
            at=_after(session, tenant_id, now, as_utc),
        )


def _after(session: Any, tenant_id: uuid.UUID, now: datetime, as_utc: Any) -> datetime:
    """Now, or the chain's last event time when a sandbox clock ran ahead of it."""
    from shifty_ent.core.tables import AuditHead

    head = session.get(AuditHead, str(tenant_id))
    last = as_utc(head.at) if head is not None and head.at is not None else None
    return last if last is not None and last > now else now


def _roots_of(raw: Any) -> list[str]:
    if isinstance(raw, str):
        raw = json.loads(raw or "[]")
    out: list[str] = []
    for item in raw or []:
        path = str(Path(str(item)))
        if path not in out:
            out.append(path)
    return out


def _nested(a: str, b: str) -> bool:
    pa, pb = Path(a), Path(b)
    return pa == pb or pa.is_relative_to(pb) or pb.is_relative_to(pa)


def _uuid(value: Any) -> uuid.UUID:
    return value if isinstance(value, uuid.UUID) else uuid.UUID(str(value))


def downgrade() -> None:
    conn = op.get_bind()
    op.add_column(
        "tenants",
        sa.Column(
            "data_roots",
            sa.JSON().with_variant(postgresql.JSONB(astext_type=Text()), "postgresql"),
            nullable=False,
            server_default="[]",
        ),
    )
    by_tenant: dict[str, list[str]] = {}
    for tenant_id, path in conn.execute(
        sa.text("SELECT tenant_id, path FROM data_roots WHERE removed_at IS NULL ORDER BY path")
    ).all():
        by_tenant.setdefault(str(tenant_id), []).append(path)
    tenants = sa.table(
        "tenants",
        sa.column("id", sa.Uuid()),
        sa.column("data_roots", sa.JSON().with_variant(postgresql.JSONB(), "postgresql")),
    )
    for tenant_id, paths in by_tenant.items():
        conn.execute(
            tenants.update().where(tenants.c.id == _uuid(tenant_id)).values(data_roots=paths)
        )
    op.drop_index("uq_data_assets_live_location", table_name="data_assets")
    for table, column in (
        ("data_workspaces", "host_id"),
        ("data_assets", "location_key"),
        ("data_assets", "host_id"),
    ):
        op.execute(f"ALTER TABLE {table} DROP COLUMN {column}")  # no SQLite table rebuild
    op.drop_index("uq_data_roots_live", table_name="data_roots")
    op.drop_index("ix_data_roots_tenant_id", table_name="data_roots")
    op.drop_table("data_roots")
    op.drop_table("hosts")
