"""Vault ingest (encrypted from the first write) and cryptographic erase (key destruction)."""

from __future__ import annotations

import hashlib
from pathlib import Path
from typing import Any

import pytest
from sqlmodel import select

from shifty_ent.core.errors import Refused
from shifty_ent.data.tables import VaultKey
from tests.conftest import erase
from tests.data.conftest import make_file


def test_ingest_encrypts_and_crypto_erase_is_clear_while_the_kek_file_exists(
    cli: Any, tenant: Any, tmp_path: Path, make_context: Any, isolated_env: Path
) -> None:
    src = make_file(tmp_path / "patients.csv", 2_500_000, b"SECRET-PHI;")
    asset = cli.ok(
        "data",
        "asset",
        "ingest",
        str(src),
        "--name",
        "patients",
        "--classification",
        "phi",
        "--subject",
        "pat-7",
        user="olga",
        tenant="acme",
    )
    assert asset["location"].startswith("vault://")
    assert asset["sha256"] == hashlib.sha256(src.read_bytes()).hexdigest()
    assert asset["size_bytes"] == src.stat().st_size
    vault_files = list((isolated_env / "vault").rglob("*.vault"))
    assert len(vault_files) == 1
    assert b"SECRET-PHI" not in vault_files[0].read_bytes()

    from shifty_ent.data import vault
    from shifty_ent.data.assets import get_asset

    with make_context(tenant="acme") as ctx:
        a = get_asset(ctx, "patients")
        key = ctx.session.get(VaultKey, a.id)
        plain = b"".join(vault.read_vault(ctx.settings, ctx.tenant_id, a.id, key.wrapped_key))
        assert plain == src.read_bytes()

    done = erase(cli, "patients", "cryptographic_erase", "GDPR 17")
    assert done["status"] == "completed"
    result = done["items"][0]["result"]
    # the tenant key file that wrapped the destroyed key is still here: Clear, and why
    assert result["nist_category"] == "Clear"
    assert result["key_wrapping_key"]["held_by_installation"] is True
    assert result["key_wrapping_key"]["location"].endswith("tenant.kek")
    assert any(n.startswith("Not Purge") and "tenant.kek" in n for n in result["notes"])
    assert any("backup" in n for n in result["notes"])
    # the plaintext it was ingested from is named, and still there
    assert result["ingest_source"] == {"path": str(src), "present": True}
    assert any(str(src) in n and "still present" in n for n in result["notes"])
    assert not vault_files[0].exists()
    with make_context(tenant="acme") as ctx:
        key = ctx.session.scalars(select(VaultKey)).one()
        assert key.wrapped_key is None and key.destroyed_at is not None
        with pytest.raises(Refused):
            list(vault.read_vault(ctx.settings, ctx.tenant_id, key.asset_id, key.wrapped_key))
    cert = cli.ok(
        "data", "certificate", "show", done["certificate_id"], user="audrey", tenant="acme"
    )
    assert cert["certificate"]["media"][0]["nist_category"] == "Clear"


def test_tampered_vault_file_fails_authentication(
    cli: Any, tenant: Any, tmp_path: Path, make_context: Any, isolated_env: Path
) -> None:
    from shifty_ent.core.errors import InvalidInput
    from shifty_ent.data import vault

    src = make_file(tmp_path / "a.bin", 3_000_000)
    asset = cli.ok(
        "data",
        "asset",
        "ingest",
        str(src),
        "--name",
        "a",
        "--classification",
        "pii",
        user="olga",
        tenant="acme",
    )
    vf = next((isolated_env / "vault").rglob("*.vault"))
    data = bytearray(vf.read_bytes())
    data[len(data) // 2] ^= 1
    vf.write_bytes(bytes(data))
    import uuid

    with make_context(tenant="acme") as ctx:
        key = ctx.session.get(VaultKey, uuid.UUID(asset["id"]))
        with pytest.raises(InvalidInput):
            list(vault.read_vault(ctx.settings, ctx.tenant_id, key.asset_id, key.wrapped_key))
    vf.write_bytes(bytes(data[: len(data) // 3]))  # truncated
    with make_context(tenant="acme") as ctx, pytest.raises(InvalidInput):
        list(vault.read_vault(ctx.settings, ctx.tenant_id, key.asset_id, key.wrapped_key))


def test_nist_on_vault_asset_is_clear_with_a_local_kek(
    cli: Any, tenant: Any, tmp_path: Path
) -> None:
    src = make_file(tmp_path / "a.bin", 10_000)
    cli.ok(
        "data",
        "asset",
        "ingest",
        str(src),
        "--name",
        "v",
        "--classification",
        "restricted",
        user="olga",
        tenant="acme",
    )
    done = erase(cli, "v", "nist_800_88", "r")
    assert done["items"][0]["result"]["nist_category"] == "Clear"
