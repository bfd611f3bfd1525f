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
