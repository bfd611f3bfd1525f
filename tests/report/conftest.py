"""Fixtures for report tests: an allowed data root and helpers to populate the data group."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import pytest


@pytest.fixture
def root(tmp_path: Path, cli: Any, tenant: Any) -> Path:
    """A data root of ``acme`` on this host (alice is the installation administrator)."""
    path = tmp_path / "dataroot"
    path.mkdir()
    cli.ok("tenant", "root", "add", str(path), "-t", "acme")
    return path


def make_file(path: Path, size: int = 4096) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(os.urandom(size))
    return path


@pytest.fixture
def register(cli: Any, root: Path) -> Any:
    """Register a local file asset as olga; returns its JSON."""

    def _register(name: str, classification: str = "confidential", **kw: Any) -> Any:
        f = make_file(root / f"{name}.bin", kw.pop("size", 4096))
        return cli.ok(
            "data",
            "asset",
            "register",
            name,
            "--type",
            kw.pop("type", "dataset"),
            "--classification",
            classification,
            "--location",
            str(f),
            user="olga",
            tenant="acme",
            **kw,
        )

    return _register
