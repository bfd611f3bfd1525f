"""data: policies, assets, vault keys, deletion jobs, certificates, notifications, workspaces

Revision ID: 0002_data
Revises: 0001_platform
Create Date: 2026-11-27 07:26:00.399563
"""

from collections.abc import Sequence

import sqlalchemy as sa
import sqlmodel.sql.sqltypes
from alembic import op
from sqlalchemy import Text
from sqlalchemy.dialects import postgresql

import shifty_ent.core.types

revision: str = "0002_data"
down_revision: str | Sequence[str] | None = "0001_platform"
branch_labels: str | Sequence[str] | None = ("data",)
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "deletion_jobs",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("tenant_id", sa.Uuid(), nullable=False),
        sa.Column("status", sqlmodel.sql.sqltypes.AutoString(length=24), nullable=False),
        sa.Column("method", sqlmodel.sql.sqltypes.AutoString(length=32), nullable=False),
        sa.Column(
            "asset_ids",
            sa.JSON().with_variant(postgresql.JSONB(astext_type=Text()), "postgresql"),
            nullable=False,
        ),
        sa.Column("reason", sa.Text(), nullable=False),
        sa.Column("subject", sqlmodel.sql.sqltypes.AutoString(length=200), nullable=True),
        sa.Column("source", sqlmodel.sql.sqltypes.AutoString(length=16), nullable=False),
        sa.Column("requested_by", sqlmodel.sql.sqltypes.AutoString(length=128), nullable=False),
        sa.Column("approved_by", sqlmodel.sql.sqltypes.AutoString(length=128), nullable=True),
        sa.Column("approved_at", shifty_ent.core.types.UTCDateTime(timezone=True), nullable=True),
        sa.Column("auto_approved", sa.Boolean(), nullable=False),
        sa.Column("claim_token", sqlmodel.sql.sqltypes.AutoString(length=64), nullable=True),
        sa.Column("claimed_by", sqlmodel.sql.sqltypes.AutoString(length=200), nullable=True),
        sa.Column(
            "lease_expires_at", shifty_ent.core.types.UTCDateTime(timezone=True), nullable=True
        ),
        sa.Column("attempts", sa.Integer(), nullable=False),
        sa.Column("certificate_id", sa.Uuid(), nullable=True),
        sa.Column(
            "exceptions",
            sa.JSON().with_variant(postgresql.JSONB(astext_type=Text()), "postgresql"),
            nullable=False,
        ),
        sa.Column("error", sa.Text(), nullable=True),
        sa.Column("created_at", shifty_ent.core.types.UTCDateTime(timezone=True), nullable=False),
        sa.Column("started_at", shifty_ent.core.types.UTCDateTime(timezone=True), nullable=True),
        sa.Column("completed_at", shifty_ent.core.types.UTCDateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(
            ["tenant_id"],
            ["tenants.id"],
        ),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("tenant_id", "id", name="uq_deletion_jobs_tenant_id"),
    )
    with op.batch_alter_table("deletion_jobs", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_deletion_jobs_completed_at"), ["completed_at"], unique=False
        )
        batch_op.create_index("ix_deletion_jobs_status", ["tenant_id", "status"], unique=False)
        batch_op.create_index(batch_op.f("ix_deletion_jobs_tenant_id"), ["tenant_id"], unique=False)

    op.create_table(
        "retention_policies",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("tenant_id", sa.Uuid(), nullable=False),
        sa.Column("name", sqlmodel.sql.sqltypes.AutoString(length=64), nullable=False),
        sa.Column(
            "classifications",
            sa.JSON().with_variant(postgresql.JSONB(astext_type=Text()), "postgresql"),
            nullable=False,
        ),
        sa.Column("retention_days", sa.Integer(), nullable=False),
        sa.Column("auto_delete", sa.Boolean(), nullable=False),
        sa.Column("archive_before_delete", sa.Boolean(), nullable=False),
        sa.Column("notify_days", sa.Integer(), nullable=True),
        sa.Column("method", sqlmodel.sql.sqltypes.AutoString(length=32), nullable=False),
        sa.Column("auto_approve", sa.Boolean(), nullable=False),
        sa.Column("created_at", shifty_ent.core.types.UTCDateTime(timezone=True), nullable=False),
        sa.Column("created_by", sqlmodel.sql.sqltypes.AutoString(length=128), nullable=False),
        sa.ForeignKeyConstraint(
            ["tenant_id"],
            ["tenants.id"],
        ),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("tenant_id", "id", name="uq_retention_policies_tenant_id"),
        sa.UniqueConstraint("tenant_id", "name", name="uq_retention_policies_name"),
    )
    with op.batch_alter_table("retention_policies", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_retention_policies_tenant_id"), ["tenant_id"], unique=False
        )

    op.create_table(
        "data_assets",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("tenant_id", sa.Uuid(), nullable=False),
        sa.Column("name", sqlmodel.sql.sqltypes.AutoString(length=200), nullable=False),
        sa.Column("type", sqlmodel.sql.sqltypes.AutoString(length=64), nullable=False),
        sa.Column("classification", sqlmodel.sql.sqltypes.AutoString(length=16), nullable=False),
        sa.Column("location", sa.Text(), nullable=False),
        sa.Column("scheme", sqlmodel.sql.sqltypes.AutoString(length=16), nullable=False),
        sa.Column("size_bytes", sa.BigInteger(), nullable=True),
        sa.Column("sha256", sqlmodel.sql.sqltypes.AutoString(length=64), nullable=True),
        sa.Column("policy_id", sa.Uuid(), nullable=True),
        sa.Column("policy_explicit", sa.Boolean(), nullable=False),
        sa.Column(
            "subjects",
            sa.JSON().with_variant(postgresql.JSONB(astext_type=Text()), "postgresql"),
            nullable=False,
        ),
        sa.Column("status", sqlmodel.sql.sqltypes.AutoString(length=16), nullable=False),
        sa.Column("legal_hold", sa.Boolean(), nullable=False),
        sa.Column("hold_reason", sa.Text(), nullable=True),
        sa.Column("hold_by", sqlmodel.sql.sqltypes.AutoString(length=128), nullable=True),
        sa.Column("hold_at", shifty_ent.core.types.UTCDateTime(timezone=True), nullable=True),
        sa.Column("expires_at", shifty_ent.core.types.UTCDateTime(timezone=True), nullable=True),
        sa.Column("notify_at", shifty_ent.core.types.UTCDateTime(timezone=True), nullable=True),
        sa.Column("open_job_id", sa.Uuid(), nullable=True),
        sa.Column("archive_location", sa.Text(), nullable=True),
        sa.Column("archived_at", shifty_ent.core.types.UTCDateTime(timezone=True), nullable=True),
        sa.Column("created_at", shifty_ent.core.types.UTCDateTime(timezone=True), nullable=False),
        sa.Column("created_by", sqlmodel.sql.sqltypes.AutoString(length=128), nullable=False),
        sa.Column("deleted_at", shifty_ent.core.types.UTCDateTime(timezone=True), nullable=True),
        sa.Column("deleted_by_job_id", sa.Uuid(), nullable=True),
        sa.ForeignKeyConstraint(
            ["tenant_id", "policy_id"],
            ["retention_policies.tenant_id", "retention_policies.id"],
        ),
        sa.ForeignKeyConstraint(
            ["tenant_id"],
            ["tenants.id"],
        ),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("tenant_id", "id", name="uq_data_assets_tenant_id"),
    )
    with op.batch_alter_table("data_assets", schema=None) as batch_op:
        batch_op.create_index(
            "ix_data_assets_due", ["tenant_id", "status", "expires_at"], unique=False
        )
        batch_op.create_index("ix_data_assets_name", ["tenant_id", "name"], unique=False)
        batch_op.create_index(
            "ix_data_assets_notice", ["tenant_id", "status", "notify_at"], unique=False
        )
        batch_op.create_index(batch_op.f("ix_data_assets_tenant_id"), ["tenant_id"], unique=False)

    op.create_table(
        "deletion_certificates",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("tenant_id", sa.Uuid(), nullable=False),
        sa.Column("job_id", sa.Uuid(), nullable=False),
        sa.Column(
            "document",
            sa.JSON().with_variant(postgresql.JSONB(astext_type=Text()), "postgresql"),
            nullable=False,
        ),
        sa.Column("signature", sqlmodel.sql.sqltypes.AutoString(length=200), nullable=False),
        sa.Column("key_fingerprint", sqlmodel.sql.sqltypes.AutoString(length=80), nullable=False),
        sa.Column("public_key", sqlmodel.sql.sqltypes.AutoString(length=128), nullable=False),
        sa.Column("document_sha256", sqlmodel.sql.sqltypes.AutoString(length=64), nullable=False),
        sa.Column("created_at", shifty_ent.core.types.UTCDateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["tenant_id", "job_id"],
            ["deletion_jobs.tenant_id", "deletion_jobs.id"],
        ),
        sa.ForeignKeyConstraint(
            ["tenant_id"],
            ["tenants.id"],
        ),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("job_id", name="uq_deletion_certificates_job"),
        sa.UniqueConstraint("tenant_id", "id", name="uq_deletion_certificates_tenant_id"),
    )
    with op.batch_alter_table("deletion_certificates", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_deletion_certificates_tenant_id"), ["tenant_id"], unique=False
        )

    op.create_table(
        "data_asset_subjects",
        sa.Column("tenant_id", sa.Uuid(), nullable=False),
        sa.Column("asset_id", sa.Uuid(), nullable=False),
        sa.Column("subject", sqlmodel.sql.sqltypes.AutoString(length=200), nullable=False),
        sa.ForeignKeyConstraint(
            ["tenant_id", "asset_id"],
            ["data_assets.tenant_id", "data_assets.id"],
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["tenant_id"],
            ["tenants.id"],
        ),
        sa.PrimaryKeyConstraint("tenant_id", "asset_id", "subject"),
    )
    with op.batch_alter_table("data_asset_subjects", schema=None) as batch_op:
        batch_op.create_index(
            "ix_data_asset_subjects_subject", ["tenant_id", "subject"], unique=False
        )

    op.create_table(
        "data_notifications",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("tenant_id", sa.Uuid(), nullable=False),
        sa.Column("asset_id", sa.Uuid(), nullable=False),
        sa.Column("kind", sqlmodel.sql.sqltypes.AutoString(length=32), nullable=False),
        sa.Column(
            "payload",
            sa.JSON().with_variant(postgresql.JSONB(astext_type=Text()), "postgresql"),
            nullable=False,
        ),
        sa.Column("delivery", sqlmodel.sql.sqltypes.AutoString(length=16), nullable=False),
        sa.Column("attempts", sa.Integer(), nullable=False),
        sa.Column("last_error", sa.Text(), nullable=True),
        sa.Column("created_at", shifty_ent.core.types.UTCDateTime(timezone=True), nullable=False),
        sa.Column("delivered_at", shifty_ent.core.types.UTCDateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(
            ["tenant_id", "asset_id"],
            ["data_assets.tenant_id", "data_assets.id"],
        ),
        sa.ForeignKeyConstraint(
            ["tenant_id"],
            ["tenants.id"],
        ),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("asset_id", "kind", name="uq_data_notifications_asset_kind"),
    )
    with op.batch_alter_table("data_notifications", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_data_notifications_tenant_id"), ["tenant_id"], unique=False
        )

    op.create_table(
        "data_vault_keys",
        sa.Column("asset_id", sa.Uuid(), nullable=False),
        sa.Column("tenant_id", sa.Uuid(), nullable=False),
        sa.Column("kek_id", sqlmodel.sql.sqltypes.AutoString(length=80), nullable=False),
        sa.Column("wrapped_key", sqlmodel.sql.sqltypes.AutoString(length=200), nullable=True),
        sa.Column("algorithm", sqlmodel.sql.sqltypes.AutoString(length=32), nullable=False),
        sa.Column("created_at", shifty_ent.core.types.UTCDateTime(timezone=True), nullable=False),
        sa.Column("destroyed_at", shifty_ent.core.types.UTCDateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(
            ["tenant_id", "asset_id"],
            ["data_assets.tenant_id", "data_assets.id"],
        ),
        sa.ForeignKeyConstraint(
            ["tenant_id"],
            ["tenants.id"],
        ),
        sa.PrimaryKeyConstraint("asset_id"),
    )
    with op.batch_alter_table("data_vault_keys", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_data_vault_keys_tenant_id"), ["tenant_id"], unique=False
        )

    op.create_table(
        "data_workspaces",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("tenant_id", sa.Uuid(), nullable=False),
        sa.Column("name", sqlmodel.sql.sqltypes.AutoString(length=200), nullable=False),
        sa.Column("type", sqlmodel.sql.sqltypes.AutoString(length=16), nullable=False),
        sa.Column("path", sa.Text(), nullable=False),
        sa.Column("asset_id", sa.Uuid(), nullable=False),
        sa.Column("size_allocated_bytes", sa.BigInteger(), nullable=False),
        sa.Column("ttl_seconds", sa.Integer(), nullable=False),
        sa.Column("method", sqlmodel.sql.sqltypes.AutoString(length=32), nullable=False),
        sa.Column("status", sqlmodel.sql.sqltypes.AutoString(length=16), nullable=False),
        sa.Column("usage_bytes", sa.BigInteger(), nullable=True),
        sa.Column(
            "usage_measured_at", shifty_ent.core.types.UTCDateTime(timezone=True), nullable=True
        ),
        sa.Column("created_by", sqlmodel.sql.sqltypes.AutoString(length=128), nullable=False),
        sa.Column("created_at", shifty_ent.core.types.UTCDateTime(timezone=True), nullable=False),
        sa.Column("expires_at", shifty_ent.core.types.UTCDateTime(timezone=True), nullable=False),
        sa.Column("destroyed_at", shifty_ent.core.types.UTCDateTime(timezone=True), nullable=True),
        sa.Column("job_id", sa.Uuid(), nullable=True),
        sa.ForeignKeyConstraint(
            ["tenant_id", "asset_id"],
            ["data_assets.tenant_id", "data_assets.id"],
        ),
        sa.ForeignKeyConstraint(
            ["tenant_id"],
            ["tenants.id"],
        ),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("tenant_id", "id", name="uq_data_workspaces_tenant_id"),
    )
    with op.batch_alter_table("data_workspaces", schema=None) as batch_op:
        batch_op.create_index(
            "ix_data_workspaces_due", ["tenant_id", "status", "expires_at"], unique=False
        )
        batch_op.create_index(
            batch_op.f("ix_data_workspaces_tenant_id"), ["tenant_id"], unique=False
        )

    op.create_table(
        "deletion_items",
        sa.Column("job_id", sa.Uuid(), nullable=False),
        sa.Column("asset_id", sa.Uuid(), nullable=False),
        sa.Column("tenant_id", sa.Uuid(), nullable=False),
        sa.Column("status", sqlmodel.sql.sqltypes.AutoString(length=16), nullable=False),
        sa.Column("sha256_before", sqlmodel.sql.sqltypes.AutoString(length=64), nullable=True),
        sa.Column("size_before", sa.BigInteger(), nullable=True),
        sa.Column("inode", sqlmodel.sql.sqltypes.AutoString(length=80), nullable=True),
        sa.Column("renamed_to", sa.Text(), nullable=True),
        sa.Column("passes_done", sa.Integer(), nullable=False),
        sa.Column(
            "result",
            sa.JSON().with_variant(postgresql.JSONB(astext_type=Text()), "postgresql"),
            nullable=False,
        ),
        sa.Column("error", sa.Text(), nullable=True),
        sa.Column("started_at", shifty_ent.core.types.UTCDateTime(timezone=True), nullable=True),
        sa.Column("completed_at", shifty_ent.core.types.UTCDateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(
            ["tenant_id", "asset_id"],
            ["data_assets.tenant_id", "data_assets.id"],
        ),
        sa.ForeignKeyConstraint(
            ["tenant_id", "job_id"],
            ["deletion_jobs.tenant_id", "deletion_jobs.id"],
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["tenant_id"],
            ["tenants.id"],
        ),
        sa.PrimaryKeyConstraint("job_id", "asset_id"),
    )
    with op.batch_alter_table("deletion_items", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_deletion_items_tenant_id"), ["tenant_id"], unique=False
        )


def downgrade() -> None:
    with op.batch_alter_table("deletion_items", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_deletion_items_tenant_id"))

    op.drop_table("deletion_items")
    with op.batch_alter_table("data_workspaces", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_data_workspaces_tenant_id"))
        batch_op.drop_index("ix_data_workspaces_due")

    op.drop_table("data_workspaces")
    with op.batch_alter_table("data_vault_keys", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_data_vault_keys_tenant_id"))

    op.drop_table("data_vault_keys")
    with op.batch_alter_table("data_notifications", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_data_notifications_tenant_id"))

    op.drop_table("data_notifications")
    with op.batch_alter_table("data_asset_subjects", schema=None) as batch_op:
        batch_op.drop_index("ix_data_asset_subjects_subject")

    op.drop_table("data_asset_subjects")
    with op.batch_alter_table("deletion_certificates", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_deletion_certificates_tenant_id"))

    op.drop_table("deletion_certificates")
    with op.batch_alter_table("data_assets", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_data_assets_tenant_id"))
        batch_op.drop_index("ix_data_assets_notice")
        batch_op.drop_index("ix_data_assets_name")
        batch_op.drop_index("ix_data_assets_due")

    op.drop_table("data_assets")
    with op.batch_alter_table("retention_policies", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_retention_policies_tenant_id"))

    op.drop_table("retention_policies")
    with op.batch_alter_table("deletion_jobs", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_deletion_jobs_tenant_id"))
        batch_op.drop_index("ix_deletion_jobs_status")
        batch_op.drop_index(batch_op.f("ix_deletion_jobs_completed_at"))

    op.drop_table("deletion_jobs")
