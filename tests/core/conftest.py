"""Fixtures for kernel tests."""

from __future__ import annotations

from pathlib import Path

import pytest


@pytest.fixture
def sqlite_file(db_url: str, backend: str) -> Path:
    """The test store's SQLite file; PostgreSQL runs skip (file locks and read-only opening are
    SQLite's alone)."""
    from shifty_ent.core import store

    if backend != "sqlite":
        pytest.skip("SQLite file behaviour (write lock, read-only opening); not PostgreSQL's")
    path = store.sqlite_path(db_url)
    assert path is not None
    return path
