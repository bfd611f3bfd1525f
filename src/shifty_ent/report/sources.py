"""Row sources for reports: one consistent read snapshot, keyset pages, flat memory.

A report reads on its own connection inside one read transaction, so every section sees the same
state as the audit head recorded in the report. On SQLite that transaction is ``BEGIN DEFERRED``
(a WAL reader: it never takes the write lock, so cron jobs and other operators keep writing while
a large report runs); on PostgreSQL it is ``REPEATABLE READ READ ONLY``. Large tables are read in
keyset pages (``WHERE (k1, k2) > (:last1, :last2) ORDER BY k1, k2 LIMIT n``), never ``OFFSET`` and
never whole-table loads.
"""

from __future__ import annotations

import importlib.util
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from typing import Any

from sqlalchemy import Select, tuple_
from sqlalchemy.engine import Engine
from sqlalchemy.orm import Session

PAGE = 5000


@contextmanager
def snapshot(engine: Engine) -> Iterator[Session]:
    """A read-only, consistent view of the store for the duration of one report.

    Yields a Session bound to the snapshot connection (so ORM selects return objects); it never
    commits, and :func:`keyset` empties its identity map page by page.
    """
    conn = engine.connect()
    try:
        if engine.dialect.name == "sqlite":
            conn = conn.execution_options(sqlite_begin="DEFERRED")
        else:
            conn = conn.execution_options(
                isolation_level="REPEATABLE READ", postgresql_readonly=True
            )
        with conn.begin():
            session = Session(bind=conn, expire_on_commit=False, autoflush=False)
            try:
                yield session
            finally:
                session.close()
    finally:
        conn.close()


def keyset(
    session: Session,
    stmt: Select[*tuple[Any, ...]],
    keys: Sequence[Any],
    *,
    page: int = PAGE,
) -> Iterator[Any]:
    """Rows of ``stmt`` ordered by ``keys`` (unique together), fetched page by page.

    Works for column selects and for single-entity selects (the key values are then read from
    the entity's attributes). Loaded objects are expunged before the next page, so memory does
    not grow with the table.
    """
    names = [k.key for k in keys]
    last: tuple[Any, ...] | None = None
    while True:
        q = stmt
        if last is not None:
            q = (
                q.where(tuple_(*keys) > tuple_(*last))
                if len(keys) > 1
                else q.where(keys[0] > last[0])
            )
        rows = session.execute(q.order_by(*keys).limit(page)).all()
        if not rows:
            return
        yield from rows
        if len(rows) < page:
            return
        tail = rows[-1]
        mapping = tail._mapping
        if all(n in mapping for n in names):
            last = tuple(mapping[n] for n in names)
        else:
            last = tuple(getattr(tail[0], n) for n in names)
        session.expunge_all()


def group_available(group: str) -> bool:
    """Whether another group's tables module is installed (reports degrade per group)."""
    return importlib.util.find_spec(f"shifty_ent.{group}.tables") is not None
