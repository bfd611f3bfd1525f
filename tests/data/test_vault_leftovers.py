"""Vault leftovers: an ingest writes under a recognisable temporary name, and the sweep removes
vault files no asset row refers to once they are a day old.

Reproduction on main (issue 17): ``kill -9`` during ``data asset ingest`` of an 813 MB file left
``<vault>/<tenant>/<id>.vault`` (ciphertext whose data key was never stored) that no row refers
to and no command ever removed.
"""

from __future__ import annotations

import os
import time
import uuid
from pathlib import Path
from typing import Any

from sqlalchemy import select

from shifty_ent.core.config import load_settings
from shifty_ent.core.tables import AuditEvent
from tests.data.conftest import make_file


def _vault_dir(cli: Any) -> Path:
    tenant_id = cli.ok("tenant", "show", "acme")["id"]
    folder = load_settings().vault_dir / tenant_id
    folder.mkdir(parents=True, exist_ok=True)
    return folder


def _leftover(folder: Path, name: str, age_s: float) -> Path:
    path = folder / name
    path.write_bytes(os.urandom(1000))
    stamp = time.time() - age_s
    os.utime(path, (stamp, stamp))
    return path


def _events(make_context: Any, action: str) -> list[dict[str, Any]]:
    with make_context(tenant="acme") as ctx:
        rows = ctx.session.scalars(select(AuditEvent).where(AuditEvent.action == action)).all()
        return [dict(row.details) for row in rows]


def test_ingest_leaves_only_the_final_name(cli: Any, tenant: Any, tmp_path: Path) -> None:
    src = make_file(tmp_path / "in.bin", 2_500_000)
    asset = cli.ok(
        "data", "asset", "ingest", str(src), "--name", "in", "--classification", "phi",
        user="olga", tenant="acme",
    )  # fmt: skip
    names = sorted(p.name for p in _vault_dir(cli).iterdir() if p.name.endswith("vault"))
    assert names == [f"{asset['id']}.vault"]
    assert not list(_vault_dir(cli).glob("*.partial"))


def test_sweep_removes_old_orphans_only(
    cli: Any, tenant: Any, tmp_path: Path, make_context: Any
) -> None:
    src = make_file(tmp_path / "in.bin", 10_000)
    kept = cli.ok(
        "data", "asset", "ingest", str(src), "--name", "kept", "--classification", "phi",
        user="olga", tenant="acme",
    )  # fmt: skip
    folder = _vault_dir(cli)
    live = folder / f"{kept['id']}.vault"
    os.utime(live, (time.time() - 3 * 86400,) * 2)  # old, but a row refers to it
    old = _leftover(folder, f"{uuid.uuid4()}.vault", 2 * 86400)
    old_partial = _leftover(folder, f".{uuid.uuid4()}.vault.partial", 2 * 86400)
    fresh = _leftover(folder, f".{uuid.uuid4()}.vault.partial", 3600)
    other = _leftover(folder, "notes.txt", 5 * 86400)

    preview = cli.ok("data", "sweep", "--dry-run", user="olga", tenant="acme")
    assert len(preview["orphans_removed"]) == 2 and old.exists() and old_partial.exists()

    done = cli.ok("data", "sweep", user="olga", tenant="acme")
    assert sorted(o["file"] for o in done["orphans_removed"]) == sorted(
        [old.name, old_partial.name]
    )
    assert not old.exists() and not old_partial.exists()
    assert fresh.exists() and other.exists() and live.exists()
    events = _events(make_context, "data.vault.orphan_removed")
    assert sorted(e["file"] for e in events) == sorted([old.name, old_partial.name])
    assert all(e["size_bytes"] == 1000 for e in events)
    assert cli.ok("data", "sweep", user="olga", tenant="acme")["orphans_removed"] == []
    shown = cli.ok("data", "asset", "show", kept["id"], user="olga", tenant="acme")
    assert shown["status"] == "active"
