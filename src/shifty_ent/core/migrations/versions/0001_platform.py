"""platform: tenants, users, roles, audit chain, signing keys

Revision ID: 0001_platform
Revises:
Create Date: 2026-11-27
"""

from collections.abc import Sequence

import sqlalchemy as sa
import sqlmodel.sql.sqltypes
from alembic import op
from sqlalchemy import Text
from sqlalchemy.dialects import postgresql

import shifty_ent.core.types

revision: str = "0001_platform"
down_revision: str | Sequence[str] | None = None
branch_labels: str | Sequence[str] | None = ("platform",)
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "audit_heads",
        sa.Column("chain", sqlmodel.sql.sqltypes.AutoString(length=40), nullable=False),
        sa.Column("seq", sa.Integer(), nullable=False),
        sa.Column("hash", sqlmodel.sql.sqltypes.AutoString(length=64), nullable=False),
        sa.PrimaryKeyConstraint("chain"),
    )
    op.create_table(
        "signing_keys",
        sa.Column("fingerprint", sqlmodel.sql.sqltypes.AutoString(length=80), nullable=False),
        sa.Column("algorithm", sqlmodel.sql.sqltypes.AutoString(length=16), nullable=False),
        sa.Column("public_key", sqlmodel.sql.sqltypes.AutoString(length=128), nullable=False),
        sa.Column("created_at", shifty_ent.core.types.UTCDateTime(timezone=True), nullable=False),
        sa.Column("created_by", sqlmodel.sql.sqltypes.AutoString(), nullable=False),
        sa.Column("retired_at", shifty_ent.core.types.UTCDateTime(timezone=True), nullable=True),
        sa.PrimaryKeyConstraint("fingerprint"),
    )
    op.create_table(
        "tenants",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("name", sqlmodel.sql.sqltypes.AutoString(length=64), nullable=False),
        sa.Column("created_at", shifty_ent.core.types.UTCDateTime(timezone=True), nullable=False),
        sa.Column("created_by", sqlmodel.sql.sqltypes.AutoString(), nullable=False),
        sa.Column("gpu_monthly_budget", shifty_ent.core.types.Money(), nullable=True),
        sa.Column("gpu_hourly_budget", shifty_ent.core.types.Money(), nullable=True),
        sa.Column(
            "data_roots",
            sa.JSON().with_variant(postgresql.JSONB(astext_type=Text()), "postgresql"),
            nullable=False,
        ),
        sa.PrimaryKeyConstraint("id"),
    )
    with op.batch_alter_table("tenants", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_tenants_name"), ["name"], unique=True)

    op.create_table(
        "audit_events",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("chain", sqlmodel.sql.sqltypes.AutoString(length=40), nullable=False),
        sa.Column("seq", sa.Integer(), nullable=False),
        sa.Column("tenant_id", sa.Uuid(), nullable=True),
        sa.Column("at", shifty_ent.core.types.UTCDateTime(timezone=True), nullable=False),
        sa.Column("actor", sqlmodel.sql.sqltypes.AutoString(length=128), nullable=False),
        sa.Column("action", sqlmodel.sql.sqltypes.AutoString(length=64), nullable=False),
        sa.Column("target_type", sqlmodel.sql.sqltypes.AutoString(length=64), nullable=True),
        sa.Column("target_id", sqlmodel.sql.sqltypes.AutoString(length=64), nullable=True),
        sa.Column(
            "details",
            sa.JSON().with_variant(postgresql.JSONB(astext_type=Text()), "postgresql"),
            nullable=False,
        ),
        sa.Column("prev_hash", sqlmodel.sql.sqltypes.AutoString(length=64), nullable=False),
        sa.Column("hash", sqlmodel.sql.sqltypes.AutoString(length=64), nullable=False),
        sa.ForeignKeyConstraint(
            ["tenant_id"],
            ["tenants.id"],
        ),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("chain", "seq", name="uq_audit_chain_seq"),
    )
    with op.batch_alter_table("audit_events", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_audit_events_action"), ["action"], unique=False)
        batch_op.create_index(batch_op.f("ix_audit_events_at"), ["at"], unique=False)
        batch_op.create_index(batch_op.f("ix_audit_events_target_id"), ["target_id"], unique=False)
        batch_op.create_index(batch_op.f("ix_audit_events_tenant_id"), ["tenant_id"], unique=False)

    op.create_table(
        "tenant_users",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("tenant_id", sa.Uuid(), nullable=False),
        sa.Column("username", sqlmodel.sql.sqltypes.AutoString(length=128), nullable=False),
        sa.Column("timezone", sqlmodel.sql.sqltypes.AutoString(length=64), nullable=False),
        sa.Column("created_at", shifty_ent.core.types.UTCDateTime(timezone=True), nullable=False),
        sa.Column("removed_at", shifty_ent.core.types.UTCDateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(
            ["tenant_id"],
            ["tenants.id"],
        ),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("tenant_id", "id", name="uq_tenant_users_tenant_id"),
        sa.UniqueConstraint("tenant_id", "username", name="uq_tenant_users_name"),
    )
    with op.batch_alter_table("tenant_users", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_tenant_users_tenant_id"), ["tenant_id"], unique=False)

    op.create_table(
        "user_roles",
        sa.Column("tenant_id", sa.Uuid(), nullable=False),
        sa.Column("user_id", sa.Uuid(), nullable=False),
        sa.Column("role", sqlmodel.sql.sqltypes.AutoString(length=16), nullable=False),
        sa.Column("granted_at", shifty_ent.core.types.UTCDateTime(timezone=True), nullable=False),
        sa.Column("granted_by", sqlmodel.sql.sqltypes.AutoString(), nullable=False),
        sa.ForeignKeyConstraint(
            ["tenant_id", "user_id"],
            ["tenant_users.tenant_id", "tenant_users.id"],
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("tenant_id", "user_id", "role"),
    )


def downgrade() -> None:
    op.drop_table("user_roles")
    with op.batch_alter_table("tenant_users", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_tenant_users_tenant_id"))

    op.drop_table("tenant_users")
    with op.batch_alter_table("audit_events", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_audit_events_tenant_id"))
        batch_op.drop_index(batch_op.f("ix_audit_events_target_id"))
        batch_op.drop_index(batch_op.f("ix_audit_events_at"))
        batch_op.drop_index(batch_op.f("ix_audit_events_action"))

    op.drop_table("audit_events")
    with op.batch_alter_table("tenants", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_tenants_name"))

    op.drop_table("tenants")
    op.drop_table("signing_keys")
    op.drop_table("audit_heads")
