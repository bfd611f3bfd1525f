"""model: SQLite index that holds `model list`'s id and time text, in its order

Revision ID: 0007_model_listing
Revises: 0005_model
Create Date: 2026-11-27 14:10:00

SQLite stores a UUID as 32 hex digits and a time as "YYYY-MM-DD HH:MM:SS.ffffff"; the listing
prints both in their canonical text. An index on those two expressions (after the listing's
ORDER BY columns) lets SQLite read them precomputed instead of formatting every row, and walk the
versions in order without a sort. The expressions must match `shifty_ent.model.listing`'s
listing query character for character; a test checks that SQLite reads them from this index.
PostgreSQL hands back UUIDs and times as values and needs none of it.
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0007_model_listing"
down_revision: str | Sequence[str] | None = "0005_model"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

INDEX = "ix_model_versions_listing"
COLUMNS = (
    "tenant_id",
    "name",
    "version DESC",
    "(substr(id, 1, 8) || '-' || substr(id, 9, 4) || '-' || substr(id, 13, 4) || '-' || "
    "substr(id, 17, 4) || '-' || substr(id, 21))",
    "(replace(replace(created_at, '.000000', ''), ' ', 'T') || '+00:00')",
)


def upgrade() -> None:
    if op.get_bind().dialect.name == "sqlite":
        op.create_index(INDEX, "model_versions", [sa.text(c) for c in COLUMNS], unique=False)


def downgrade() -> None:
    if op.get_bind().dialect.name == "sqlite":
        op.drop_index(INDEX, table_name="model_versions")
