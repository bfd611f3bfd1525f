"""model: registry, versions, aliases, deployments, training jobs, evaluations

Revision ID: 0005_model
Revises: 0002_data
Create Date: 2026-11-27 07:35:49.796744
"""

from collections.abc import Sequence

import sqlalchemy as sa
import sqlmodel.sql.sqltypes
from alembic import op
from sqlalchemy import Text
from sqlalchemy.dialects import postgresql

import shifty_ent.core.types

revision: str = "0005_model"
down_revision: str | Sequence[str] | None = "0002_data"
branch_labels: str | Sequence[str] | None = ("model",)
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "registered_models",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("tenant_id", sa.Uuid(), nullable=False),
        sa.Column("name", sqlmodel.sql.sqltypes.AutoString(length=128), nullable=False),
        sa.Column("description", sa.Text(), nullable=True),
        sa.Column("latest_version", sa.Integer(), nullable=False),
        sa.Column("created_at", shifty_ent.core.types.UTCDateTime(timezone=True), nullable=False),
        sa.Column("created_by", sqlmodel.sql.sqltypes.AutoString(length=128), nullable=False),
        sa.ForeignKeyConstraint(
            ["tenant_id"],
            ["tenants.id"],
        ),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("tenant_id", "id", name="uq_registered_models_tenant_id"),
        sa.UniqueConstraint("tenant_id", "name", name="uq_registered_models_name"),
    )
    with op.batch_alter_table("registered_models", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_registered_models_tenant_id"), ["tenant_id"], unique=False
        )

    op.create_table(
        "model_alias_events",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("tenant_id", sa.Uuid(), nullable=False),
        sa.Column("model_id", sa.Uuid(), nullable=False),
        sa.Column("seq", sa.Integer(), nullable=False),
        sa.Column("alias", sqlmodel.sql.sqltypes.AutoString(length=64), nullable=False),
        sa.Column("action", sqlmodel.sql.sqltypes.AutoString(length=16), nullable=False),
        sa.Column("from_version", sa.Integer(), nullable=True),
        sa.Column("to_version", sa.Integer(), nullable=False),
        sa.Column("to_version_id", sa.Uuid(), nullable=False),
        sa.Column("actor", sqlmodel.sql.sqltypes.AutoString(length=128), nullable=False),
        sa.Column("reason", sa.Text(), nullable=True),
        sa.Column("mission_id", sa.Uuid(), nullable=True),
        sa.Column("override", sa.Boolean(), nullable=False),
        sa.Column("at", shifty_ent.core.types.UTCDateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["tenant_id", "model_id"],
            ["registered_models.tenant_id", "registered_models.id"],
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["tenant_id"],
            ["tenants.id"],
        ),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("model_id", "seq", name="uq_model_alias_events_seq"),
    )
    with op.batch_alter_table("model_alias_events", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_model_alias_events_tenant_id"), ["tenant_id"], unique=False
        )

    op.create_table(
        "model_versions",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("tenant_id", sa.Uuid(), nullable=False),
        sa.Column("model_id", sa.Uuid(), nullable=False),
        sa.Column("name", sqlmodel.sql.sqltypes.AutoString(length=128), nullable=False),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.Column("source", sqlmodel.sql.sqltypes.AutoString(length=16), nullable=False),
        sa.Column("source_id", sa.Text(), nullable=False),
        sa.Column("pinned_revision", sqlmodel.sql.sqltypes.AutoString(length=128), nullable=True),
        sa.Column(
            "requested_revision", sqlmodel.sql.sqltypes.AutoString(length=256), nullable=True
        ),
        sa.Column(
            "source_meta",
            sa.JSON().with_variant(postgresql.JSONB(astext_type=Text()), "postgresql"),
            nullable=False,
        ),
        sa.Column(
            "generation_config",
            sa.JSON().with_variant(postgresql.JSONB(astext_type=Text()), "postgresql"),
            nullable=False,
        ),
        sa.Column(
            "lineage",
            sa.JSON().with_variant(postgresql.JSONB(astext_type=Text()), "postgresql"),
            nullable=False,
        ),
        sa.Column(
            "metrics",
            sa.JSON().with_variant(postgresql.JSONB(astext_type=Text()), "postgresql"),
            nullable=False,
        ),
        sa.Column("asset_id", sa.Uuid(), nullable=True),
        sa.Column("status", sqlmodel.sql.sqltypes.AutoString(length=16), nullable=False),
        sa.Column("created_at", shifty_ent.core.types.UTCDateTime(timezone=True), nullable=False),
        sa.Column("created_by", sqlmodel.sql.sqltypes.AutoString(length=128), nullable=False),
        sa.ForeignKeyConstraint(
            ["tenant_id", "asset_id"],
            ["data_assets.tenant_id", "data_assets.id"],
        ),
        sa.ForeignKeyConstraint(
            ["tenant_id", "model_id"],
            ["registered_models.tenant_id", "registered_models.id"],
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["tenant_id"],
            ["tenants.id"],
        ),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("model_id", "version", name="uq_model_versions_version"),
        sa.UniqueConstraint("tenant_id", "id", name="uq_model_versions_tenant_id"),
    )
    with op.batch_alter_table("model_versions", schema=None) as batch_op:
        batch_op.create_index(
            "ix_model_versions_list", ["tenant_id", "name", "version"], unique=False
        )
        batch_op.create_index(
            batch_op.f("ix_model_versions_tenant_id"), ["tenant_id"], unique=False
        )

    op.create_table(
        "model_aliases",
        sa.Column("tenant_id", sa.Uuid(), nullable=False),
        sa.Column("model_id", sa.Uuid(), nullable=False),
        sa.Column("alias", sqlmodel.sql.sqltypes.AutoString(length=64), nullable=False),
        sa.Column("version_id", sa.Uuid(), nullable=False),
        sa.Column("updated_at", shifty_ent.core.types.UTCDateTime(timezone=True), nullable=False),
        sa.Column("updated_by", sqlmodel.sql.sqltypes.AutoString(length=128), nullable=False),
        sa.ForeignKeyConstraint(
            ["tenant_id", "model_id"],
            ["registered_models.tenant_id", "registered_models.id"],
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["tenant_id", "version_id"],
            ["model_versions.tenant_id", "model_versions.id"],
        ),
        sa.ForeignKeyConstraint(
            ["tenant_id"],
            ["tenants.id"],
        ),
        sa.PrimaryKeyConstraint("tenant_id", "model_id", "alias"),
    )
    op.create_table(
        "model_deployments",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("tenant_id", sa.Uuid(), nullable=False),
        sa.Column("version_id", sa.Uuid(), nullable=False),
        sa.Column("instance_id", sa.Uuid(), nullable=False),
        sa.Column("replicas", sa.Integer(), nullable=False),
        sa.Column("endpoint_url", sa.Text(), nullable=True),
        sa.Column("status", sqlmodel.sql.sqltypes.AutoString(length=16), nullable=False),
        sa.Column(
            "health",
            sa.JSON().with_variant(postgresql.JSONB(astext_type=Text()), "postgresql"),
            nullable=False,
        ),
        sa.Column("checked_at", shifty_ent.core.types.UTCDateTime(timezone=True), nullable=True),
        sa.Column("created_at", shifty_ent.core.types.UTCDateTime(timezone=True), nullable=False),
        sa.Column("created_by", sqlmodel.sql.sqltypes.AutoString(length=128), nullable=False),
        sa.Column("stopped_at", shifty_ent.core.types.UTCDateTime(timezone=True), nullable=True),
        sa.Column("stopped_by", sqlmodel.sql.sqltypes.AutoString(length=128), nullable=True),
        sa.ForeignKeyConstraint(
            ["tenant_id", "version_id"],
            ["model_versions.tenant_id", "model_versions.id"],
        ),
        sa.ForeignKeyConstraint(
            ["tenant_id"],
            ["tenants.id"],
        ),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("tenant_id", "id", name="uq_model_deployments_tenant_id"),
    )
    with op.batch_alter_table("model_deployments", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_model_deployments_tenant_id"), ["tenant_id"], unique=False
        )
        batch_op.create_index(
            batch_op.f("ix_model_deployments_version_id"), ["version_id"], unique=False
        )

    op.create_table(
        "model_evaluations",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("tenant_id", sa.Uuid(), nullable=False),
        sa.Column("version_id", sa.Uuid(), nullable=False),
        sa.Column("type", sqlmodel.sql.sqltypes.AutoString(length=16), nullable=False),
        sa.Column("method", sqlmodel.sql.sqltypes.AutoString(length=32), nullable=False),
        sa.Column("status", sqlmodel.sql.sqltypes.AutoString(length=16), nullable=False),
        sa.Column("dataset_id", sa.Uuid(), nullable=True),
        sa.Column(
            "metrics",
            sa.JSON().with_variant(postgresql.JSONB(astext_type=Text()), "postgresql"),
            nullable=False,
        ),
        sa.Column(
            "details",
            sa.JSON().with_variant(postgresql.JSONB(astext_type=Text()), "postgresql"),
            nullable=False,
        ),
        sa.Column(
            "mission_ids",
            sa.JSON().with_variant(postgresql.JSONB(astext_type=Text()), "postgresql"),
            nullable=False,
        ),
        sa.Column("created_at", shifty_ent.core.types.UTCDateTime(timezone=True), nullable=False),
        sa.Column("created_by", sqlmodel.sql.sqltypes.AutoString(length=128), nullable=False),
        sa.Column("completed_at", shifty_ent.core.types.UTCDateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(
            ["tenant_id", "dataset_id"],
            ["data_assets.tenant_id", "data_assets.id"],
        ),
        sa.ForeignKeyConstraint(
            ["tenant_id", "version_id"],
            ["model_versions.tenant_id", "model_versions.id"],
        ),
        sa.ForeignKeyConstraint(
            ["tenant_id"],
            ["tenants.id"],
        ),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("tenant_id", "id", name="uq_model_evaluations_tenant_id"),
    )
    with op.batch_alter_table("model_evaluations", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_model_evaluations_tenant_id"), ["tenant_id"], unique=False
        )
        batch_op.create_index(
            batch_op.f("ix_model_evaluations_version_id"), ["version_id"], unique=False
        )

    op.create_table(
        "training_jobs",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("tenant_id", sa.Uuid(), nullable=False),
        sa.Column("base_model_id", sa.Uuid(), nullable=False),
        sa.Column("dataset_id", sa.Uuid(), nullable=False),
        sa.Column("method", sqlmodel.sql.sqltypes.AutoString(length=16), nullable=False),
        sa.Column(
            "hyperparameters",
            sa.JSON().with_variant(postgresql.JSONB(astext_type=Text()), "postgresql"),
            nullable=False,
        ),
        sa.Column("status", sqlmodel.sql.sqltypes.AutoString(length=16), nullable=False),
        sa.Column("cancel_requested", sa.Boolean(), nullable=False),
        sa.Column(
            "cancel_requested_by", sqlmodel.sql.sqltypes.AutoString(length=128), nullable=True
        ),
        sa.Column("claimed_by", sqlmodel.sql.sqltypes.AutoString(length=200), nullable=True),
        sa.Column(
            "progress",
            sa.JSON().with_variant(postgresql.JSONB(astext_type=Text()), "postgresql"),
            nullable=False,
        ),
        sa.Column(
            "metrics",
            sa.JSON().with_variant(postgresql.JSONB(astext_type=Text()), "postgresql"),
            nullable=False,
        ),
        sa.Column("error", sa.Text(), nullable=True),
        sa.Column("output_version_id", sa.Uuid(), nullable=True),
        sa.Column("output_dir", sa.Text(), nullable=True),
        sa.Column("created_at", shifty_ent.core.types.UTCDateTime(timezone=True), nullable=False),
        sa.Column("created_by", sqlmodel.sql.sqltypes.AutoString(length=128), nullable=False),
        sa.Column("started_at", shifty_ent.core.types.UTCDateTime(timezone=True), nullable=True),
        sa.Column("finished_at", shifty_ent.core.types.UTCDateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(
            ["tenant_id", "base_model_id"],
            ["model_versions.tenant_id", "model_versions.id"],
        ),
        sa.ForeignKeyConstraint(
            ["tenant_id", "dataset_id"],
            ["data_assets.tenant_id", "data_assets.id"],
        ),
        sa.ForeignKeyConstraint(
            ["tenant_id", "output_version_id"],
            ["model_versions.tenant_id", "model_versions.id"],
        ),
        sa.ForeignKeyConstraint(
            ["tenant_id"],
            ["tenants.id"],
        ),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("tenant_id", "id", name="uq_training_jobs_tenant_id"),
    )
    with op.batch_alter_table("training_jobs", schema=None) as batch_op:
        batch_op.create_index("ix_training_jobs_queue", ["status", "created_at"], unique=False)
        batch_op.create_index(batch_op.f("ix_training_jobs_tenant_id"), ["tenant_id"], unique=False)

    op.create_table(
        "training_points",
        sa.Column("tenant_id", sa.Uuid(), nullable=False),
        sa.Column("job_id", sa.Uuid(), nullable=False),
        sa.Column("step", sa.Integer(), nullable=False),
        sa.Column("epoch", sa.Float(), nullable=False),
        sa.Column("loss", sa.Float(), nullable=False),
        sa.Column("learning_rate", sa.Float(), nullable=False),
        sa.Column("at", shifty_ent.core.types.UTCDateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["tenant_id", "job_id"],
            ["training_jobs.tenant_id", "training_jobs.id"],
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["tenant_id"],
            ["tenants.id"],
        ),
        sa.PrimaryKeyConstraint("tenant_id", "job_id", "step"),
    )


def downgrade() -> None:
    op.drop_table("training_points")
    with op.batch_alter_table("training_jobs", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_training_jobs_tenant_id"))
        batch_op.drop_index("ix_training_jobs_queue")

    op.drop_table("training_jobs")
    with op.batch_alter_table("model_evaluations", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_model_evaluations_version_id"))
        batch_op.drop_index(batch_op.f("ix_model_evaluations_tenant_id"))

    op.drop_table("model_evaluations")
    with op.batch_alter_table("model_deployments", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_model_deployments_version_id"))
        batch_op.drop_index(batch_op.f("ix_model_deployments_tenant_id"))

    op.drop_table("model_deployments")
    op.drop_table("model_aliases")
    with op.batch_alter_table("model_versions", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_model_versions_tenant_id"))
        batch_op.drop_index("ix_model_versions_list")

    op.drop_table("model_versions")
    with op.batch_alter_table("model_alias_events", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_model_alias_events_tenant_id"))

    op.drop_table("model_alias_events")
    with op.batch_alter_table("registered_models", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_registered_models_tenant_id"))

    op.drop_table("registered_models")
