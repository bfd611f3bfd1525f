"""Key epochs: a cryptographic erase is Purge only once no copy of the destroyed wrapped data key
can be unwrapped with what the installation holds.

With ``SHIFTY_VAULT_KMS=aws`` (AWS KMS, here moto's real HTTP server) the erase closes the key
epoch: the surviving data keys are rewrapped under a new KEK from a new KMS key, and the old KMS
key is scheduled for deletion. With a local key file, or while the epoch stays open, the
certificate says Clear and why; closing the epoch later amends the certificate through the audit
chain (``data certificate show``), never by changing what was signed.
"""

from __future__ import annotations

import base64
import json
import time
from collections.abc import Iterator
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from sqlmodel import select

from shifty_ent.core.errors import Refused
from shifty_ent.data.tables import VaultKey
from tests.conftest import erase
from tests.data.conftest import create_policy, ingest, make_file, vault_and_archive
from tests.fakes.aws import moto_server, use_aws


@pytest.fixture
def kms(monkeypatch: pytest.MonkeyPatch) -> Iterator[Any]:
    """AWS KMS on loopback (moto server mode) holding the vault's key-encryption keys."""
    import boto3

    monkeypatch.setenv("AWS_MAX_ATTEMPTS", "1")
    monkeypatch.setenv("SHIFTY_VAULT_KMS", "aws")
    with moto_server() as url:
        use_aws(monkeypatch, url, "KMS")
        yield boto3.client("kms", endpoint_url=url)


def _crypto_erase(cli: Any, name: str) -> Any:
    done = erase(cli, name, "cryptographic_erase", "GDPR 17")
    assert done["status"] == "completed"
    return done


@pytest.fixture
def holdings(
    cli: Any, tenant: Any, root: Path, register: Any, tmp_path: Path, kms: Any
) -> dict[str, Any]:
    """Three vault assets (one to erase) and one archived, erased file, all under KMS."""
    return vault_and_archive(cli, root, register, tmp_path, ("a", "b", "doomed"))


def _record(home: Path) -> dict[str, Any]:
    [path] = list((home / "vault").glob("*/tenant.kms"))
    return dict(json.loads(path.read_bytes()))


def _doomed_key(make_context: Any) -> tuple[str, str, bytes]:
    """(wrapped data key, its KEK id, the KEK itself) of asset ``doomed``, before the erase."""
    from shifty_ent.data import vault
    from shifty_ent.data.assets import get_asset

    with make_context(tenant="acme") as ctx:
        key = ctx.session.get(VaultKey, get_asset(ctx, "doomed").id)
        kek = vault.kek_by_id(ctx.settings, ctx.tenant_id, key.kek_id)
        return key.wrapped_key, key.kek_id, kek


def test_kms_epoch_closes_on_erase_certifies_purge_and_survivors_still_read(
    cli: Any,
    holdings: dict[str, Any],
    kms: Any,
    make_context: Any,
    isolated_env: Path,
    root: Path,
) -> None:
    """Reproduction on main: SHIFTY_VAULT_KMS is ignored, the KEK is the local file tenant.kek,
    and a cryptographic erase is certified Clear forever (no epoch ever closes)."""
    from shifty_ent.data import vault
    from shifty_ent.data.assets import get_asset

    assert not list((isolated_env / "vault").rglob("*.kek"))  # no key file beside the vault
    before = _record(isolated_env)
    wrapped, kid, _ = _doomed_key(make_context)
    assert kid == before["kek_id"]
    done = _crypto_erase(cli, "doomed")
    result = done["items"][0]["result"]
    assert result["nist_category"] == "Purge", result["notes"]
    kw = result["key_wrapping_key"]
    assert kw["kek_id"] == kid and kw["held_by_installation"] is False
    assert kw["epoch"] == "closed (AWS KMS key scheduled for deletion)"
    assert kw["destroyed"]["kms_key_id"] == before["kms_key_id"]
    assert kw["destroyed"]["kms_key_state"] == "PendingDeletion"
    assert result["notes"][0].startswith("Purge by cryptographic erase")
    meta = kms.describe_key(KeyId=before["kms_key_id"])["KeyMetadata"]
    assert meta["KeyState"] == "PendingDeletion" and meta["DeletionDate"]
    cert = cli.ok(
        "data", "certificate", "show", done["certificate_id"], user="audrey", tenant="acme"
    )
    assert cert["certificate"]["media"][0]["nist_category"] == "Purge"
    assert cert["certificate"]["media"][0]["details"]["key_wrapping_key"]["epoch"].startswith(
        "closed"
    )
    # Purge covers the vault copy only: the plaintext it was ingested from is named, still there
    source = str(holdings["sources"]["doomed"])
    assert cert["certificate"]["media"][0]["details"]["ingest_source"] == {
        "path": source,
        "present": True,
    }
    assert any(source in n and "still present" in n for n in result["notes"])
    # a new epoch: a new KMS key wraps the survivors, byte for byte readable; the archive too
    after = _record(isolated_env)
    assert after["kms_key_id"] != before["kms_key_id"] and after["kek_id"] != kid
    with make_context(tenant="acme") as ctx:
        for name in ("a", "b"):
            a = get_asset(ctx, name)
            key = ctx.session.get(VaultKey, a.id)
            assert key.kek_id == after["kek_id"]
            plain = b"".join(
                vault.read_vault(ctx.settings, ctx.tenant_id, a.id, key.wrapped_key, key.kek_id)
            )
            assert plain == holdings["sources"][name].read_bytes(), name
        with pytest.raises(Refused):  # the installation cannot open the old epoch's KEK
            vault.kek_by_id(ctx.settings, ctx.tenant_id, kid)
    res = cli(
        "data", "asset", "restore", "gone", "--to", str(root / "back"), "--reason", "audit",
        tenant="acme",
    )  # fmt: skip
    assert res.exit_code == 0, res.stderr
    assert (root / "back" / "gone.csv").read_bytes() == holdings["archived"]
    assert wrapped  # the erased key existed


def _store_bytes(db_url: str, since: float) -> dict[str, bytes]:
    """What the database holds on disk: the SQLite file and its -wal; on PostgreSQL (as
    superuser) the relation file of data_vault_keys after VACUUM and CHECKPOINT, and the WAL
    segments written during the test."""
    from sqlalchemy.engine import make_url

    from shifty_ent.core.store import normalize_url

    url = make_url(normalize_url(db_url))
    if url.get_backend_name() == "sqlite":
        db = Path(url.database or "")
        return {str(p): p.read_bytes() for p in (db, db.with_name(db.name + "-wal")) if p.exists()}
    import psycopg

    dsn = url.set(drivername="postgresql").render_as_string(hide_password=False)
    out: dict[str, bytes] = {}
    with psycopg.connect(dsn, autocommit=True) as conn:
        conn.execute("VACUUM data_vault_keys")
        conn.execute("CHECKPOINT")
        rel = conn.execute("SELECT pg_relation_filepath('data_vault_keys')").fetchone()[0]
        out[rel] = conn.execute("SELECT pg_read_binary_file(%s)", (rel,)).fetchone()[0]
        for (name,) in conn.execute(
            "SELECT name FROM pg_ls_waldir() WHERE modification >= to_timestamp(%s) "
            "AND name ~ '^[0-9A-F]{24}$'",
            (since - 5,),
        ).fetchall():
            path = f"pg_wal/{name}"
            out[path] = conn.execute("SELECT pg_read_binary_file(%s)", (path,)).fetchone()[0]
    return out


def _files_under(home: Path) -> dict[str, bytes]:
    return {str(p): p.read_bytes() for p in home.rglob("*") if p.is_file()}


def test_destroyed_wrapped_key_found_on_disk_cannot_be_unwrapped(
    cli: Any,
    holdings: dict[str, Any],
    kms: Any,
    make_context: Any,
    isolated_env: Path,
    db_url: str,
    backend: str,
) -> None:
    """Reproduction on main: after the erase (and VACUUM/CHECKPOINT) the destroyed wrapped key
    is still in freed SQLite pages or PostgreSQL's WAL, and the tenant key file beside the
    vault unwraps it. Here the copies may remain, but what wrapped them is gone."""
    from shifty_ent.data import vault

    since = time.time()
    before = _record(isolated_env)
    wrapped, kid, old_kek = _doomed_key(make_context)
    raw = base64.b64decode(wrapped)
    _crypto_erase(cli, "doomed")
    with make_context(tenant="acme") as ctx:
        assert (
            ctx.session.scalars(select(VaultKey).where(VaultKey.wrapped_key == wrapped)).all() == []
        )
        asset_id = ctx.session.scalars(
            select(VaultKey.asset_id).where(VaultKey.destroyed_at.is_not(None))  # type: ignore[union-attr]
        ).one()
    found = [
        where
        for where, data in _store_bytes(db_url, since).items()
        if wrapped.encode() in data or raw in data
    ]
    if backend == "postgres":
        assert found  # the row's earlier version is in the WAL: epochs are why that is harmless
    # whatever copy survived is the real key: the old KEK (held by the test alone) opens it
    assert vault.unwrap_key(old_kek, wrapped, asset_id.bytes)
    # ... and nothing the installation still holds does: no key file, no KMS record of the old
    # epoch, its KMS key pending deletion, every key left fails
    files = _files_under(isolated_env)
    assert not [p for p in files if p.endswith(".kek")]
    blob = before["blob"].encode()
    assert not [p for p, data in files.items() if blob in data or old_kek in data], found
    # AWS refuses Decrypt with a key pending deletion (KMSInvalidStateException); moto does not
    # model that refusal, so the state is checked, and above, that no copy of the KEK's KMS
    # ciphertext is left anywhere the installation keeps files
    assert kms.describe_key(KeyId=before["kms_key_id"])["KeyMetadata"]["KeyState"] == (
        "PendingDeletion"
    )
    with make_context(tenant="acme") as ctx:
        assert vault.kek_holder(ctx.settings, ctx.tenant_id, kid) is None
        current, _ = vault.load_kek(ctx.settings, ctx.tenant_id, create=False)
        with pytest.raises(Refused):
            vault.unwrap_key(current, wrapped, asset_id.bytes)
        with pytest.raises(Refused):
            vault.kek_by_id(ctx.settings, ctx.tenant_id, kid)


def test_local_key_file_is_clear_naming_the_open_epoch_and_rotation_amends_as_clear(
    cli: Any, tenant: Any, tmp_path: Path, isolated_env: Path
) -> None:
    """Reproduction on main: the certificate says Clear but names no key epoch, and after
    'data vault rotate-key' destroys the key file nothing says what became of the key."""
    ingest(cli, make_file(tmp_path / "x.bin", 20_000), "x")
    ingest(cli, make_file(tmp_path / "y.bin", 20_000), "y")
    done = _crypto_erase(cli, "x")
    result = done["items"][0]["result"]
    assert result["nist_category"] == "Clear"
    assert result["key_wrapping_key"]["epoch"] == "open (local key file)"
    assert result["key_wrapping_key"]["held_in"] == "local_file"
    assert "AWS KMS" in result["notes"][0] and "epoch is open" in result["notes"][0]
    cli.ok("data", "vault", "rotate-key", tenant="acme")
    cert = cli.ok(
        "data", "certificate", "show", done["certificate_id"], user="audrey", tenant="acme"
    )
    assert cert["certificate"]["media"][0]["nist_category"] == "Clear"  # signed: unchanged
    [amend] = cert["amendments"]
    assert amend["nist_category_now"] == "Clear"
    assert amend["event"] == "key epoch closed"
    assert "local file" in amend["note"]


def test_open_kms_epoch_is_clear_then_closing_it_amends_the_certificate_to_purge(
    cli: Any,
    tenant: Any,
    tmp_path: Path,
    kms: Any,
    isolated_env: Path,
    monkeypatch: pytest.MonkeyPatch,
    db_url: str,
) -> None:
    """Reproduction on main: no key epochs; the certificate of a cryptographic erase can never
    become Purge, and 'data certificate show' has no amendments."""
    from tests.model.helpers import count

    ingest(cli, make_file(tmp_path / "x.bin", 20_000), "x")
    ingest(cli, make_file(tmp_path / "y.bin", 20_000), "y")
    before = _record(isolated_env)
    # KMS unreachable at erase time: the key is destroyed, the epoch cannot close
    with moto_server() as dead_url:
        pass  # a port where nothing answers any more
    monkeypatch.setenv("AWS_ENDPOINT_URL_KMS", dead_url)
    done = _crypto_erase(cli, "x")
    result = done["items"][0]["result"]
    assert result["nist_category"] == "Clear"
    assert result["key_wrapping_key"]["epoch"] == "open (AWS KMS)"
    assert (
        result["notes"][0].startswith("Not Purge yet")
        and "closing it failed" in (result["notes"][0])
    )
    # KMS back: the administrator closes the epoch
    monkeypatch.setenv("AWS_ENDPOINT_URL_KMS", kms.meta.endpoint_url)
    out = cli.ok("data", "vault", "rotate-key", tenant="acme")
    assert out["keys_destroyed"] == [before["kek_id"]]
    assert out["certificates_amended"] == [done["certificate_id"]]
    cert = cli.ok(
        "data", "certificate", "show", done["certificate_id"], user="audrey", tenant="acme"
    )
    assert cert["certificate"]["media"][0]["nist_category"] == "Clear"  # signed: unchanged
    [amend] = cert["amendments"]
    assert amend["nist_category_now"] == "Purge"
    assert amend["keys_destroyed"][before["kek_id"]]["kms_key_state"] == "PendingDeletion"
    assert "Purge by cryptographic erase from this point" in amend["note"]
    verified = cli("data", "certificate", "verify", done["certificate_id"], tenant="acme")
    assert verified.exit_code == 0, verified.stderr
    n = "SELECT count(*) FROM audit_events WHERE action = 'data.certificate.amend'"
    assert count(db_url, n) == 1


def test_unknown_vault_kms_is_refused() -> None:
    """A misspelt key holder must not silently fall back to a local key file (exit 2)."""
    from tests.conftest import Cli

    res = Cli(None)("config", "show", user=None, env={"SHIFTY_VAULT_KMS": "gcp"})
    assert res.exit_code == 2
    assert "unknown vault_kms 'gcp'" in res.error["message"]


def test_kms_record_and_wrapped_key_open_as_documented(
    cli: Any, tenant: Any, tmp_path: Path, kms: Any, isolated_env: Path, db_url: str
) -> None:
    """docs/evidence.md (Vault key wrapping, AWS KMS): the record's blob decrypts with KMS under
    the documented encryption context to the KEK its id names, which unwraps the stored data
    key; checked with boto3 and cryptography only."""
    import hashlib

    from cryptography.hazmat.primitives.ciphers.aead import AESGCM

    from tests.model.helpers import query

    src = make_file(tmp_path / "x.bin", 5_000)
    asset = ingest(cli, src, "x")
    record = _record(isolated_env)
    assert set(record) == {"kind", "kek_id", "kms_key_id", "kms_key_arn", "blob"}
    kek = kms.decrypt(
        CiphertextBlob=base64.b64decode(record["blob"]),
        EncryptionContext={"shifty-ent": "vault-kek", "tenant": tenant["id"]},
    )["Plaintext"]
    assert (
        record["kek_id"] == "kek:" + hashlib.sha256(b"shifty-ent kek id\n" + kek).hexdigest()[:32]
    )
    [(wrapped, kid)] = query(
        db_url,
        "SELECT wrapped_key, kek_id FROM data_vault_keys WHERE kek_id = :k",
        k=record["kek_id"],
    )
    assert kid == record["kek_id"]
    raw = base64.b64decode(wrapped)
    dek = AESGCM(kek).decrypt(raw[:12], raw[12:], bytes.fromhex(asset["id"].replace("-", "")))
    assert len(dek) == 32


def test_unreadable_key_record_is_never_taken_for_a_destroyed_key(
    cli: Any, tenant: Any, tmp_path: Path, kms: Any, isolated_env: Path
) -> None:
    """A damaged ``tenant.kms`` must not let the erase conclude that the wrapping key is gone
    (which would claim Purge): the item is Clear, saying the key could not be checked."""
    ingest(cli, make_file(tmp_path / "x.bin", 5_000), "x")
    [record] = list((isolated_env / "vault").glob("*/tenant.kms"))
    record.write_text("{}")
    done = _crypto_erase(cli, "x")
    result = done["items"][0]["result"]
    assert result["nist_category"] == "Clear"
    assert result["key_wrapping_key"]["epoch"] == "unknown (key records unreadable)"
    assert "is damaged" in result["notes"][0]


def test_archived_vault_asset_is_purged_at_its_location_and_its_archive_copy_survives(
    cli: Any, tenant: Any, tmp_path: Path, kms: Any, isolated_env: Path, root: Path
) -> None:
    """The epoch closes after the item's copies are handled: an archive copy kept by the policy
    is rewrapped into the new epoch, still restores, and keeps the asset 'not sanitized' as a
    whole while its location is Purge."""
    archive_then_purge = ("--auto-delete", "--archive-before-delete", "--method", "nist_800_88")
    create_policy(cli, *archive_then_purge, name="pii-1d", cls="pii", days="1")
    src = make_file(tmp_path / "x.bin", 70_000)
    asset = ingest(cli, src, "x", "pii")
    before = _record(isolated_env)
    later = datetime.fromisoformat(asset["expires_at"]) + timedelta(hours=1)
    env = {"SHIFTY_NOW": later.isoformat()}
    swept = cli.ok("data", "sweep", user="olga", tenant="acme", env=env)
    assert len(swept["archived"]) == 1, swept
    job = cli.ok("data", "delete", "show", swept["deleted"][0]["job_id"], tenant="acme", env=env)
    result = job["items"][0]["result"]
    assert result["nist_category"] == "none" and result["data_remains"] is True
    assert result["location_nist_category"] == "Purge"
    assert result["key_wrapping_key"]["destroyed"]["kms_key_id"] == before["kms_key_id"]
    [archive] = list(isolated_env.rglob("*.tar.enc"))
    with open(archive, "rb") as fh:
        fh.read(8)
        header = json.loads(fh.read(int.from_bytes(fh.read(4), "big")))
    assert header["kek_id"] == _record(isolated_env)["kek_id"] != before["kek_id"]
    res = cli(
        "data", "asset", "restore", "x", "--to", str(root / "back"), "--reason", "audit",
        tenant="acme", env=env,
    )  # fmt: skip
    assert res.exit_code == 0, res.stderr
    assert [p.read_bytes() for p in (root / "back").rglob("*") if p.is_file()] == [src.read_bytes()]


def test_rotation_moves_a_local_key_into_kms_and_leaves_no_key_file(
    cli: Any,
    tenant: Any,
    tmp_path: Path,
    isolated_env: Path,
    make_context: Any,
    request: pytest.FixtureRequest,
) -> None:
    """A tenant whose key was a local file when KMS was enabled: one rotation moves it into a
    KMS epoch, destroys the local key file (it is no longer beside the vault) and the data keys
    still open; the local key's certificate is amended, but only to Clear."""
    from shifty_ent.data import vault
    from shifty_ent.data.assets import get_asset

    src = make_file(tmp_path / "keep.bin", 30_000)
    ingest(cli, src, "keep")
    ingest(cli, make_file(tmp_path / "x.bin", 5_000), "x")
    done = _crypto_erase(cli, "x")
    [local] = list((isolated_env / "vault").glob("*/tenant.kek"))
    request.getfixturevalue("kms")  # now enable AWS KMS
    out = cli.ok("data", "vault", "rotate-key", tenant="acme")
    assert out["kek_held_by"] == "aws_kms"
    assert out["keys_destroyed_detail"][out["previous_kek_id"]]["kind"] == "local_file"
    assert not local.exists() and not list((isolated_env / "vault").rglob("*.kek"))
    assert _record(isolated_env)["kek_id"] == out["kek_id"]
    with make_context(tenant="acme") as ctx:
        a = get_asset(ctx, "keep")
        key = ctx.session.get(VaultKey, a.id)
        plain = b"".join(
            vault.read_vault(ctx.settings, ctx.tenant_id, a.id, key.wrapped_key, key.kek_id)
        )
        assert plain == src.read_bytes()
    cert = cli.ok(
        "data", "certificate", "show", done["certificate_id"], user="audrey", tenant="acme"
    )
    assert [a["nist_category_now"] for a in cert["amendments"]] == ["Clear"]
