"""arcade: missions, slots, answers, profiles, badges, datasets

Revision ID: 0004_arcade
Revises: 0001_platform
Create Date: 2026-11-27 07:29:50.591524
"""

from collections.abc import Sequence

import sqlalchemy as sa
import sqlmodel.sql.sqltypes
from alembic import op
from sqlalchemy import Text
from sqlalchemy.dialects import postgresql

import shifty_ent.core.types

revision: str = "0004_arcade"
down_revision: str | Sequence[str] | None = "0001_platform"
branch_labels: str | Sequence[str] | None = ("arcade",)
depends_on: str | Sequence[str] | None = None

PROFILE_INDEXES = {
    "ix_arcade_profiles_xp": ["tenant_id", "xp DESC", "username"],
    "ix_arcade_profiles_week": ["tenant_id", "week_start", "xp_week DESC", "username"],
    "ix_arcade_profiles_missions": ["tenant_id", "missions_completed DESC", "username"],
    "ix_arcade_profiles_accuracy": [
        "tenant_id",
        "ranked_accuracy DESC",
        "gold_answers DESC",
        "username",
    ],
    "ix_arcade_profiles_streak": ["tenant_id", "streak_days DESC", "username"],
}


def upgrade() -> None:
    op.create_table(
        "arcade_active_days",
        sa.Column("tenant_id", sa.Uuid(), nullable=False),
        sa.Column("username", sqlmodel.sql.sqltypes.AutoString(length=128), nullable=False),
        sa.Column("day", sa.Date(), nullable=False),
        sa.ForeignKeyConstraint(
            ["tenant_id"],
            ["tenants.id"],
        ),
        sa.PrimaryKeyConstraint("tenant_id", "username", "day"),
    )
    op.create_table(
        "arcade_badges",
        sa.Column("tenant_id", sa.Uuid(), nullable=False),
        sa.Column("username", sqlmodel.sql.sqltypes.AutoString(length=128), nullable=False),
        sa.Column("badge", sqlmodel.sql.sqltypes.AutoString(length=32), nullable=False),
        sa.Column("awarded_at", shifty_ent.core.types.UTCDateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["tenant_id"],
            ["tenants.id"],
        ),
        sa.PrimaryKeyConstraint("tenant_id", "username", "badge"),
    )
    op.create_table(
        "arcade_datasets",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("tenant_id", sa.Uuid(), nullable=False),
        sa.Column("name", sqlmodel.sql.sqltypes.AutoString(length=128), nullable=False),
        sa.Column("mission_type", sqlmodel.sql.sqltypes.AutoString(length=32), nullable=False),
        sa.Column("description", sqlmodel.sql.sqltypes.AutoString(length=2000), nullable=True),
        sa.Column("min_agreement", sa.Float(), nullable=False),
        sa.Column("rows", sa.Integer(), nullable=False),
        sa.Column("classification", sqlmodel.sql.sqltypes.AutoString(length=16), nullable=False),
        sa.Column("path", sqlmodel.sql.sqltypes.AutoString(length=1024), nullable=False),
        sa.Column("card_path", sqlmodel.sql.sqltypes.AutoString(length=1024), nullable=False),
        sa.Column("sha256", sqlmodel.sql.sqltypes.AutoString(length=64), nullable=False),
        sa.Column("size_bytes", sa.Integer(), nullable=False),
        sa.Column("asset_id", sa.Uuid(), nullable=True),
        sa.Column("created_at", shifty_ent.core.types.UTCDateTime(timezone=True), nullable=False),
        sa.Column("created_by", sqlmodel.sql.sqltypes.AutoString(length=128), nullable=False),
        sa.ForeignKeyConstraint(
            ["tenant_id"],
            ["tenants.id"],
        ),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("tenant_id", "id", name="uq_arcade_datasets_tenant_id"),
        sa.UniqueConstraint("tenant_id", "name", name="uq_arcade_datasets_name"),
    )
    with op.batch_alter_table("arcade_datasets", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_arcade_datasets_tenant_id"), ["tenant_id"], unique=False
        )

    op.create_table(
        "arcade_missions",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("tenant_id", sa.Uuid(), nullable=False),
        sa.Column("type", sqlmodel.sql.sqltypes.AutoString(length=32), nullable=False),
        sa.Column("status", sqlmodel.sql.sqltypes.AutoString(length=16), nullable=False),
        sa.Column(
            "payload",
            sa.JSON().with_variant(postgresql.JSONB(astext_type=Text()), "postgresql"),
            nullable=False,
        ),
        sa.Column(
            "options",
            sa.JSON().with_variant(postgresql.JSONB(astext_type=Text()), "postgresql"),
            nullable=False,
        ),
        sa.Column("gold", sqlmodel.sql.sqltypes.AutoString(length=128), nullable=True),
        sa.Column("overlap", sa.Integer(), nullable=False),
        sa.Column("needed", sa.Integer(), nullable=False),
        sa.Column("answer_count", sa.Integer(), nullable=False),
        sa.Column("reward", sa.Integer(), nullable=False),
        sa.Column("min_level", sa.Integer(), nullable=False),
        sa.Column("classification", sqlmodel.sql.sqltypes.AutoString(length=16), nullable=False),
        sa.Column("subject_ref", sqlmodel.sql.sqltypes.AutoString(length=128), nullable=True),
        sa.Column("settled_result", sqlmodel.sql.sqltypes.AutoString(length=128), nullable=True),
        sa.Column("agreement", sa.Float(), nullable=True),
        sa.Column("settled_at", shifty_ent.core.types.UTCDateTime(timezone=True), nullable=True),
        sa.Column("created_at", shifty_ent.core.types.UTCDateTime(timezone=True), nullable=False),
        sa.Column("created_by", sqlmodel.sql.sqltypes.AutoString(length=128), nullable=False),
        sa.Column("cancelled_at", shifty_ent.core.types.UTCDateTime(timezone=True), nullable=True),
        sa.Column("cancelled_by", sqlmodel.sql.sqltypes.AutoString(length=128), nullable=True),
        sa.Column("cancel_reason", sqlmodel.sql.sqltypes.AutoString(length=500), nullable=True),
        sa.ForeignKeyConstraint(
            ["tenant_id"],
            ["tenants.id"],
        ),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("tenant_id", "id", name="uq_arcade_missions_tenant_id"),
    )
    with op.batch_alter_table("arcade_missions", schema=None) as batch_op:
        batch_op.create_index(
            "ix_arcade_missions_open", ["tenant_id", "status", "created_at"], unique=False
        )
        batch_op.create_index(
            batch_op.f("ix_arcade_missions_settled_at"), ["settled_at"], unique=False
        )
        batch_op.create_index(
            "ix_arcade_missions_subject", ["tenant_id", "subject_ref"], unique=False
        )
        batch_op.create_index(
            batch_op.f("ix_arcade_missions_tenant_id"), ["tenant_id"], unique=False
        )
        batch_op.create_index(
            "ix_arcade_missions_type", ["tenant_id", "type", "status"], unique=False
        )

    op.create_table(
        "arcade_profiles",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("tenant_id", sa.Uuid(), nullable=False),
        sa.Column("username", sqlmodel.sql.sqltypes.AutoString(length=128), nullable=False),
        sa.Column("xp", sa.Integer(), nullable=False),
        sa.Column("level", sa.Integer(), nullable=False),
        sa.Column("coins", sa.Integer(), nullable=False),
        sa.Column("missions_completed", sa.Integer(), nullable=False),
        sa.Column("missions_settled", sa.Integer(), nullable=False),
        sa.Column("flagged_count", sa.Integer(), nullable=False),
        sa.Column("gold_answers", sa.Integer(), nullable=False),
        sa.Column("gold_correct", sa.Integer(), nullable=False),
        sa.Column("consensus_answers", sa.Integer(), nullable=False),
        sa.Column("consensus_correct", sa.Integer(), nullable=False),
        sa.Column("ranked_accuracy", sa.Float(), nullable=True),
        sa.Column("week_start", sa.Date(), nullable=True),
        sa.Column("xp_week", sa.Integer(), nullable=False),
        sa.Column("xp_day", sa.Date(), nullable=True),
        sa.Column("xp_today", sa.Integer(), nullable=False),
        sa.Column("streak_days", sa.Integer(), nullable=False),
        sa.Column("best_streak", sa.Integer(), nullable=False),
        sa.Column("last_active_day", sa.Date(), nullable=True),
        sa.Column("updated_at", shifty_ent.core.types.UTCDateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(
            ["tenant_id"],
            ["tenants.id"],
        ),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("tenant_id", "username", name="uq_arcade_profiles_user"),
    )
    # one index per leaderboard in the board's ORDER BY (autogenerate skips expression indexes)
    for name, columns in PROFILE_INDEXES.items():
        op.create_index(name, "arcade_profiles", [sa.text(c) for c in columns], unique=False)
    op.create_table(
        "arcade_answers",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("tenant_id", sa.Uuid(), nullable=False),
        sa.Column("mission_id", sa.Uuid(), nullable=False),
        sa.Column("mission_type", sqlmodel.sql.sqltypes.AutoString(length=32), nullable=False),
        sa.Column("username", sqlmodel.sql.sqltypes.AutoString(length=128), nullable=False),
        sa.Column("option", sqlmodel.sql.sqltypes.AutoString(length=128), nullable=False),
        sa.Column("confidence", sa.Float(), nullable=True),
        sa.Column("notes", sqlmodel.sql.sqltypes.AutoString(length=2000), nullable=True),
        sa.Column("assigned_at", shifty_ent.core.types.UTCDateTime(timezone=True), nullable=False),
        sa.Column("completed_at", shifty_ent.core.types.UTCDateTime(timezone=True), nullable=False),
        sa.Column("dwell_seconds", sa.Float(), nullable=False),
        sa.Column("flagged", sa.Boolean(), nullable=False),
        sa.Column("flag_reason", sqlmodel.sql.sqltypes.AutoString(length=64), nullable=True),
        sa.Column("is_gold", sa.Boolean(), nullable=False),
        sa.Column("correct", sa.Boolean(), nullable=True),
        sa.Column("xp_earned", sa.Integer(), nullable=False),
        sa.Column("xp_awarded", sa.Integer(), nullable=False),
        sa.Column("settled_at", shifty_ent.core.types.UTCDateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(
            ["tenant_id", "mission_id"],
            ["arcade_missions.tenant_id", "arcade_missions.id"],
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["tenant_id"],
            ["tenants.id"],
        ),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("tenant_id", "id", name="uq_arcade_answers_tenant_id"),
        sa.UniqueConstraint("tenant_id", "mission_id", "username", name="uq_arcade_answer_once"),
    )
    with op.batch_alter_table("arcade_answers", schema=None) as batch_op:
        batch_op.create_index(
            "ix_arcade_answers_completed", ["tenant_id", "completed_at"], unique=False
        )
        batch_op.create_index("ix_arcade_answers_user", ["tenant_id", "username"], unique=False)

    op.create_table(
        "arcade_slots",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("tenant_id", sa.Uuid(), nullable=False),
        sa.Column("mission_id", sa.Uuid(), nullable=False),
        sa.Column("slot_no", sa.Integer(), nullable=False),
        sa.Column("state", sqlmodel.sql.sqltypes.AutoString(length=8), nullable=False),
        sa.Column("holder", sqlmodel.sql.sqltypes.AutoString(length=128), nullable=True),
        sa.Column("leased_at", shifty_ent.core.types.UTCDateTime(timezone=True), nullable=True),
        sa.Column(
            "lease_expires_at", shifty_ent.core.types.UTCDateTime(timezone=True), nullable=True
        ),
        sa.Column("lease_count", sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(
            ["tenant_id", "mission_id"],
            ["arcade_missions.tenant_id", "arcade_missions.id"],
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["tenant_id"],
            ["tenants.id"],
        ),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("mission_id", "holder", name="uq_arcade_slots_holder"),
        sa.UniqueConstraint("mission_id", "slot_no", name="uq_arcade_slots_no"),
        sa.UniqueConstraint("tenant_id", "id", name="uq_arcade_slots_tenant_id"),
    )
    with op.batch_alter_table("arcade_slots", schema=None) as batch_op:
        batch_op.create_index(
            "ix_arcade_slots_claim", ["tenant_id", "state", "mission_id"], unique=False
        )


def downgrade() -> None:
    with op.batch_alter_table("arcade_slots", schema=None) as batch_op:
        batch_op.drop_index("ix_arcade_slots_claim")

    op.drop_table("arcade_slots")
    with op.batch_alter_table("arcade_answers", schema=None) as batch_op:
        batch_op.drop_index("ix_arcade_answers_user")
        batch_op.drop_index("ix_arcade_answers_completed")

    op.drop_table("arcade_answers")
    for name in PROFILE_INDEXES:
        op.drop_index(name, table_name="arcade_profiles")
    op.drop_table("arcade_profiles")
    with op.batch_alter_table("arcade_missions", schema=None) as batch_op:
        batch_op.drop_index("ix_arcade_missions_type")
        batch_op.drop_index(batch_op.f("ix_arcade_missions_tenant_id"))
        batch_op.drop_index("ix_arcade_missions_subject")
        batch_op.drop_index(batch_op.f("ix_arcade_missions_settled_at"))
        batch_op.drop_index("ix_arcade_missions_open")

    op.drop_table("arcade_missions")
    with op.batch_alter_table("arcade_datasets", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_arcade_datasets_tenant_id"))

    op.drop_table("arcade_datasets")
    op.drop_table("arcade_badges")
    op.drop_table("arcade_active_days")
