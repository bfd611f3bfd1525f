"""remote training: where a training job runs on a GPU instance over SSH

Revision ID: 0015_remote_training
Revises: 0010_pg_guard
Create Date: 2026-12-02

- ``remote_training_runs``: one row per job that runs on a tenant's GPU instance (``model train
  start --on-gpu``): the instance, whether the job rented it, the SSH address and the pinned host
  key, the remote work directory and process, the local follower and its heartbeat, timings.
  Tenant-owned: on PostgreSQL the per-tenant policies of ``0010_pg_guard`` cover it too.
"""

from collections.abc import Sequence

import sqlalchemy as sa
import sqlmodel.sql.sqltypes
from alembic import op
from sqlalchemy import Text
from sqlalchemy.dialects import postgresql

import shifty_ent.core.types

revision: str = "0015_remote_training"
down_revision: str | Sequence[str] | None = "0014_serving"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "remote_training_runs",
        sa.Column("tenant_id", sa.Uuid(), nullable=False),
        sa.Column("job_id", sa.Uuid(), nullable=False),
        sa.Column("instance_id", sa.Uuid(), nullable=True),
        sa.Column("rented", sa.Boolean(), nullable=False),
        sa.Column("phase", sqlmodel.sql.sqltypes.AutoString(length=16), nullable=False),
        sa.Column("ssh_user", sqlmodel.sql.sqltypes.AutoString(length=64), nullable=True),
        sa.Column("ssh_host", sqlmodel.sql.sqltypes.AutoString(length=255), nullable=True),
        sa.Column("ssh_port", sa.Integer(), nullable=True),
        sa.Column("host_key", Text(), nullable=True),
        sa.Column("workdir", Text(), nullable=True),
        sa.Column("remote_pid", sa.Integer(), nullable=True),
        sa.Column("follower", sqlmodel.sql.sqltypes.AutoString(length=200), nullable=True),
        sa.Column("heartbeat_at", shifty_ent.core.types.UTCDateTime(timezone=True), nullable=True),
        sa.Column("poll_seconds", sa.Float(), nullable=False),
        sa.Column(
            "timings",
            sa.JSON().with_variant(postgresql.JSONB(astext_type=Text()), "postgresql"),
            nullable=False,
        ),
        sa.Column("created_at", shifty_ent.core.types.UTCDateTime(timezone=True), nullable=False),
        sa.Column("updated_at", shifty_ent.core.types.UTCDateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(
            ["tenant_id", "job_id"],
            ["training_jobs.tenant_id", "training_jobs.id"],
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(["tenant_id"], ["tenants.id"]),
        sa.PrimaryKeyConstraint("tenant_id", "job_id"),
    )
    if op.get_bind().dialect.name == "postgresql":
        op.execute("SELECT shifty_apply_tenant_rls()")


def downgrade() -> None:
    op.drop_table("remote_training_runs")
