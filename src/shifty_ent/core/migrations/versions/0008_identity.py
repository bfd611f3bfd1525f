"""identity: the store's identity mode, installation administrators, case-free user names

Revision ID: 0008_identity
Revises: 0001_platform
Create Date: 2026-12-02

- ``installation`` holds one row: the identity mode chosen when the store was created (``os``,
  ``postgres`` or ``declared``), who created it and when. A store migrated from an earlier version
  gets its row on the next ``init``/``db upgrade``/first use (the dialect's default mode).
- ``installation_admins``: who may act across tenants (tenant-less views, data roots).
- ``tenant_users.username_key``: the NFKC case-folded name, unique per tenant, so ``Alice`` and
  ``alice`` are one person to four-eyes rules and to the database.
- ``audit_heads.at``: the time of a chain's last event, so an event dated before it is refused.
"""

import unicodedata
from collections.abc import Sequence

import sqlalchemy as sa
import sqlmodel.sql.sqltypes
from alembic import op

import shifty_ent.core.types

revision: str = "0008_identity"
down_revision: str | Sequence[str] | None = "0001_platform"
branch_labels: str | Sequence[str] | None = ("identity",)
depends_on: str | Sequence[str] | None = None


def _key(name: str) -> str:
    return unicodedata.normalize("NFKC", name).casefold()


def upgrade() -> None:
    op.create_table(
        "installation",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("identity_mode", sqlmodel.sql.sqltypes.AutoString(length=16), nullable=False),
        sa.Column("created_at", shifty_ent.core.types.UTCDateTime(timezone=True), nullable=False),
        sa.Column("created_by", sqlmodel.sql.sqltypes.AutoString(length=128), nullable=False),
        sa.PrimaryKeyConstraint("id"),
        sa.CheckConstraint("id = 1", name="ck_installation_single_row"),
        sa.CheckConstraint(
            "identity_mode IN ('os', 'postgres', 'declared')", name="ck_installation_mode"
        ),
    )
    op.create_table(
        "installation_admins",
        sa.Column("name_key", sqlmodel.sql.sqltypes.AutoString(length=128), nullable=False),
        sa.Column("name", sqlmodel.sql.sqltypes.AutoString(length=128), nullable=False),
        sa.Column("added_by", sqlmodel.sql.sqltypes.AutoString(length=128), nullable=False),
        sa.Column("added_at", shifty_ent.core.types.UTCDateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("name_key"),
    )
    with op.batch_alter_table("tenant_users", schema=None) as batch_op:
        batch_op.add_column(
            sa.Column("username_key", sqlmodel.sql.sqltypes.AutoString(length=128), nullable=True)
        )
    conn = op.get_bind()
    users = sa.table(
        "tenant_users",
        sa.column("id", sa.Uuid()),
        sa.column("tenant_id", sa.Uuid()),
        sa.column("username", sa.String()),
        sa.column("username_key", sa.String()),
    )
    seen: dict[tuple[object, str], str] = {}
    for row in conn.execute(sa.select(users.c.id, users.c.tenant_id, users.c.username)).all():
        key = _key(row.username)
        twin = seen.get((row.tenant_id, key))
        if twin is not None:
            raise RuntimeError(
                f"tenant {row.tenant_id}: users {twin!r} and {row.username!r} differ only in case "
                "or Unicode form; remove one (user remove) with the previous version, then upgrade"
            )
        seen[(row.tenant_id, key)] = row.username
        conn.execute(users.update().where(users.c.id == row.id).values(username_key=key))
    with op.batch_alter_table("tenant_users", schema=None) as batch_op:
        batch_op.alter_column(
            "username_key",
            existing_type=sqlmodel.sql.sqltypes.AutoString(length=128),
            nullable=False,
        )
        batch_op.create_unique_constraint("uq_tenant_users_key", ["tenant_id", "username_key"])
    with op.batch_alter_table("audit_heads", schema=None) as batch_op:
        batch_op.add_column(
            sa.Column("at", shifty_ent.core.types.UTCDateTime(timezone=True), nullable=True)
        )


def downgrade() -> None:
    with op.batch_alter_table("audit_heads", schema=None) as batch_op:
        batch_op.drop_column("at")
    with op.batch_alter_table("tenant_users", schema=None) as batch_op:
        batch_op.drop_constraint("uq_tenant_users_key", type_="unique")
        batch_op.drop_column("username_key")
    op.drop_table("installation_admins")
    op.drop_table("installation")
