"""report: signed reports

Revision ID: 0006_report
Revises: 0001_platform
Create Date: 2026-11-27 07:20:16.330711
"""

from collections.abc import Sequence

import sqlalchemy as sa
import sqlmodel.sql.sqltypes
from alembic import op

import shifty_ent.core.types

revision: str = "0006_report"
down_revision: str | Sequence[str] | None = "0001_platform"
branch_labels: str | Sequence[str] | None = ("report",)
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "reports",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("tenant_id", sa.Uuid(), nullable=False),
        sa.Column("type", sqlmodel.sql.sqltypes.AutoString(length=32), nullable=False),
        sa.Column("format", sqlmodel.sql.sqltypes.AutoString(length=8), nullable=False),
        sa.Column("period_start", shifty_ent.core.types.UTCDateTime(timezone=True), nullable=False),
        sa.Column("period_end", shifty_ent.core.types.UTCDateTime(timezone=True), nullable=False),
        sa.Column("generated_by", sqlmodel.sql.sqltypes.AutoString(length=128), nullable=False),
        sa.Column("generated_at", shifty_ent.core.types.UTCDateTime(timezone=True), nullable=False),
        sa.Column("tool_version", sqlmodel.sql.sqltypes.AutoString(length=32), nullable=False),
        sa.Column("path", sqlmodel.sql.sqltypes.AutoString(length=4096), nullable=False),
        sa.Column("size_bytes", sa.BigInteger(), nullable=False),
        sa.Column("content_sha256", sqlmodel.sql.sqltypes.AutoString(length=64), nullable=False),
        sa.Column("signature", sqlmodel.sql.sqltypes.AutoString(length=128), nullable=False),
        sa.Column("key_fingerprint", sqlmodel.sql.sqltypes.AutoString(length=80), nullable=False),
        sa.Column("audit_head_seq", sa.Integer(), nullable=False),
        sa.Column("audit_head_hash", sqlmodel.sql.sqltypes.AutoString(length=64), nullable=False),
        sa.Column("row_count", sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(
            ["tenant_id"],
            ["tenants.id"],
        ),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("tenant_id", "id", name="uq_reports_tenant_id"),
    )
    with op.batch_alter_table("reports", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_reports_tenant_id"), ["tenant_id"], unique=False)
        batch_op.create_index(batch_op.f("ix_reports_type"), ["type"], unique=False)


def downgrade() -> None:
    with op.batch_alter_table("reports", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_reports_type"))
        batch_op.drop_index(batch_op.f("ix_reports_tenant_id"))

    op.drop_table("reports")
