"""Fixtures for data-lifecycle tests: an allowed data root with files in it."""

from __future__ import annotations

import os
from datetime import datetime, timedelta
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


def ingest(cli: Any, src: Path, name: str, classification: str = "phi") -> Any:
    """Ingest ``src`` into acme's vault as olga; returns the asset's JSON."""
    return cli.ok(
        "data", "asset", "ingest", str(src), "--name", name, "--classification", classification,
        user="olga", tenant="acme",
    )  # fmt: skip


def vault_and_archive(
    cli: Any, root: Path, register: Any, tmp_path: Path, names: tuple[str, ...]
) -> dict[str, Any]:
    """Vault assets ``names`` (1.3 MB each, so several chunks) and one file swept into the archive
    under a retention policy; returns the vault sources and the archived file's content."""
    sources = {n: make_file(tmp_path / "in" / f"{n}.bin", 1_300_000) for n in names}
    for name, src in sources.items():
        ingest(cli, src, name)
    cli.ok(
        "data", "policy", "create", "int", "-c", "internal", "--retention-days", "1",
        "--auto-delete", "--archive-before-delete", user="olga", tenant="acme",
    )  # fmt: skip
    gone = make_file(root / "gone.csv", 50_000)
    content = gone.read_bytes()
    asset = register("gone", gone, "internal")
    later = datetime.fromisoformat(asset["expires_at"]) + timedelta(hours=1)
    env = {"SHIFTY_NOW": later.isoformat()}
    assert len(cli.ok("data", "sweep", user="olga", tenant="acme", env=env)["archived"]) == 1
    return {"sources": sources, "archived": content}


def create_policy(
    cli: Any, *extra: str, name: str = "conf", cls: str = "confidential", days: str = "30"
) -> Any:
    """``data policy create`` in acme as olga (``extra``: more options); returns its JSON."""
    return cli.ok(
        "data",
        "policy",
        "create",
        name,
        "--classification",
        cls,
        "--retention-days",
        days,
        *extra,
        user="olga",
        tenant="acme",
    )
