"""Certificates: offline verification, and failure on any changed byte."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from shifty_ent.data.certificates import verify_certificate_document
from tests.data.conftest import make_file


@pytest.fixture
def exported(
    cli: Any, tenant: Any, root: Path, register: Any, tmp_path: Path
) -> tuple[Path, dict[str, Any]]:
    asset = register("doomed", make_file(root / "doomed.bin", 20_000), "pii", "--subject", "p-1")
    job = cli.ok(
        "data",
        "delete",
        "request",
        asset["id"],
        "--method",
        "nist_800_88",
        "--reason",
        "GDPR erasure",
        user="olga",
        tenant="acme",
    )
    cli.ok("data", "delete", "approve", job["id"], user="alice", tenant="acme")
    done = cli.ok("data", "delete", "execute", job["id"], user="olga", tenant="acme")
    out = tmp_path / "cert.json"
    cli.ok(
        "data",
        "certificate",
        "export",
        done["certificate_id"],
        "--out",
        str(out),
        user="audrey",
        tenant="acme",
    )
    return out, done


def _verify_file(cli: Any, path: Path, *extra: str) -> Any:
    return cli("data", "certificate", "verify", str(path), *extra, user=None, tenant=None)


def test_exported_file_is_self_contained_and_verifies_offline(exported: Any, cli: Any) -> None:
    path, done = exported
    doc = json.loads(path.read_text())
    assert {"certificate", "signature", "key_fingerprint", "public_key"} <= set(doc)
    ok, reason = verify_certificate_document(doc)
    assert ok, reason
    ok, _ = verify_certificate_document(doc, doc["public_key"])
    assert ok
    body = doc["certificate"]
    assert body["job_id"] == done["id"]
    media = body["media"][0]
    for key in (
        "asset_id",
        "classification",
        "sha256_before",
        "method_used",
        "nist_category",
        "verification",
        "post_sanitization_state",
        "passes",
    ):
        assert media[key], key
    assert body["issuer"]["tool"] == "shifty-ent" and body["issuer"]["tool_version"]
    assert any("Clear only" in n for n in media["notes"])
    # verification needs no database at all
    from typer.testing import CliRunner

    from shifty_ent.cli import app

    res = CliRunner().invoke(app, ["-o", "json", "data", "certificate", "verify", str(path)])
    assert res.exit_code == 0 and json.loads(res.stdout)["valid"] is True


def test_every_changed_byte_fails(exported: Any, cli: Any) -> None:
    path, _ = exported
    raw = path.read_bytes()
    # flip bytes spread over the whole file: values, keys, whitespace, signature, key
    positions = sorted({int(i * (len(raw) - 1) / 60) for i in range(61)})
    for pos in positions:
        bad = bytearray(raw)
        bad[pos] = (bad[pos] + 1) % 256 if bad[pos] not in (0x20, 0x0A) else 0x09
        path.write_bytes(bytes(bad))
        res = _verify_file(cli, path)
        assert res.exit_code == 4, (pos, raw[max(0, pos - 20) : pos + 20])
    path.write_bytes(raw + b" ")
    assert _verify_file(cli, path).exit_code == 4
    path.write_bytes(raw)
    assert _verify_file(cli, path).exit_code == 0


def test_content_change_with_recomputed_layout_fails(exported: Any, cli: Any) -> None:
    path, _ = exported
    doc = json.loads(path.read_text())
    doc["certificate"]["media"][0]["post_sanitization_state"] = "totally erased"
    from shifty_ent.data.certificates import export_bytes

    path.write_bytes(export_bytes(doc))
    res = _verify_file(cli, path)
    assert res.exit_code == 4 and "signature" in res.error["message"]


def test_pinned_key_mismatch_fails(exported: Any, cli: Any) -> None:
    import base64
    import os

    path, _ = exported
    other = base64.b64encode(os.urandom(32)).decode()
    res = _verify_file(cli, path, "--public-key", other)
    assert res.exit_code == 4 and "expected key" in res.error["message"]
    doc = json.loads(path.read_text())
    ok, _reason = verify_certificate_document(doc, other)
    assert not ok


def test_tampered_row_in_store_fails(exported: Any, cli: Any, make_context: Any) -> None:
    from sqlmodel import select

    from shifty_ent.data.tables import DeletionCertificate

    _, done = exported
    with make_context(tenant="acme") as ctx:
        cert = ctx.session.scalars(select(DeletionCertificate)).one()
        doc = json.loads(json.dumps(cert.document))
        doc["sanitization"]["approved_by"] = "mallory"
        cert.document = doc
        ctx.session.add(cert)
    res = cli("data", "certificate", "verify", done["certificate_id"], user="audrey", tenant="acme")
    assert res.exit_code == 4 and "FAILED" in res.error["message"]
