"""`data vault rotate-key`: every data key (vault assets and archives) is rewrapped under a new
tenant key, the old key is destroyed, and nothing becomes unreadable, even when it stops midway."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
import uuid
from pathlib import Path
from typing import Any

import pytest
from sqlmodel import select

from shifty_ent.core.errors import Refused
from shifty_ent.data.tables import VaultKey
from tests.data.conftest import ingest, make_file, vault_and_archive
from tests.model.helpers import count


@pytest.fixture
def holdings(cli: Any, tenant: Any, root: Path, register: Any, tmp_path: Path) -> dict[str, Any]:
    """Two vault assets and one archived, erased file."""
    return vault_and_archive(cli, root, register, tmp_path, ("a", "b"))


def _kek(home: Path) -> tuple[Path, bytes]:
    [path] = list((home / "vault").glob("*/tenant.kek"))
    return path, path.read_bytes()


def _readable(make_context: Any, holdings: dict[str, Any], root: Path, cli: Any, to: str) -> None:
    """Every vault asset decrypts to its source and the archive restores to its content."""
    from shifty_ent.data import vault
    from shifty_ent.data.assets import get_asset

    with make_context(tenant="acme") as ctx:
        for name, src in holdings["sources"].items():
            a = get_asset(ctx, name)
            key = ctx.session.get(VaultKey, a.id)
            plain = b"".join(
                vault.read_vault(ctx.settings, ctx.tenant_id, a.id, key.wrapped_key, key.kek_id)
            )
            assert plain == src.read_bytes(), name
    res = cli(
        "data", "asset", "restore", "gone", "--to", str(root / to), "--reason", "audit",
        tenant="acme",
    )  # fmt: skip
    assert res.exit_code == 0, res.stderr
    assert (root / to / "gone.csv").read_bytes() == holdings["archived"]


def test_rotation_rewraps_everything_and_destroys_the_old_key(
    cli: Any,
    holdings: dict[str, Any],
    make_context: Any,
    isolated_env: Path,
    root: Path,
    db_url: str,
) -> None:
    from shifty_ent.data import vault

    kek_file, old = _kek(isolated_env)
    res = cli("data", "vault", "rotate-key", tenant="acme")
    assert res.exit_code == 0, res.stderr
    out = res.json
    assert out["previous_kek_id"] == vault.kek_id(old) != out["kek_id"]
    assert out["data_keys_rewrapped"] == 2 and out["archives_rewrapped"] == 1
    assert out["keys_destroyed"] == [out["previous_kek_id"]] and out["keys_kept"] == []
    new = kek_file.read_bytes()
    assert new != old and vault.kek_id(new) == out["kek_id"]
    assert list((kek_file.parent / "keys").iterdir()) == []
    with make_context(tenant="acme") as ctx:
        rows = ctx.session.scalars(select(VaultKey)).all()
        assert {r.kek_id for r in rows} == {out["kek_id"]}
        with pytest.raises(Refused):  # the old key opens none of them
            vault.unwrap_key(old, rows[0].wrapped_key, rows[0].asset_id.bytes)
    [archive] = list(isolated_env.rglob("*.tar.enc"))
    with open(archive, "rb") as fh:
        fh.read(8)
        header = json.loads(fh.read(int.from_bytes(fh.read(4), "big")))
    assert header["kek_id"] == out["kek_id"]
    _readable(make_context, holdings, root, cli, "back1")
    n = "SELECT count(*) FROM audit_events WHERE action = 'data.vault.rotate'"
    assert count(db_url, n) == 1
    again = cli.ok("data", "vault", "rotate-key", tenant="acme")
    assert again["previous_kek_id"] == out["kek_id"] and again["keys_destroyed"] == [out["kek_id"]]
    _readable(make_context, holdings, root, cli, "back2")


def test_rotation_stopped_before_commit_loses_nothing(
    cli: Any,
    holdings: dict[str, Any],
    make_context: Any,
    isolated_env: Path,
    root: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """The archives and the current key are already new, the stored data keys roll back to the
    old key: everything still opens, and the next rotation finishes and cleans up."""
    from shifty_ent.core.context import Context
    from shifty_ent.data import vault
    from shifty_ent.data.vault_keys import rotate_tenant_key

    kek_file, old = _kek(isolated_env)
    real_audit = Context.audit

    def failing_audit(self: Context, action: str, **kw: Any) -> Any:
        if action == "data.vault.rotate":
            raise RuntimeError("power cut")
        return real_audit(self, action, **kw)

    monkeypatch.setattr(Context, "audit", failing_audit)
    with pytest.raises(RuntimeError), make_context(tenant="acme") as ctx:
        rotate_tenant_key(ctx)
    monkeypatch.setattr(Context, "audit", real_audit)
    assert kek_file.read_bytes() != old
    assert (kek_file.parent / "keys" / f"{vault.kek_id(old)[4:]}.kek").read_bytes() == old
    with make_context(tenant="acme") as ctx:
        assert {r.kek_id for r in ctx.session.scalars(select(VaultKey))} == {vault.kek_id(old)}
    _readable(make_context, holdings, root, cli, "mid")
    mid = vault.kek_id(kek_file.read_bytes())
    done = cli.ok("data", "vault", "rotate-key", tenant="acme")
    assert done["previous_kek_id"] == mid
    assert sorted(done["keys_destroyed"]) == sorted([vault.kek_id(old), mid])
    assert list((kek_file.parent / "keys").iterdir()) == []
    _readable(make_context, holdings, root, cli, "after")


def test_rotation_refusals(cli: Any, tenant: Any, isolated_env: Path) -> None:
    res = cli("data", "vault", "rotate-key", tenant="acme")
    assert res.exit_code == 3 and "no vault key" in res.error["message"]
    res = cli("data", "vault", "rotate-key", user="olga", tenant="acme")
    assert res.exit_code == 4


@pytest.mark.slow
def test_an_ingest_waits_for_a_running_rotation(
    cli: Any, tenant: Any, tmp_path: Path, db_url: str, make_context: Any
) -> None:
    from shifty_ent.core.config import load_settings
    from shifty_ent.data import vault

    first = ingest(cli, make_file(tmp_path / "first.bin", 1000), "first")
    settings = load_settings({})
    tenant_id = uuid.UUID(first["location"].split("/")[2])
    src = make_file(tmp_path / "second.bin", 1000)
    argv = [sys.executable, "-m", "shifty_ent", "--db", db_url, "--as", "olga", "--tenant", "acme"]
    with vault.key_lock(settings, tenant_id, exclusive=True):
        proc = subprocess.Popen(
            [*argv, "-o", "json", "data", "asset", "ingest", str(src), "--name", "second",
             "--classification", "phi"],
            env=dict(os.environ), stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
        )  # fmt: skip
        time.sleep(3)
        assert proc.poll() is None  # encrypted, now waiting to wrap its key
        assert count(db_url, "SELECT count(*) FROM data_vault_keys") == 1
    _out, err = proc.communicate(timeout=60)
    assert proc.returncode == 0, err
    assert count(db_url, "SELECT count(*) FROM data_vault_keys") == 2
