"""Certificates: offline verification, and failure on any changed byte."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from shifty_ent.data.certificates import verify_certificate_document
from tests.conftest import compliance_report, erase
from tests.data.conftest import make_file


@pytest.fixture
def exported(
    cli: Any, tenant: Any, root: Path, register: Any, tmp_path: Path
) -> tuple[Path, dict[str, Any]]:
    asset = register("doomed", make_file(root / "doomed.bin", 20_000), "pii", "--subject", "p-1")
    done = erase(cli, asset["id"], "nist_800_88", "GDPR erasure")
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

    argv = ["-o", "json", "data", "certificate", "verify", str(path)]
    res = CliRunner().invoke(app, argv)
    assert res.exit_code == 4 and "untrusted key" in res.stderr  # no store, no trust file
    res = CliRunner().invoke(app, [*argv, "--public-key", doc["public_key"]])
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


def test_renamed_envelope_key_fails(exported: Any, cli: Any) -> None:
    """Flipping one byte of the key "format" (e.g. to "fornat") used to skip every envelope
    check and verify: the layout stays canonical with the renamed key (found by the flaky
    byte-flip test above when the flip landed there)."""
    path, _ = exported
    raw = path.read_bytes()
    path.write_bytes(raw.replace(b'"format":', b'"fornat":', 1))
    res = _verify_file(cli, path)
    assert res.exit_code == 4


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


def test_certificate_resigned_with_a_foreign_key_is_untrusted(
    exported: Any, cli: Any, tmp_path: Path
) -> None:
    """On main a certificate re-signed with an attacker's own key (claiming, say, Purge) passed
    ``data certificate verify FILE`` and ``report verify FILE`` (exit 0, "valid") unless the
    user passed --fingerprint. Only a trusted key's signature counts now (exit 4)."""
    import base64

    from cryptography.hazmat.primitives import serialization
    from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

    from shifty_ent.core.signing import fingerprint_of
    from shifty_ent.data.certificates import export_bytes, signed_bytes

    path, _ = exported
    doc = json.loads(path.read_text(encoding="utf-8"))
    forger = Ed25519PrivateKey.generate()
    pub = base64.b64encode(
        forger.public_key().public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw)
    ).decode()
    body = doc["certificate"]
    body["media"][0]["nist_category"] = "Purge"
    body["issuer"]["key_fingerprint"] = fingerprint_of(pub)
    doc.update(
        certificate=body,
        public_key=pub,
        key_fingerprint=fingerprint_of(pub),
        signature=base64.b64encode(forger.sign(signed_bytes(body))).decode(),
    )
    forged = tmp_path / "forged.json"
    forged.write_bytes(export_bytes(doc))
    for argv in (
        ("data", "certificate", "verify", str(forged)),
        ("report", "verify", str(forged)),
    ):
        res = cli(*argv, tenant="acme")
        assert res.exit_code == 4, (argv, res.stdout, res.stderr)
        assert "untrusted key" in res.error["message"]
    # the genuine file, signed by the store's registered key, is trusted without a pin
    assert cli.ok("report", "verify", str(path), tenant="acme")["ok"] is True


def test_signature_with_changed_padding_bits_fails(exported: Any, cli: Any) -> None:
    """On main, changing the unused padding bits of the signature's base64 (a different file)
    still verified: base64 is now decoded strictly (canonical only)."""
    path, _ = exported
    doc = json.loads(path.read_text(encoding="utf-8"))
    sig = doc["signature"]
    assert sig.endswith("==")  # 64 bytes: the last character carries 4 padding bits
    alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/"
    last = sig[-3]
    twin = alphabet[alphabet.index(last) ^ 1]  # same 2 data bits, different padding bits
    doc["signature"] = sig[:-3] + twin + "=="
    from shifty_ent.data.certificates import export_bytes

    path.write_bytes(export_bytes(doc))
    res = cli("data", "certificate", "verify", str(path), tenant="acme")
    assert res.exit_code == 4, res.stdout


def _erase(cli: Any, asset_id: str, out_dir: Path, method: str = "nist_800_88") -> Any:
    done = erase(cli, asset_id, method, "r")
    out = out_dir / "cert.json"
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
    exported = json.loads(out.read_text())
    ok, reason = verify_certificate_document(exported)
    assert ok, reason
    return done, exported["certificate"]


def test_missing_file_is_certified_absent_never_erased(
    cli: Any, tenant: Any, root: Path, register: Any, tmp_path: Path
) -> None:
    """Issue 14.3: on main a file removed before the job ran was certified ``erased``.

    Reproduce: register a file, delete it by hand, request + approve + execute: the certificate
    said status "erased" and summary erased 1, though the tool sanitized nothing.
    """
    f = make_file(root / "gone.bin", 5_000)
    asset = register("gone", f)
    f.unlink()
    _done, body = _erase(cli, asset["id"], tmp_path)
    media = body["media"][0]
    assert media["status"] == "absent" and media["nist_category"] == "none"
    assert body["summary"]["erased"] == 0 and body["summary"]["absent"] == 1
    assert "sanitized nothing" in " ".join(media["notes"])


def test_changed_content_is_recorded_and_reported(
    cli: Any, tenant: Any, root: Path, register: Any, tmp_path: Path
) -> None:
    """Issue 14.3: on main a different file at the approved path was erased and certified with
    no warning. Reproduce: register a file, replace its bytes, erase it: the certificate showed
    only the new sha256_before, nothing compared it with the registered digest."""
    f = make_file(root / "swapped.bin", 5_000)
    asset = register("swapped", f)
    f.write_bytes(b"something else entirely")
    _done, body = _erase(cli, asset["id"], tmp_path)
    media = body["media"][0]
    assert media["status"] == "erased"
    assert media["content_changed"] is True
    assert media["sha256_registered"] == asset["sha256"] != media["sha256_before"]
    assert body["summary"]["content_changed"] == 1
    assert any("differs from the content registered" in n for n in media["notes"])
    out = tmp_path / "audit.json"
    compliance_report(cli, "deletion_audit", out)
    doc = json.loads(out.read_text())
    rows = next(s for s in doc["sections"] if s["id"] == "deletions")["rows"]
    assert rows[0]["content_check"].startswith("CHANGED")
    assert doc["summary"]["content_changed"] == 1
