"""Workspaces (TTL, usage, over-allocation, certified destruction), GDPR export, subjects."""

from __future__ import annotations

import hashlib
import json
import zipfile
from pathlib import Path
from typing import Any

from tests.data.conftest import create_policy, make_file


def test_workspace_lifecycle(cli: Any, tenant: Any) -> None:
    ws = cli.ok(
        "data",
        "workspace",
        "create",
        "--type",
        "training",
        "--size",
        "1M",
        "--ttl",
        "2h",
        user="olga",
        tenant="acme",
    )
    path = Path(ws["path"])
    assert path.is_dir() and (path.stat().st_mode & 0o777) == 0o700
    assert ws["size_allocated_bytes"] == 1024 * 1024 and ws["ttl_seconds"] == 7200
    make_file(path / "ckpt" / "model.bin", 1_500_000)
    (path / "link").symlink_to("/etc/passwd")
    listed = cli.ok("data", "workspace", "list", user="audrey", tenant="acme")
    assert listed[0]["usage_bytes"] == 1_500_000 and listed[0]["over_allocation"] is True
    swept = cli.ok("data", "sweep", "--dry-run", user="olga", tenant="acme")
    assert swept["over_allocation"][0]["workspace_id"] == ws["id"]
    assert swept["workspaces_destroyed"] == []
    gone = cli.ok("data", "workspace", "destroy", ws["id"], "--yes", user="olga", tenant="acme")
    assert gone["status"] == "destroyed" and gone["job"]["certificate_id"]
    assert not path.exists() and Path("/etc/passwd").exists()
    cert = cli.ok(
        "data", "certificate", "show", gone["job"]["certificate_id"], user="audrey", tenant="acme"
    )
    media = cert["certificate"]["media"][0]
    assert media["type"] == "workspace" and "1 file(s)" in media["post_sanitization_state"]
    again = cli("data", "workspace", "destroy", ws["id"], "--yes", user="olga", tenant="acme")
    assert again.exit_code == 5


def test_expired_workspace_destroyed_by_sweep(cli: Any, tenant: Any) -> None:
    ws = cli.ok(
        "data",
        "workspace",
        "create",
        "--type",
        "scratch",
        "--size",
        "10M",
        "--ttl",
        "30m",
        user="olga",
        tenant="acme",
    )
    make_file(Path(ws["path"]) / "tmp.bin", 10_000)
    res = cli.ok(
        "data", "sweep", user="olga", tenant="acme", env={"SHIFTY_NOW": "2099-01-01T00:00:00Z"}
    )
    assert [w["workspace_id"] for w in res["workspaces_destroyed"]] == [ws["id"]]
    assert res["workspaces_destroyed"][0]["certificate_id"]
    assert not Path(ws["path"]).exists()
    shown = cli.ok("data", "workspace", "show", ws["id"], user="olga", tenant="acme")
    assert shown["status"] == "destroyed"


def test_workspace_bad_input(cli: Any, tenant: Any) -> None:
    for args in (("--size", "lots", "--ttl", "1h"), ("--size", "1G", "--ttl", "forever")):
        res = cli(
            "data", "workspace", "create", "--type", "training", *args, user="olga", tenant="acme"
        )
        assert res.exit_code == 2
    res = cli(
        "data",
        "workspace",
        "create",
        "--type",
        "party",
        "--size",
        "1G",
        "--ttl",
        "1h",
        user="olga",
        tenant="acme",
    )
    assert res.exit_code == 2
    assert cli.ok("data", "workspace", "list", "--all", user="olga", tenant="acme") == []


def test_subject_erasure_and_export(
    cli: Any, tenant: Any, root: Path, register: Any, tmp_path: Path
) -> None:
    a = register("a", make_file(root / "a.bin"), "pii", "--subject", "p-1", "--subject", "p-2")
    b = register("b", make_file(root / "b.bin"), "pii", "--subject", "p-1")
    c = register("c", make_file(root / "c.bin"), "pii", "--subject", "p-3")
    cli.ok("data", "asset", "hold", b["id"], "--reason", "tax audit", user="olga", tenant="acme")
    mine = cli.ok("data", "asset", "list", "--subject", "p-1", user="audrey", tenant="acme")
    assert {x["id"] for x in mine} == {a["id"], b["id"]}
    job = cli.ok(
        "data",
        "delete",
        "request",
        "--subject",
        "p-1",
        "--method",
        "secure_overwrite",
        "--reason",
        "Art. 17 request #12",
        user="olga",
        tenant="acme",
    )
    assert job["asset_ids"] == [a["id"]]
    assert (
        job["exceptions"][0]["asset_id"] == b["id"]
        and "legal hold" in job["exceptions"][0]["exception"]
    )
    cli.ok("data", "delete", "approve", job["id"], user="alice", tenant="acme")
    cli.ok("data", "delete", "execute", job["id"], "--yes", user="olga", tenant="acme")
    assert not (root / "a.bin").exists() and (root / "b.bin").exists() and (root / "c.bin").exists()

    out = tmp_path / "p1.zip"
    manifest = cli.ok(
        "data", "export", "--out", str(out), "--subject", "p-1", user="audrey", tenant="acme"
    )
    assert manifest["subject"] == "p-1"
    with zipfile.ZipFile(out) as zf:
        names = set(zf.namelist())
        assert {
            "manifest.json",
            "manifest.json.sig",
            "checksums.sha256",
            "data/assets.jsonl",
        } <= names
        for line in zf.read("checksums.sha256").decode().splitlines():
            digest, path = line.split("  ")
            assert hashlib.sha256(zf.read(path)).hexdigest() == digest
        assets = [json.loads(x) for x in zf.read("data/assets.jsonl").decode().splitlines()]
        assert {x["id"] for x in assets} == {a["id"], b["id"]}
        assert all(x["subjects"] == ["p-1"] for x in assets)  # p-2 is someone else
        certs = [json.loads(x) for x in zf.read("data/certificates.jsonl").decode().splitlines()]
        assert len(certs) == 1
        from shifty_ent.data.certificates import verify_certificate_document

        row = certs[0]
        doc = {
            "certificate": row["certificate"],
            "signature": row["signature"],
            "key_fingerprint": row["key_fingerprint"],
            "public_key": row["public_key"],
        }
        assert verify_certificate_document(doc)[0]
        sig = json.loads(zf.read("manifest.json.sig"))
        from shifty_ent.core.signing import verify_bytes

        assert verify_bytes(zf.read("manifest.json"), sig["signature"], sig["public_key"])
        events = [json.loads(x) for x in zf.read("data/audit_events.jsonl").decode().splitlines()]
        assert c["id"] not in {e["target_id"] for e in events}
    full = tmp_path / "all.zip"
    cli.ok("data", "export", "--out", str(full), user="alice", tenant="acme")
    with zipfile.ZipFile(full) as zf:
        assets = zf.read("data/assets.jsonl").decode().splitlines()
        assert len(assets) == 3
    assert cli("data", "export", "--out", str(full), user="olga", tenant="acme").exit_code == 4
    assert (
        cli(
            "data",
            "export",
            "--out",
            str(full),
            "--force",
            "--subject",
            "nobody",
            user="alice",
            tenant="acme",
        ).exit_code
        == 3
    )


def test_policy_and_expiring_list(cli: Any, tenant: Any, root: Path, register: Any) -> None:
    pol = create_policy(cli, "--auto-delete", name="short", cls="internal", days="5")
    assert pol["classifications"] == ["internal"]
    dup = cli(
        "data",
        "policy",
        "create",
        "other",
        "--classification",
        "internal",
        "--retention-days",
        "9",
        user="olga",
        tenant="acme",
    )
    assert dup.exit_code == 5 and "already covered" in dup.error["message"]
    assert (
        cli(
            "data",
            "policy",
            "create",
            "p",
            "--classification",
            "secret",
            "--retention-days",
            "1",
            user="olga",
            tenant="acme",
        ).exit_code
        == 2
    )
    assert (
        cli(
            "data",
            "policy",
            "create",
            "p",
            "--classification",
            "pii",
            "--retention-days",
            "1",
            user="lars",
            tenant="acme",
        ).exit_code
        == 4
    )
    soon = register("soon", make_file(root / "s.bin"), "internal")
    register("never", make_file(root / "n.bin"), "public")
    rows = cli.ok("data", "asset", "list", "--expiring-within", "7", user="audrey", tenant="acme")
    assert [r["id"] for r in rows] == [soon["id"]]
    assert (
        cli.ok("data", "asset", "list", "--expiring-within", "3", user="audrey", tenant="acme")
        == []
    )
    assert [p["name"] for p in cli.ok("data", "policy", "list", user="lars", tenant="acme")] == [
        "short"
    ]
    assert (
        cli.ok("data", "policy", "show", "short", user="audrey", tenant="acme")["id"] == pol["id"]
    )


def test_auto_approved_standard_for_internal(
    cli: Any, tenant: Any, root: Path, register: Any
) -> None:
    cli.ok(
        "data",
        "policy",
        "create",
        "int",
        "--classification",
        "internal",
        "--retention-days",
        "30",
        "--auto-approve",
        user="olga",
        tenant="acme",
    )
    bad = cli(
        "data",
        "policy",
        "create",
        "conf",
        "--classification",
        "confidential",
        "--retention-days",
        "30",
        "--auto-approve",
        user="olga",
        tenant="acme",
    )
    assert bad.exit_code == 2
    asset = register("i", make_file(root / "i.bin"), "internal")
    job = cli.ok(
        "data",
        "delete",
        "request",
        asset["id"],
        "--method",
        "standard",
        "--reason",
        "r",
        user="olga",
        tenant="acme",
    )
    assert job["status"] == "approved" and job["approved_by"] == "policy:int"
    done = cli.ok("data", "delete", "execute", job["id"], "--yes", user="olga", tenant="acme")
    assert done["status"] == "completed"
    assert done["items"][0]["result"]["nist_category"] == "none"


def test_reads_of_classified_assets_are_audited(
    cli: Any, tenant: Any, root: Path, register: Any, make_context: Any
) -> None:
    from sqlmodel import select

    from shifty_ent.core.tables import AuditEvent

    conf = register("conf", make_file(root / "c.bin"), "phi")
    pub = register("pub", make_file(root / "p.bin"), "public")
    cli.ok("data", "asset", "show", conf["id"], user="audrey", tenant="acme")
    cli.ok("data", "asset", "show", pub["id"], user="audrey", tenant="acme")
    with make_context(tenant="acme") as ctx:
        reads = ctx.session.scalars(
            select(AuditEvent).where(AuditEvent.action == "data.asset.read")
        ).all()
        assert [(r.actor, r.target_id) for r in reads] == [("audrey", conf["id"])]
