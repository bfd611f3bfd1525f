"""gpu: instances, cost ledger, autoscale rules

Revision ID: 0003_gpu
Revises: 0001_platform
Create Date: 2026-11-27 07:47:29.238610
"""

from collections.abc import Sequence

import sqlalchemy as sa
import sqlmodel.sql.sqltypes
from alembic import op
from sqlalchemy import Text
from sqlalchemy.dialects import postgresql

import shifty_ent.core.types

revision: str = "0003_gpu"
down_revision: str | Sequence[str] | None = "0001_platform"
branch_labels: str | Sequence[str] | None = ("gpu",)
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "gpu_autoscale_rules",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("tenant_id", sa.Uuid(), nullable=False),
        sa.Column("model", sqlmodel.sql.sqltypes.AutoString(length=128), nullable=False),
        sa.Column("checkpoint", sqlmodel.sql.sqltypes.AutoString(length=300), nullable=False),
        sa.Column("min_replicas", sa.Integer(), nullable=False),
        sa.Column("max_replicas", sa.Integer(), nullable=False),
        sa.Column("target_util", sa.Float(), nullable=False),
        sa.Column("gpu_type", sqlmodel.sql.sqltypes.AutoString(length=32), nullable=False),
        sa.Column("max_price_per_hour", shifty_ent.core.types.Money(), nullable=False),
        sa.Column("disk_gb", sa.Integer(), nullable=False),
        sa.Column("region", sqlmodel.sql.sqltypes.AutoString(length=32), nullable=True),
        sa.Column("cooldown_seconds", sa.Integer(), nullable=False),
        sa.Column(
            "last_scaled_at", shifty_ent.core.types.UTCDateTime(timezone=True), nullable=True
        ),
        sa.Column("created_at", shifty_ent.core.types.UTCDateTime(timezone=True), nullable=False),
        sa.Column("created_by", sqlmodel.sql.sqltypes.AutoString(length=128), nullable=False),
        sa.Column("updated_at", shifty_ent.core.types.UTCDateTime(timezone=True), nullable=True),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(
            ["tenant_id"],
            ["tenants.id"],
        ),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("tenant_id", "id", name="uq_gpu_autoscale_rules_tenant_id"),
        sa.UniqueConstraint("tenant_id", "model", name="uq_gpu_autoscale_rules_model"),
    )
    with op.batch_alter_table("gpu_autoscale_rules", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_gpu_autoscale_rules_tenant_id"), ["tenant_id"], unique=False
        )

    op.create_table(
        "gpu_instances",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("tenant_id", sa.Uuid(), nullable=False),
        sa.Column("provider", sqlmodel.sql.sqltypes.AutoString(length=16), nullable=False),
        sa.Column(
            "provider_instance_id", sqlmodel.sql.sqltypes.AutoString(length=32), nullable=True
        ),
        sa.Column("offer_id", sqlmodel.sql.sqltypes.AutoString(length=32), nullable=True),
        sa.Column("label", sqlmodel.sql.sqltypes.AutoString(length=200), nullable=False),
        sa.Column("gpu_type", sqlmodel.sql.sqltypes.AutoString(length=32), nullable=False),
        sa.Column("gpu_name", sqlmodel.sql.sqltypes.AutoString(length=64), nullable=True),
        sa.Column("gpu_count", sa.Integer(), nullable=False),
        sa.Column("disk_gb", sa.Integer(), nullable=False),
        sa.Column("region", sqlmodel.sql.sqltypes.AutoString(length=32), nullable=True),
        sa.Column("geolocation", sqlmodel.sql.sqltypes.AutoString(length=128), nullable=True),
        sa.Column("status", sqlmodel.sql.sqltypes.AutoString(length=16), nullable=False),
        sa.Column("provider_status", sqlmodel.sql.sqltypes.AutoString(length=64), nullable=True),
        sa.Column("status_msg", sqlmodel.sql.sqltypes.AutoString(length=500), nullable=True),
        sa.Column("max_price_per_hour", shifty_ent.core.types.Money(), nullable=False),
        sa.Column("price_per_hour", shifty_ent.core.types.Money(), nullable=True),
        sa.Column("gpu_price_per_hour", shifty_ent.core.types.Money(), nullable=True),
        sa.Column("storage_price_per_hour", shifty_ent.core.types.Money(), nullable=True),
        sa.Column("model_checkpoint", sqlmodel.sql.sqltypes.AutoString(length=300), nullable=True),
        sa.Column("image", sqlmodel.sql.sqltypes.AutoString(length=300), nullable=True),
        sa.Column("server_kind", sqlmodel.sql.sqltypes.AutoString(length=16), nullable=True),
        sa.Column("service_port", sa.Integer(), nullable=True),
        sa.Column("endpoint_url", sqlmodel.sql.sqltypes.AutoString(length=300), nullable=True),
        sa.Column(
            "health",
            sa.JSON().with_variant(postgresql.JSONB(astext_type=Text()), "postgresql"),
            nullable=True,
        ),
        sa.Column("gpu_util", sa.Float(), nullable=True),
        sa.Column("autoscale_model", sqlmodel.sql.sqltypes.AutoString(length=128), nullable=True),
        sa.Column("created_at", shifty_ent.core.types.UTCDateTime(timezone=True), nullable=False),
        sa.Column("created_by", sqlmodel.sql.sqltypes.AutoString(length=128), nullable=False),
        sa.Column("rented_at", shifty_ent.core.types.UTCDateTime(timezone=True), nullable=True),
        sa.Column("last_seen_at", shifty_ent.core.types.UTCDateTime(timezone=True), nullable=True),
        sa.Column("accrued_until", shifty_ent.core.types.UTCDateTime(timezone=True), nullable=True),
        sa.Column("cost_to_date", shifty_ent.core.types.Money(), nullable=False),
        sa.Column("terminated_at", shifty_ent.core.types.UTCDateTime(timezone=True), nullable=True),
        sa.Column("claimed_at", shifty_ent.core.types.UTCDateTime(timezone=True), nullable=True),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(
            ["tenant_id"],
            ["tenants.id"],
        ),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("label", name="uq_gpu_instances_label"),
        sa.UniqueConstraint(
            "provider", "provider_instance_id", name="uq_gpu_instances_provider_id"
        ),
        sa.UniqueConstraint("tenant_id", "id", name="uq_gpu_instances_tenant_id"),
    )
    with op.batch_alter_table("gpu_instances", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_gpu_instances_autoscale_model"), ["autoscale_model"], unique=False
        )
        batch_op.create_index(batch_op.f("ix_gpu_instances_tenant_id"), ["tenant_id"], unique=False)
        batch_op.create_index(
            "ix_gpu_instances_tenant_status", ["tenant_id", "status"], unique=False
        )

    op.create_table(
        "gpu_cost_entries",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("tenant_id", sa.Uuid(), nullable=False),
        sa.Column("instance_id", sa.Uuid(), nullable=False),
        sa.Column("gpu_type", sqlmodel.sql.sqltypes.AutoString(length=32), nullable=False),
        sa.Column("day", sa.Date(), nullable=False),
        sa.Column("period_start", shifty_ent.core.types.UTCDateTime(timezone=True), nullable=False),
        sa.Column("period_end", shifty_ent.core.types.UTCDateTime(timezone=True), nullable=False),
        sa.Column("status", sqlmodel.sql.sqltypes.AutoString(length=16), nullable=False),
        sa.Column("seconds", sa.Integer(), nullable=False),
        sa.Column("gpu_seconds", sa.Integer(), nullable=False),
        sa.Column("gpu_rate", shifty_ent.core.types.Money(), nullable=False),
        sa.Column("storage_rate", shifty_ent.core.types.Money(), nullable=False),
        sa.Column("gpu_amount", shifty_ent.core.types.Money(), nullable=False),
        sa.Column("storage_amount", shifty_ent.core.types.Money(), nullable=False),
        sa.Column("amount", shifty_ent.core.types.Money(), nullable=False),
        sa.ForeignKeyConstraint(
            ["tenant_id", "instance_id"],
            ["gpu_instances.tenant_id", "gpu_instances.id"],
        ),
        sa.ForeignKeyConstraint(
            ["tenant_id"],
            ["tenants.id"],
        ),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("tenant_id", "id", name="uq_gpu_cost_entries_tenant_id"),
    )
    with op.batch_alter_table("gpu_cost_entries", schema=None) as batch_op:
        batch_op.create_index(
            "ix_gpu_cost_entries_tenant_start", ["tenant_id", "period_start"], unique=False
        )


def downgrade() -> None:
    with op.batch_alter_table("gpu_cost_entries", schema=None) as batch_op:
        batch_op.drop_index("ix_gpu_cost_entries_tenant_start")

    op.drop_table("gpu_cost_entries")
    with op.batch_alter_table("gpu_instances", schema=None) as batch_op:
        batch_op.drop_index("ix_gpu_instances_tenant_status")
        batch_op.drop_index(batch_op.f("ix_gpu_instances_tenant_id"))
        batch_op.drop_index(batch_op.f("ix_gpu_instances_autoscale_model"))

    op.drop_table("gpu_instances")
    with op.batch_alter_table("gpu_autoscale_rules", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_gpu_autoscale_rules_tenant_id"))

    op.drop_table("gpu_autoscale_rules")
