"""serving: replicas of a deployment, and implicit holds on assets in use

Revision ID: 0014_serving
Revises: 0010_pg_guard
Create Date: 2026-12-02

- ``model_deployment_replicas``: a deployment with ``--replicas N`` runs on N instances, each
  with its own endpoint and health (the deployment row keeps its first instance).
- ``data_asset_uses``: assets another group uses right now (a model version an alias or a live
  deployment points at); the sweep and deletion skip them like a legal hold.

PostgreSQL: both tables carry ``tenant_id`` and get the per-tenant row-level security and grants
of ``0010_pg_guard`` by re-running its ``shifty_apply_tenant_rls()``.
"""

from collections.abc import Sequence

import sqlalchemy as sa
import sqlmodel.sql.sqltypes
from alembic import op
from sqlalchemy import Text
from sqlalchemy.dialects import postgresql

import shifty_ent.core.types

revision: str = "0014_serving"
down_revision: str | Sequence[str] | None = "0013_dataset_template"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "model_deployment_replicas",
        sa.Column("tenant_id", sa.Uuid(), nullable=False),
        sa.Column("deployment_id", sa.Uuid(), nullable=False),
        sa.Column("instance_id", sa.Uuid(), nullable=False),
        sa.Column("endpoint_url", sa.Text(), nullable=True),
        sa.Column("status", sqlmodel.sql.sqltypes.AutoString(length=16), nullable=False),
        sa.Column(
            "health",
            sa.JSON().with_variant(postgresql.JSONB(astext_type=Text()), "postgresql"),
            nullable=False,
        ),
        sa.Column("checked_at", shifty_ent.core.types.UTCDateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(
            ["tenant_id", "deployment_id"],
            ["model_deployments.tenant_id", "model_deployments.id"],
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(["tenant_id"], ["tenants.id"]),
        sa.PrimaryKeyConstraint("tenant_id", "deployment_id", "instance_id"),
    )
    op.create_table(
        "data_asset_uses",
        sa.Column("tenant_id", sa.Uuid(), nullable=False),
        sa.Column("asset_id", sa.Uuid(), nullable=False),
        sa.Column("scope", sqlmodel.sql.sqltypes.AutoString(length=32), nullable=False),
        sa.Column("reason", sa.Text(), nullable=False),
        sa.Column("since", shifty_ent.core.types.UTCDateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["tenant_id", "asset_id"],
            ["data_assets.tenant_id", "data_assets.id"],
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(["tenant_id"], ["tenants.id"]),
        sa.PrimaryKeyConstraint("tenant_id", "asset_id", "scope"),
    )
    if op.get_bind().dialect.name == "postgresql":
        op.execute("SELECT shifty_apply_tenant_rls()")


def downgrade() -> None:
    op.drop_table("data_asset_uses")
    op.drop_table("model_deployment_replicas")
