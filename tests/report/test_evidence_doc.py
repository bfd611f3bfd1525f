"""docs/evidence.md is enough to check the evidence: this verifier is written from that page alone
(hashlib, cryptography, rfc8785, sqlite3), and shifty_ent is used only through its CLI to produce
an audit chain and a checkpoint."""

from __future__ import annotations

import base64
import hashlib
import json
import sqlite3
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
import rfc8785
from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey

from tests.conftest import erase

GENESIS = "0" * 64
DOMAIN = b"shifty-ent-audit-checkpoint-v1\n"
SCHEMA = "shifty-ent.audit-checkpoint/v1"


def b64(text: str) -> bytes:
    raw = base64.b64decode(text, validate=True)
    assert base64.b64encode(raw).decode() == text  # canonical form only
    return raw


def fingerprint(raw_key: bytes) -> str:
    return "SHA256:" + hashlib.sha256(raw_key).hexdigest()


def hyphenated(hex32: str | None) -> str | None:
    if hex32 is None:
        return None
    h = hex32.replace("-", "").lower()
    return f"{h[:8]}-{h[8:12]}-{h[12:16]}-{h[16:20]}-{h[20:]}"


def at_text(stored: str) -> str:
    """The stored naive-UTC text as the hash input writes it."""
    return datetime.fromisoformat(stored).replace(tzinfo=UTC).isoformat()


def verify_chain(db: Path, chain: str) -> dict[int, str]:
    """seq -> hash of an intact chain; raises AssertionError naming the first bad event."""
    conn = sqlite3.connect(db)
    rows = conn.execute(
        "SELECT seq, at, actor, action, target_type, target_id, details, prev_hash, hash, v, "
        "tenant_id FROM audit_events WHERE chain = ? ORDER BY seq",
        (chain,),
    ).fetchall()
    head = conn.execute("SELECT seq, hash FROM audit_heads WHERE chain = ?", (chain,)).fetchone()
    conn.close()
    tenant = None if chain == "_system" else chain
    prev, newest, hashes = GENESIS, 1, {}
    for expected, (
        seq,
        at,
        actor,
        action,
        ttype,
        tid,
        details,
        prev_hash,
        digest,
        v,
        tenant_id,
    ) in enumerate(rows, start=1):
        assert seq == expected, f"event {expected} missing"
        assert prev_hash == prev, f"event {seq} does not link"
        assert hyphenated(tenant_id) == tenant, f"event {seq} belongs to another tenant"
        assert v in (1, 2) and v >= newest, f"event {seq}: format {v}"
        newest = v
        body: dict[str, Any] = {
            "chain": chain,
            "seq": seq,
            "at": at_text(at),
            "actor": actor,
            "action": action,
            "target_type": ttype,
            "target_id": tid,
            "details": json.loads(details),
            "prev_hash": prev_hash,
        }
        if v == 2:
            body["tenant_id"] = tenant
            body["v"] = 2
        assert hashlib.sha256(rfc8785.dumps(body)).hexdigest() == digest, f"event {seq} changed"
        hashes[seq] = prev = digest
    assert head == (len(rows), prev), "the head is not the last event"
    return hashes


def verify_checkpoint(doc: dict[str, Any], trusted: set[str]) -> dict[str, Any]:
    stmt = doc["statement"]
    assert doc["schema"] == stmt["schema"] == SCHEMA and doc["algorithm"] == "Ed25519"
    assert stmt["tenant_id"] == (None if stmt["chain"] == "_system" else stmt["chain"])
    raw = b64(doc["public_key"])
    assert fingerprint(raw) == stmt["key_fingerprint"] in trusted
    try:
        Ed25519PublicKey.from_public_bytes(raw).verify(
            b64(doc["signature"]), DOMAIN + rfc8785.dumps(stmt)
        )
    except InvalidSignature:
        raise AssertionError("bad checkpoint signature") from None
    return stmt


def test_a_chain_and_a_checkpoint_verify_from_the_documentation(cli, tenant, backend, tmp_path):
    if backend != "sqlite":
        pytest.skip("reads the store with sqlite3")
    for name in ("u1", "u2"):
        cli.ok("user", "add", name, "--role", "labeler", tenant="acme")
    witness = tmp_path / "witness"
    (written,) = cli.ok(
        "report", "audit", "checkpoint", "--witness", str(witness), tenant="acme", user="audrey"
    )
    db = Path(cli.db_url.removeprefix("sqlite:///"))
    chain = tenant["id"]
    hashes = verify_chain(db, chain)
    verify_chain(db, "_system")

    conn = sqlite3.connect(db)
    trusted = {row[0] for row in conn.execute("SELECT fingerprint FROM signing_keys")}
    conn.close()
    (path,) = (witness / chain).glob("*.json")
    doc = json.loads(path.read_text())
    stmt = verify_checkpoint(doc, trusted)
    assert stmt["chain"] == chain and stmt["seq"] == written["seq"]
    assert hashes[stmt["seq"]] == stmt["head_hash"]  # the checkpoint holds

    altered = json.loads(json.dumps(doc))
    altered["statement"]["seq"] -= 1
    with pytest.raises(AssertionError, match="signature"):
        verify_checkpoint(altered, trusted)
    conn = sqlite3.connect(db)
    with conn:
        conn.execute(
            "UPDATE audit_events SET actor = 'mallory' WHERE chain = ? AND seq = 2", (chain,)
        )
    conn.close()
    with pytest.raises(AssertionError, match="event 2 changed"):
        verify_chain(db, chain)


# ------------------------------------------------------------------ certificates, reports, exports
# written from docs/evidence.md alone, like the chain verifier above

CERT_DOMAIN = b"shifty-ent deletion certificate v1\n"
CERT_SCHEMA = "shifty-ent.deletion-certificate/v1"
EXPORT_ENVELOPE = {
    "format": "shifty-ent.deletion-certificate-export/v1",
    "signature_algorithm": "Ed25519",
    "signed_bytes": "UTF-8 'shifty-ent deletion certificate v1\\n' + RFC 8785 (certificate)",
}
EXPORT_KEYS = {*EXPORT_ENVELOPE, "certificate", "signature", "key_fingerprint", "public_key"}
REPORT_DOMAIN = b"shifty-ent-report-v1\n"


def ed25519_ok(public_b64: str, signature_b64: str, message: bytes) -> bool:
    try:
        Ed25519PublicKey.from_public_bytes(b64(public_b64)).verify(b64(signature_b64), message)
    except InvalidSignature:
        return False
    return True


def verify_certificate_file(raw: bytes, trusted: set[str]) -> dict[str, Any]:
    doc = json.loads(raw.decode("utf-8"))
    assert set(doc) == EXPORT_KEYS, "not a certificate export"
    for key, value in EXPORT_ENVELOPE.items():
        assert doc[key] == value, f"envelope {key}"
    body = doc["certificate"]
    assert fingerprint(b64(doc["public_key"])) == doc["key_fingerprint"] in trusted
    assert body["issuer"]["key_fingerprint"] == doc["key_fingerprint"]
    assert body["schema"] == CERT_SCHEMA
    assert ed25519_ok(doc["public_key"], doc["signature"], CERT_DOMAIN + rfc8785.dumps(body)), (
        "bad certificate signature"
    )
    media, summary = body["media"], body["summary"]
    assert summary["assets"] == len(media)
    assert summary["erased"] == sum(1 for m in media if m["status"] == "erased")
    assert summary.get("absent", 0) == sum(1 for m in media if m["status"] == "absent")
    assert all(m["post_sanitization_state"] for m in media if m["status"] == "erased")
    layout = json.dumps(doc, sort_keys=True, indent=2, ensure_ascii=False) + "\n"
    assert layout.encode("utf-8") == raw, "file bytes differ from the export layout"
    return body


def verify_report(path: Path, trusted: set[str]) -> dict[str, Any]:
    sig = json.loads(path.with_name(path.name + ".sig").read_text())
    assert sig["schema"] == "shifty-ent.report-signature/v1" and sig["algorithm"] == "Ed25519"
    stmt = sig["statement"]
    assert fingerprint(b64(sig["public_key"])) == stmt["key_fingerprint"] in trusted
    data = path.read_bytes()
    assert hashlib.sha256(data).hexdigest() == stmt["content_sha256"], "report file changed"
    assert len(data) == stmt["size_bytes"]
    assert ed25519_ok(sig["public_key"], sig["signature"], REPORT_DOMAIN + rfc8785.dumps(stmt)), (
        "bad report signature"
    )
    return stmt


def verify_export(path: Path, trusted: set[str]) -> dict[str, Any]:
    import zipfile

    with zipfile.ZipFile(path) as zf:
        files = {n: zf.read(n) for n in zf.namelist()}
    manifest_bytes = files["manifest.json"]
    sig = json.loads(files["manifest.json.sig"])
    assert sig["algorithm"] == "Ed25519" and sig["signed_file"] == "manifest.json"
    assert fingerprint(b64(sig["public_key"])) == sig["key_fingerprint"] in trusted
    assert ed25519_ok(sig["public_key"], sig["signature"], manifest_bytes), "bad manifest sig"
    manifest = json.loads(manifest_bytes)
    assert manifest["format"] == "shifty-ent.data-export/v1"
    for entry in manifest["files"]:
        data = files[entry["path"]]
        assert hashlib.sha256(data).hexdigest() == entry["sha256"], f"{entry['path']} changed"
        assert len(data) == entry["bytes"]
    sums = dict(
        reversed(line.split("  ", 1)) for line in files["checksums.sha256"].decode().splitlines()
    )
    assert sums["manifest.json"] == hashlib.sha256(manifest_bytes).hexdigest()
    return manifest


def unwrap_and_decrypt(kek: bytes, wrapped: str, asset_id: str, vault_file: bytes) -> bytes:
    import struct
    import uuid

    from cryptography.hazmat.primitives.ciphers.aead import AESGCM

    aid = uuid.UUID(asset_id).bytes
    raw = base64.b64decode(wrapped)
    dek = AESGCM(kek).decrypt(raw[:12], raw[12:], aid)
    assert vault_file[:8] == b"SHIFTYV1"
    prefix, pos, index, out = vault_file[8:16], 16, 0, b""
    while pos < len(vault_file):
        (length,) = struct.unpack(">I", vault_file[pos : pos + 4])
        sealed = vault_file[pos + 4 : pos + 4 + length]
        pos += 4 + length
        final = pos >= len(vault_file)
        nonce = prefix + struct.pack(">I", index)
        out += AESGCM(dek).decrypt(nonce, sealed, aid + (b"\x01" if final else b"\x00"))
        index += 1
    return out


def test_certificate_report_export_and_key_wrapping_verify_from_the_documentation(
    cli, tenant, backend, tmp_path, isolated_env
):
    if backend != "sqlite":
        pytest.skip("reads the store with sqlite3")
    import os

    root = tmp_path / "dataroot"
    root.mkdir()
    cli.ok("tenant", "root", "add", str(root), "-t", "acme")
    victim = root / "victim.bin"
    victim.write_bytes(os.urandom(30_000))
    asset = cli.ok(
        "data", "asset", "register", "victim", "--type", "dataset", "--classification", "pii",
        "--location", str(victim), "--subject", "p-1", user="olga", tenant="acme",
    )  # fmt: skip
    done = erase(cli, asset["id"], "nist_800_88", "r")
    cert_file = tmp_path / "cert.json"
    cli.ok(
        "data", "certificate", "export", done["certificate_id"], "--out", str(cert_file),
        user="audrey", tenant="acme",
    )  # fmt: skip
    report = tmp_path / "audit.json"
    cli.ok(
        "report", "compliance", "--type", "deletion_audit", "--format", "json",
        "--out", str(report), user="audrey", tenant="acme",
    )  # fmt: skip
    export = tmp_path / "export.zip"
    cli.ok("data", "export", "--out", str(export), user="audrey", tenant="acme")
    source = tmp_path / "plain.csv"
    source.write_bytes(os.urandom(1_500_000))
    ingested = cli.ok(
        "data", "asset", "ingest", str(source), "--name", "v", "--classification", "phi",
        user="olga", tenant="acme",
    )  # fmt: skip

    db = Path(cli.db_url.removeprefix("sqlite:///"))
    conn = sqlite3.connect(db)
    trusted = {row[0] for row in conn.execute("SELECT fingerprint FROM signing_keys")}
    wrapped, kek_id = conn.execute(
        "SELECT wrapped_key, kek_id FROM data_vault_keys WHERE asset_id = ?",
        (ingested["id"].replace("-", ""),),
    ).fetchone()
    conn.close()

    raw = cert_file.read_bytes()
    body = verify_certificate_file(raw, trusted)
    assert body["job_id"] == done["id"] and body["media"][0]["asset_id"] == asset["id"]
    stmt = verify_report(report, trusted)
    assert stmt["type"] == "deletion_audit" and stmt["tenant_id"] == tenant["id"]
    manifest = verify_export(export, trusted)
    assert manifest["tenant"]["id"] == tenant["id"]

    kek = (isolated_env / "vault" / tenant["id"] / "tenant.kek").read_bytes()
    assert kek_id == "kek:" + hashlib.sha256(b"shifty-ent kek id\n" + kek).hexdigest()[:32]
    (vault_file,) = (isolated_env / "vault" / tenant["id"]).glob("*.vault")
    plain = unwrap_and_decrypt(kek, wrapped, ingested["id"], vault_file.read_bytes())
    assert plain == source.read_bytes()

    # each verifier fails on a changed byte
    forged = json.loads(raw)
    forged["certificate"]["media"][0]["nist_category"] = "Purge"
    forged_raw = (json.dumps(forged, sort_keys=True, indent=2, ensure_ascii=False) + "\n").encode()
    with pytest.raises(AssertionError, match="signature"):
        verify_certificate_file(forged_raw, trusted)
    with pytest.raises(AssertionError, match="layout"):
        verify_certificate_file(raw.replace(b'  "format"', b'   "format"'), trusted)
    report.write_bytes(report.read_bytes().replace(b"deletion", b"Deletion", 1))
    with pytest.raises(AssertionError, match="report file changed"):
        verify_report(report, trusted)
