"""Fixtures for data-lifecycle tests: an allowed data root with files in it."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import pytest


@pytest.fixture
def root(tmp_path: Path, cli: Any, tenant: Any) -> Path:
    """A data root of ``acme`` on this host, given by alice (the installation administrator)."""
    path = tmp_path / "dataroot"
    path.mkdir()
    cli.ok("tenant", "root", "add", str(path), "-t", "acme")
    return path


def make_file(path: Path, size: int = 100_000, byte: bytes | None = None) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(byte * size if byte else os.urandom(size))
    return path


@pytest.fixture
def register(cli: Any) -> Any:
    """Register a local asset as olga; returns its JSON."""

    def _register(
        name: str, location: Path | str, classification: str = "confidential", *extra: str
    ) -> Any:
        return cli.ok(
            "data",
            "asset",
            "register",
            name,
            "--type",
            "dataset",
            "--classification",
            classification,
            "--location",
            str(location),
            *extra,
            user="olga",
            tenant="acme",
        )

    return _register
