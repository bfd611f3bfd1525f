"""audit_v2: audit events record the format of their hash input

Revision ID: 0011_audit_v2
Revises: 0008_identity
Create Date: 2026-12-04

``audit_events.v``: 1 for every event written before this revision (their hash input stays as it
was), 2 for events appended from now on, whose hash also covers ``tenant_id`` and ``v`` (see
``shifty_ent.core.audit_walk`` and docs/evidence.md). Adding a column with a constant default
rewrites no rows on either backend, so a store with millions of events upgrades at once.

Order: this revision runs right after ``0008_identity`` and before ``0009_tenant_roots`` (whose
migration appends audit events through the current code, which writes ``v``), whatever its number.
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0011_audit_v2"
down_revision: str | Sequence[str] | None = "0008_identity"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("audit_events", schema=None) as batch_op:
        batch_op.add_column(sa.Column("v", sa.Integer(), server_default="1", nullable=False))


def downgrade() -> None:
    with op.batch_alter_table("audit_events", schema=None) as batch_op:
        batch_op.drop_column("v")
