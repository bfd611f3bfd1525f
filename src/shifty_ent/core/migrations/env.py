"""Alembic environment: one schema for SQLite (batch mode) and PostgreSQL.

Run through ``shifty-ent db upgrade`` (or the embedded store's first use), which hands us an open
connection in ``config.attributes["connection"]``.
"""

from __future__ import annotations

from typing import Any

from alembic import context
from sqlalchemy import create_engine
from sqlmodel import SQLModel

from shifty_ent.core.store import load_all_tables

load_all_tables()
target_metadata = SQLModel.metadata


_only = context.config.attributes.get("include_tables")


def _include(obj: Any, name: str | None, type_: str, reflected: bool, compare_to: Any) -> bool:
    """scripts/new_migration.py limits autogenerate to one group's tables."""
    if _only is None:
        return True
    table = obj if type_ == "table" else getattr(obj, "table", None)
    return table is None or table.name in _only


def _run(connection: Any) -> None:
    context.configure(
        connection=connection,
        target_metadata=target_metadata,
        include_object=_include,
        render_as_batch=connection.dialect.name == "sqlite",
        compare_type=True,
    )
    with context.begin_transaction():
        context.run_migrations()


connection = context.config.attributes.get("connection")
if connection is not None:
    _run(connection)
else:  # plain `alembic` command line, for developers writing migrations
    url = context.config.get_main_option("sqlalchemy.url")
    if not url:
        raise SystemExit("alembic: set sqlalchemy.url to the database to migrate")
    engine = create_engine(url)
    with engine.begin() as conn:
        _run(conn)
