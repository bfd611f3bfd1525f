"""Signed audit checkpoints against the attacks of issue 14, on SQLite and PostgreSQL.

Each attack test fails on a store without checkpoints: the chain alone has no secret, so whoever
can write the database can truncate it and fix ``audit_heads``, or change an event and re-hash
everything after it, or drop a tenant's whole chain, and ``report audit verify`` said ok.
"""

from __future__ import annotations

import base64
import hashlib
import json
import os
import stat
import uuid
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
import rfc8785
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from sqlalchemy import text

from shifty_ent.core import store
from tests.fakes.server import LoopbackServer, Response

GENESIS = "0" * 64


def _users(cli: Any, *names: str) -> None:
    for name in names:
        cli.ok("user", "add", name, "--role", "labeler", tenant="acme")


def _exec(db_url: str, sql: str, **params: Any) -> None:
    with store.get_engine(db_url).begin() as conn:
        conn.execute(text(sql), params)


def _rows(db_url: str, chain: str) -> list[Any]:
    with store.get_engine(db_url).connect() as conn:
        return conn.execute(
            text("SELECT seq, hash FROM audit_events WHERE chain = :c ORDER BY seq"),
            {"c": chain},
        ).all()


def _truncate(db_url: str, chain: str, keep: int) -> None:
    """The attack: delete the chain's tail and point audit_heads at what is left."""
    last = {seq: digest for seq, digest in _rows(db_url, chain)}[keep]
    _exec(db_url, "DELETE FROM audit_events WHERE chain = :c AND seq > :k", c=chain, k=keep)
    _exec(
        db_url,
        "UPDATE audit_heads SET seq = :k, hash = :h WHERE chain = :c",
        c=chain,
        k=keep,
        h=last,
    )


def _body(ev: Any, prev: str) -> dict[str, Any]:
    """The documented hash input (docs/evidence.md), written out here on purpose."""
    body = {
        "chain": ev.chain,
        "seq": ev.seq,
        "at": ev.at.isoformat(),
        "actor": ev.actor,
        "action": ev.action,
        "target_type": ev.target_type,
        "target_id": ev.target_id,
        "details": ev.details,
        "prev_hash": prev,
    }
    if ev.v == 2:
        body["tenant_id"] = None if ev.chain == "_system" else ev.chain
        body["v"] = 2
    return body


def _rewrite(db_url: str, chain: str, seq: int, **change: Any) -> None:
    """The attack: change event ``seq`` and re-hash it and everything after it, head included."""
    from sqlalchemy import select, update

    from shifty_ent.core.tables import AuditEvent, AuditHead

    engine = store.get_engine(db_url)
    with store.new_session(engine) as s:
        events = s.scalars(
            select(AuditEvent).where(AuditEvent.chain == chain).order_by(AuditEvent.seq)
        ).all()
        prev = GENESIS
        for ev in events:
            if ev.seq == seq:
                for key, value in change.items():
                    setattr(ev, key, value)
            if ev.seq >= seq:
                digest = hashlib.sha256(rfc8785.dumps(_body(ev, prev))).hexdigest()
                s.execute(
                    update(AuditEvent)
                    .where(AuditEvent.id == ev.id)
                    .values(prev_hash=prev, hash=digest, **change if ev.seq == seq else {})
                )
                ev.hash = digest
            prev = ev.hash
        s.execute(update(AuditHead).where(AuditHead.chain == chain).values(hash=prev))
        s.commit()


def _verify(cli: Any, *args: str, tenant: str | None = "acme", user: str = "audrey") -> Any:
    return cli("report", "audit", "verify", *args, tenant=tenant, user=user)


def _checkpoint(cli: Any, witness: str, tenant: str | None = "acme", user: str = "audrey") -> Any:
    return cli.ok("report", "audit", "checkpoint", "--witness", witness, tenant=tenant, user=user)


def test_truncated_tail_with_fixed_head_is_refused(cli, tenant, tmp_path):
    """Reproduction on main: add users, delete the last events, set audit_heads to the new last
    event: `report audit verify` exits 0. With a witness checkpoint it exits 4 naming it."""
    _users(cli, "u1", "u2", "u3")
    witness = str(tmp_path / "witness")
    written = _checkpoint(cli, witness)
    (cp,) = written
    assert cp["chain"] == tenant["id"] and cp["seq"] == 7
    path = Path(cp["witness"])
    assert stat.S_IMODE(path.stat().st_mode) == 0o600 and path.parent.parent == Path(witness)
    assert _verify(cli, "--witness", witness).exit_code == 0
    _truncate(cli.db_url, tenant["id"], 5)
    assert _verify(cli).exit_code == 0  # the chain alone cannot tell
    res = _verify(cli, "--witness", witness)
    assert res.exit_code == 4, res.stderr
    assert str(path) in res.stderr and "seq 7" in res.stderr and "removed" in res.stderr
    assert res.error["details"]["checkpoint"]["source"] == str(path)


def test_rewritten_and_rehashed_chain_is_refused(cli, tenant, tmp_path):
    """Reproduction on main: change an event's actor and recompute every hash after it (the chain
    has no secret): verify exits 0. A checkpoint above the change makes it exit 4."""
    _users(cli, "u1", "u2", "u3")
    witness = str(tmp_path / "witness")
    _checkpoint(cli, witness)
    _users(cli, "u4")  # events after the checkpoint are not pinned yet
    _rewrite(cli.db_url, tenant["id"], 3, actor="mallory")
    assert _verify(cli).exit_code == 0
    res = _verify(cli, "--witness", witness)
    assert res.exit_code == 4
    assert "rewritten at or before seq 7" in res.stderr and witness in res.stderr
    shown = cli("report", "audit", "verify", "--witness", witness, tenant="acme", user="audrey")
    assert json.loads(shown.stdout)[0]["checkpoints"][0]["ok"] is False


def test_deleted_chain_is_refused(cli, tenant, tmp_path):
    """Reproduction on main: delete a tenant's events and its head row: verify (with -t, or of
    every chain) exits 0. Checkpoints of every chain (an installation administrator's cron)
    make both exit 4."""
    _users(cli, "u1")
    cli.ok("tenant", "create", "globex", user="gina")
    witness = str(tmp_path / "witness")
    written = _checkpoint(cli, witness, tenant=None, user="alice")
    assert {w["chain"] for w in written} >= {"_system", tenant["id"]} and len(written) == 3
    _exec(cli.db_url, "DELETE FROM audit_events WHERE chain = :c", c=tenant["id"])
    _exec(cli.db_url, "DELETE FROM audit_heads WHERE chain = :c", c=tenant["id"])
    assert _verify(cli, tenant=None, user="alice").exit_code == 0
    res = _verify(cli, "--witness", witness, tenant=None, user="alice")
    assert res.exit_code == 4 and tenant["id"] in res.stderr and "whole chain" in res.stderr
    assert _verify(cli, "--witness", witness).exit_code == 4


def test_report_recorded_head_is_held_against_the_chain(cli, tenant, root):
    """Reproduction on main: a signed report names the head it saw (reports.audit_head_seq and
    hash); truncating below it and fixing audit_heads went unnoticed. Now exit 4 naming it."""
    _users(cli, "u1", "u2")
    rep = cli.ok("report", "compliance", "--type", "data_inventory", tenant="acme", user="audrey")
    shown = _verify(cli)
    assert shown.exit_code == 0
    checks = json.loads(shown.stdout)[0]["checkpoints"]
    assert [c["source"] for c in checks] == [f"report {rep['id']}"] and checks[0]["ok"]
    _truncate(cli.db_url, tenant["id"], 4)
    res = _verify(cli)
    assert res.exit_code == 4 and f"report {rep['id']}" in res.stderr


def _foreign_checkpoint(path: Path, chain: str, seq: int, head: str) -> Path:
    """A well-formed checkpoint signed by a key of our own (not the installation's)."""
    key = Ed25519PrivateKey.generate()
    raw = key.public_key().public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw)
    stmt = {
        "schema": "shifty-ent.audit-checkpoint/v1",
        "chain": chain,
        "tenant_id": chain,
        "seq": seq,
        "head_hash": head,
        "at": "2026-01-01T00:00:00+00:00",
        "key_fingerprint": "SHA256:" + hashlib.sha256(raw).hexdigest(),
    }
    sig = key.sign(b"shifty-ent-audit-checkpoint-v1\n" + rfc8785.dumps(stmt))
    doc = {
        "schema": stmt["schema"],
        "algorithm": "Ed25519",
        "statement": stmt,
        "public_key": base64.b64encode(raw).decode(),
        "signature": base64.b64encode(sig).decode(),
    }
    path.write_text(json.dumps(doc))
    return path


def test_untrusted_or_altered_checkpoints_are_refused(cli, tenant, tmp_path):
    _users(cli, "u1")
    seq, head = _rows(cli.db_url, tenant["id"])[-1]
    forged = _foreign_checkpoint(tmp_path / "forged.json", tenant["id"], seq, head)
    res = _verify(cli, "--checkpoint", str(forged))
    assert res.exit_code == 4 and "untrusted key" in res.stderr and str(forged) in res.stderr
    cli.ok("report", "trust", "add", str(forged), user="audrey")
    assert _verify(cli, "--checkpoint", str(forged)).exit_code == 0
    witness = tmp_path / "w"
    (cp,) = _checkpoint(cli, str(witness))
    doc = json.loads(Path(cp["witness"]).read_text())
    doc["statement"]["seq"] -= 1
    altered = tmp_path / "altered.json"
    altered.write_text(json.dumps(doc))
    res = _verify(cli, "--checkpoint", str(altered))
    assert res.exit_code == 4 and "signature does not match" in res.stderr
    globex = cli.ok("tenant", "create", "globex", user="gina")
    other = _foreign_checkpoint(tmp_path / "other.json", globex["id"], 1, head)
    assert _verify(cli, "--checkpoint", str(other)).exit_code == 2  # not this tenant's


def test_malformed_rows_exit_4_with_their_seq(cli, tenant, backend):
    """Reproduction on main: invalid JSON in details crashed verify with a traceback (exit 1)."""
    _users(cli, "u1", "u2")
    chain = tenant["id"]
    if backend == "sqlite":
        bad = ("not json {", "null", "[1, 2]", 42)
    else:
        bad = ("5", "null", '"text"', "[1]")
    for value in bad:
        if backend == "sqlite":
            _exec(
                cli.db_url,
                "UPDATE audit_events SET details = :d WHERE chain = :c AND seq = 3",
                d=value,
                c=chain,
            )
        else:
            _exec(
                cli.db_url,
                "UPDATE audit_events SET details = CAST(:d AS jsonb) WHERE chain = :c AND seq = 3",
                d=value,
                c=chain,
            )
        res = _verify(cli)
        assert res.exit_code == 4, (value, res.stderr)
        assert "seq 3" in res.stderr and chain in res.stderr and "Traceback" not in res.stderr
    if backend == "sqlite":
        _exec(
            cli.db_url,
            "UPDATE audit_events SET actor = 7, at = 'yesterday' WHERE chain = :c AND seq = 4",
            c=chain,
        )
        res = _verify(cli)
        assert res.exit_code == 4 and "seq 3" in res.stderr


def test_moving_an_event_to_another_tenant_is_refused(cli, tenant):
    """tenant_id was not hashed: an event could be re-assigned to another tenant unnoticed."""
    _users(cli, "u1")
    globex = cli.ok("tenant", "create", "globex", user="gina")
    _exec(
        cli.db_url,
        "UPDATE audit_events SET tenant_id = :t WHERE chain = :c AND seq = 2",
        t=uuid.UUID(globex["id"]).hex if cli.db_url.startswith("sqlite") else globex["id"],
        c=tenant["id"],
    )
    res = _verify(cli)
    assert res.exit_code == 4 and "seq 2" in res.stderr and "tenant" in res.stderr


def test_format_1_events_still_verify_and_no_downgrade(cli, tenant):
    """Events written before 0011_audit_v2 (v = 1) keep their old hash input; after a format 2
    event, a format 1 one is a downgrade."""
    _users(cli, "u1", "u2")
    chain = tenant["id"]
    _exec(cli.db_url, "UPDATE audit_events SET v = 1 WHERE chain = :c", c=chain)
    _rewrite(cli.db_url, chain, 1)  # an old store: every event hashed the format 1 way
    assert _verify(cli).exit_code == 0
    _users(cli, "u3", "u4")  # appended now: format 2
    assert _verify(cli).exit_code == 0
    _exec(cli.db_url, "UPDATE audit_events SET v = 1 WHERE chain = :c AND seq = 8", c=chain)
    _rewrite(cli.db_url, chain, 8)
    res = _verify(cli)
    assert res.exit_code == 4 and "downgrade" in res.stderr


def test_checkpoint_permissions_and_witness_required(cli, tenant, tmp_path):
    witness = str(tmp_path / "w")
    assert (
        cli(
            "report", "audit", "checkpoint", "--witness", witness, tenant="acme", user="lars"
        ).exit_code
        == 4
    )
    assert cli("report", "audit", "checkpoint", "--witness", witness, user="audrey").exit_code == 4
    assert cli("report", "audit", "checkpoint", tenant="acme", user="audrey").exit_code == 2
    res = cli(
        "report", "audit", "checkpoint", "--witness", "ftp://x/y", tenant="acme", user="audrey"
    )
    assert res.exit_code == 2


def test_directory_witness_never_overwrites(cli, tenant, tmp_path):
    witness = tmp_path / "w"
    (first,) = _checkpoint(cli, str(witness))
    (second,) = _checkpoint(cli, str(witness))  # same head, later time: a second file
    assert first["witness"] != second["witness"] and first["seq"] == second["seq"]
    path = Path(second["witness"])
    original = path.read_bytes()
    from shifty_ent.core.config import load_settings
    from shifty_ent.core.errors import Conflict
    from shifty_ent.core.witness import open_witness

    w = open_witness(str(witness), load_settings())
    assert w.write(path.parent.name, path.name, original) == str(path)
    with pytest.raises(Conflict):
        w.write(path.parent.name, path.name, b"{}")
    assert path.read_bytes() == original


def test_commands_write_checkpoints_after_commit(
    cli, tenant, root, register, tmp_path, monkeypatch
):
    """With SHIFTY_AUDIT_WITNESS set, report generation, data sweep and deletion execution each
    leave a checkpoint of the tenant's committed head."""
    witness = tmp_path / "w"
    monkeypatch.setenv("SHIFTY_AUDIT_WITNESS", str(witness))
    folder = witness / tenant["id"]

    def newest() -> dict[str, Any]:
        files = sorted(folder.glob("*.json"))
        return json.loads(files[-1].read_text())["statement"]

    rep = cli.ok("report", "costs", tenant="acme", user="olga")
    seq, head = _rows(cli.db_url, tenant["id"])[-1]
    assert newest()["seq"] == seq and newest()["head_hash"] == head
    assert rep["audit_head_seq"] == seq - 1  # the report saw the head before its own event
    cli.ok("data", "sweep", tenant="acme", user="olga")
    seq, head = _rows(cli.db_url, tenant["id"])[-1]
    assert newest()["seq"] == seq and newest()["head_hash"] == head
    asset = register("doomed")
    job = cli.ok(
        "data", "delete", "request", asset["id"], "--method", "nist_800_88", "--reason", "r",
        user="olga", tenant="acme",
    )  # fmt: skip
    cli.ok("data", "delete", "approve", job["id"], user="alice", tenant="acme")
    before = len(list(folder.glob("*.json")))
    cli.ok("data", "delete", "execute", job["id"], "--yes", user="olga", tenant="acme")
    seq, head = _rows(cli.db_url, tenant["id"])[-1]
    assert len(list(folder.glob("*.json"))) == before + 1
    assert newest()["seq"] == seq and newest()["head_hash"] == head
    res = _verify(cli)  # the environment's witness is read too
    assert res.exit_code == 0
    assert len(json.loads(res.stdout)[0]["checkpoints"]) == before + 2  # + the costs report


# ------------------------------------------------------------------ S3 and webhook witnesses


@pytest.fixture
def s3(monkeypatch: pytest.MonkeyPatch, backend: str) -> Any:
    if backend != "sqlite":
        pytest.skip("the witness transport does not depend on the database")
    import boto3

    from tests.fakes.aws import moto_server, use_aws

    with moto_server() as url:
        use_aws(monkeypatch, url, "S3")
        yield boto3.client("s3", endpoint_url=url)


@pytest.mark.parametrize("locked", [True, False])
def test_s3_witness(cli, tenant, s3, locked):
    bucket = f"witness-{uuid.uuid4().hex[:12]}"
    s3.create_bucket(Bucket=bucket, ObjectLockEnabledForBucket=locked)
    _users(cli, "u1", "u2")
    (cp,) = _checkpoint(cli, f"s3://{bucket}/audit")
    key = cp["witness"].removeprefix(f"s3://{bucket}/")
    assert key.startswith(f"audit/{tenant['id']}/")
    head = s3.head_object(Bucket=bucket, Key=key)
    if locked:
        assert head["ObjectLockMode"] == "COMPLIANCE"
        assert head["ObjectLockRetainUntilDate"] > datetime.now(UTC) + timedelta(days=300)
        with pytest.raises(Exception, match=r"(?i)denied|lock|retention"):
            s3.delete_object(Bucket=bucket, Key=key, VersionId=head["VersionId"])
    else:
        assert "ObjectLockMode" not in head
    assert _verify(cli, "--witness", f"s3://{bucket}/audit").exit_code == 0
    _truncate(cli.db_url, tenant["id"], 4)
    res = _verify(cli, "--witness", f"s3://{bucket}/audit")
    assert res.exit_code == 4 and cp["witness"] in res.stderr


def test_webhook_witness(cli, tenant, backend, tmp_path):
    if backend != "sqlite":
        pytest.skip("the witness transport does not depend on the database")
    _users(cli, "u1", "u2")
    with LoopbackServer(lambda r: Response(201), max_requests=5, max_seconds=60) as hook:
        (cp,) = _checkpoint(cli, hook.url + "/witness")
        (received,) = hook.requests
    assert cp["witness"] == hook.url + "/witness"
    assert received.headers.get("Content-Type", received.headers.get("content-type")) == (
        "application/json"
    )
    kept = tmp_path / "kept.json"
    kept.write_bytes(received.body)
    assert _verify(cli, "--checkpoint", str(kept)).exit_code == 0
    _truncate(cli.db_url, tenant["id"], 4)
    res = _verify(cli, "--checkpoint", str(kept))
    assert res.exit_code == 4 and str(kept) in res.stderr
    res = cli(
        "report",
        "audit",
        "checkpoint",
        "--witness",
        "http://example.com/x",
        tenant="acme",
        user="audrey",
    )
    assert res.exit_code == 2  # plain http only on loopback


def test_checkpoint_is_exclusive_create_mode_0600(cli, tenant, tmp_path):
    (cp,) = _checkpoint(cli, str(tmp_path / "w"))
    assert oct(os.stat(cp["witness"]).st_mode & 0o777) == "0o600"


def test_a_refusing_witness_fails_the_command_after_its_commit(cli, tenant, backend, monkeypatch):
    if backend != "sqlite":
        pytest.skip("the witness transport does not depend on the database")
    with LoopbackServer(lambda r: Response(503), max_requests=5, max_seconds=60) as hook:
        monkeypatch.setenv("SHIFTY_AUDIT_WITNESS", hook.url + "/witness")
        res = cli("report", "costs", tenant="acme", user="olga")
    assert res.exit_code == 6 and "committed" in res.stderr
    monkeypatch.delenv("SHIFTY_AUDIT_WITNESS")
    assert len(cli.ok("report", "list", tenant="acme", user="olga")) == 1  # the report stays
