"""governance: alias policies (protected aliases and their metric gates)

Revision ID: 0012_governance
Revises: 0010_pg_guard
Create Date: 2026-12-05

``model_alias_policies``: one row per (tenant, model, alias) whose policy differs from the
default (``production`` protected, every other alias free, no gates). A protected alias moves only
through ``model promote`` (an approval answered by someone other than its requester, and the
alias' gates met by measured evaluations) or ``model rollback`` (to a version approved for it).

PostgreSQL: the new tenant-owned table gets the per-tenant row-level security and the
``shifty_person`` grants of ``0010_pg_guard`` (``shifty_apply_tenant_rls()``).
"""

from collections.abc import Sequence

import sqlalchemy as sa
import sqlmodel.sql.sqltypes
from alembic import op
from sqlalchemy.dialects import postgresql

import shifty_ent.core.types

revision: str = "0012_governance"
down_revision: str | Sequence[str] | None = "0010_pg_guard"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "model_alias_policies",
        sa.Column("tenant_id", sa.Uuid(), nullable=False),
        sa.Column("model_id", sa.Uuid(), nullable=False),
        sa.Column("alias", sqlmodel.sql.sqltypes.AutoString(length=64), nullable=False),
        sa.Column("protected", sa.Boolean(), nullable=False),
        sa.Column(
            "gates",
            sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), "postgresql"),
            nullable=False,
        ),
        sa.Column("updated_at", shifty_ent.core.types.UTCDateTime(timezone=True), nullable=False),
        sa.Column("updated_by", sqlmodel.sql.sqltypes.AutoString(length=128), nullable=False),
        sa.ForeignKeyConstraint(
            ["tenant_id", "model_id"],
            ["registered_models.tenant_id", "registered_models.id"],
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(["tenant_id"], ["tenants.id"]),
        sa.PrimaryKeyConstraint("tenant_id", "model_id", "alias"),
    )
    if op.get_bind().dialect.name == "postgresql":
        op.execute("SELECT shifty_apply_tenant_rls()")


def downgrade() -> None:
    op.drop_table("model_alias_policies")
