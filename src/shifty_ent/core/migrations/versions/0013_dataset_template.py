"""model: the prompt template stored with a model version

Revision ID: 0013_dataset_template
Revises: 0010_pg_guard
Create Date: 2026-12-02 10:00:00

``model_versions.prompt_template``: the template a fine-tuned version was trained with, so that
``model eval`` renders its prompts exactly as training did (NULL: the default template). A new
column of an existing table: the table-wide grants and row-level policies of ``0010_pg_guard``
cover it unchanged.
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0013_dataset_template"
down_revision: str | Sequence[str] | None = "0012_governance"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.add_column("model_versions", sa.Column("prompt_template", sa.Text(), nullable=True))


def downgrade() -> None:
    op.drop_column("model_versions", "prompt_template")
