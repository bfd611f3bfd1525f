"""Report framework: every format renders and verifies, tampering is caught, reports are recorded
and audited, roles are enforced, bad input changes nothing."""

from __future__ import annotations

import csv
import io
import json
import re
import uuid
from pathlib import Path

import pytest
from sqlalchemy import func, select

from shifty_ent.core import store
from shifty_ent.core.tables import AuditEvent
from shifty_ent.report.tables import Report

FORMATS = ["md", "html", "json", "csv"]
NOW = "2026-11-27T12:00:00+00:00"


def _seed_access(make_context, *, at_env=None):
    """A few classified and public accesses in tenant acme's chain."""
    with make_context(tenant="acme", user="olga") as ctx:
        ctx.audit(
            "data.asset.read",
            target_type="asset",
            target_id=uuid.uuid4(),
            details={"classification": "pii", "via": "asset show"},
        )
        ctx.audit(
            "data.asset.read",
            target_type="asset",
            target_id=uuid.uuid4(),
            details={"classification": "public"},
        )
        ctx.audit(
            "data.asset.hold",
            target_type="asset",
            target_id=uuid.uuid4(),
            details={"classification": "phi", "reason": "litigation <b>&"},
        )
    with make_context(tenant="acme", user="lars") as ctx:
        ctx.audit(
            "data.export",
            target_type="export",
            target_id="x",
            details={"classifications": ["internal", "confidential"], "score": 0.75},
        )


def _generate(cli, tmp_path, fmt="md", kind="access_audit", user="audrey", **kw):
    out = tmp_path / f"report.{fmt}"
    args = ["report", "compliance", "--type", kind, "--format", fmt, "--out", str(out)]
    for key, value in kw.items():
        args += [f"--{key}", value]
    return cli(*args, tenant="acme", user=user), out


def _count(db_url, model, *where):
    engine = store.get_engine(db_url)
    with store.new_session(engine) as s:
        return s.scalar(select(func.count()).select_from(model).where(*where))


@pytest.mark.parametrize("fmt", FORMATS)
def test_each_format_renders_signs_and_verifies(cli, tenant, make_context, tmp_path, fmt):
    _seed_access(make_context)
    res, out = _generate(cli, tmp_path, fmt)
    assert res.exit_code == 0, res.stderr
    rep = res.json
    assert rep["row_count"] >= 3 and rep["type"] == "access_audit" and rep["format"] == fmt
    assert Path(rep["path"]) == out.resolve() and out.with_name(out.name + ".sig").is_file()
    text = out.read_text(encoding="utf-8")
    assert rep["id"] in text and rep["audit_head_hash"] in text and "audrey" in text
    assert "0.1.0" in text or "tool_version" in text
    if fmt == "json":
        doc = json.loads(text)
        assert doc["meta"]["report_id"] == rep["id"]
        assert doc["meta"]["generated_by"] == "audrey"
        rows = doc["sections"][0]["rows"]
        assert {r["classification"] for r in rows} == {"pii", "phi", "confidential"}
        assert doc["summary"]["chain_intact"] is True
        assert doc["sections"][0]["row_count"] == len(rows) == 3
    if fmt == "csv":
        blocks = text.split("\n# section: ")
        access = next(b for b in blocks if b.startswith("classified_access"))
        parsed = list(csv.reader(io.StringIO(access.split("\n", 1)[1])))
        assert parsed[0][:4] == ["seq", "at", "actor", "access"]
        assert sorted(r[5] for r in parsed[1:] if r) == ["confidential", "phi", "pii"]
    if fmt == "html":
        assert text.startswith("<!DOCTYPE html>") and "<svg" in text and "<style>" in text
        assert "<b>" not in text  # values are escaped, never markup
    if fmt == "md":
        assert text.startswith("# Access audit") and "| pii |" in text
    ver = cli.ok("report", "verify", str(out), user=None)
    assert ver["ok"] is True and ver["report_id"] == rep["id"]
    assert ver["content_sha256"] == rep["content_sha256"]


def test_html_is_self_contained(cli, tenant, make_context, tmp_path):
    _seed_access(make_context)
    with make_context(tenant="acme", user="olga") as ctx:
        ctx.audit(
            "data.asset.read",
            target_type="asset",
            target_id="y",
            details={"classification": "pii", "location": "https://evil.example/x.js"},
        )
    res, out = _generate(cli, tmp_path, "html")
    assert res.exit_code == 0, res.stderr
    text = out.read_text()
    lower = text.lower()
    assert "<script" not in lower and "javascript:" not in lower
    assert not re.search(r"\b(src|href|xlink:href|action)\s*=", lower)
    assert "@import" not in lower and "url(" not in lower
    assert "Content-Security-Policy" in text and "default-src 'none'" in text
    assert "<iframe" not in lower and "<link" not in lower and "<img" not in lower
    assert lower.count("<svg") >= 1


@pytest.mark.parametrize("fmt", FORMATS)
def test_changing_one_byte_fails_verification(cli, tenant, make_context, tmp_path, fmt):
    _seed_access(make_context)
    res, out = _generate(cli, tmp_path, fmt)
    assert res.exit_code == 0
    original = out.read_bytes()
    for pos in (0, len(original) // 2, len(original) - 2):
        data = bytearray(original)
        data[pos] ^= 0x01
        out.write_bytes(bytes(data))
        bad = cli("report", "verify", str(out), user=None)
        assert bad.exit_code == 4, (pos, bad.stdout)
        assert "changed after signing" in bad.error["message"]
    out.write_bytes(original + b" ")
    assert cli("report", "verify", str(out), user=None).exit_code == 4
    out.write_bytes(original)
    assert cli("report", "verify", str(out), user=None).exit_code == 0


def test_tampered_signature_file_or_foreign_key_fails(cli, tenant, make_context, tmp_path):
    """On main a report re-signed with an attacker's own key verified (exit 0, "valid") unless
    the user happened to pass --fingerprint: only a trusted key's signature counts now."""
    from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

    from shifty_ent.core.signing import KeyPair, fingerprint_of
    from shifty_ent.report.signing import envelope

    _res, out = _generate(cli, tmp_path, "md")
    sig_path = out.with_name(out.name + ".sig")
    sig = json.loads(sig_path.read_text())
    fp = sig["key_fingerprint"]
    # the statement is signed: changing who generated it breaks the signature
    forged = json.loads(json.dumps(sig))
    forged["statement"]["generated_by"] = "mallory"
    sig_path.write_text(json.dumps(forged))
    res2 = cli("report", "verify", str(out), user=None)
    assert res2.exit_code == 4 and "signature does not match" in res2.error["message"]
    # re-signing with another key verifies on its own but not against the pinned fingerprint
    import base64

    from cryptography.hazmat.primitives import serialization

    other = Ed25519PrivateKey.generate()
    pub = base64.b64encode(
        other.public_key().public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw)
    ).decode()
    pair = KeyPair(other, pub, fingerprint_of(pub), Path("x"))
    resigned = envelope.make_envelope(pair, sig["statement"])
    sig_path.write_text(json.dumps(resigned))
    forged_res = cli("report", "verify", str(out), user=None)
    assert forged_res.exit_code == 4
    assert f"signed by an untrusted key {pair.fingerprint}" in forged_res.error["message"]
    # pinning the forger's key is the user's explicit choice, and then it verifies
    assert cli.ok("report", "verify", str(out), "--public-key", pub, user=None)["ok"] is True
    pinned = cli("report", "verify", str(out), "--fingerprint", fp, user=None)
    assert pinned.exit_code == 4 and "not the pinned key" in pinned.error["message"]
    sig_path.write_text(json.dumps(sig))
    ok = cli.ok("report", "verify", str(out), "--fingerprint", fp, user=None)
    assert ok["key_pinned"] is True
    # the .sig itself may be named
    assert cli.ok("report", "verify", str(sig_path), user=None)["ok"] is True


def test_report_is_recorded_and_generation_audited(cli, tenant, make_context, tmp_path, db_url):
    _seed_access(make_context)
    res, _out = _generate(cli, tmp_path, "json", start="2000-01-01", end="2100-01-01")
    rep = res.json
    engine = store.get_engine(db_url)
    with store.new_session(engine) as s:
        row = s.get(Report, uuid.UUID(rep["id"]))
        assert row is not None and row.content_sha256 == rep["content_sha256"]
        assert row.generated_by == "audrey" and row.key_fingerprint.startswith("SHA256:")
        assert row.period_start.isoformat() == "2000-01-01T00:00:00+00:00"
        ev = s.scalars(select(AuditEvent).where(AuditEvent.action == "report.generate")).one()
        assert ev.target_id == rep["id"] and ev.actor == "audrey"
        assert ev.details["content_sha256"] == rep["content_sha256"]
        # the report records the head *before* its own audit event
        assert ev.seq == rep["audit_head_seq"] + 1
    listed = cli.ok("report", "list", tenant="acme", user="audrey")
    assert [r["id"] for r in listed] == [rep["id"]]
    # the audit chain still verifies with the report event in it
    assert cli.ok("report", "audit", "verify", tenant="acme", user="audrey")[0]["ok"] is True


@pytest.mark.parametrize("user", ["lars", "olga"])
def test_compliance_needs_auditor_or_admin(cli, tenant, tmp_path, db_url, user):
    res, out = _generate(cli, tmp_path, "md", user=user)
    assert res.exit_code == 4 and "needs role auditor" in res.error["message"]
    assert not out.exists() and _count(db_url, Report) == 0


def test_admin_may_generate_compliance(cli, tenant, tmp_path):
    res, _ = _generate(cli, tmp_path, "md", user="alice")
    assert res.exit_code == 0, res.stderr


def test_labeler_may_not_list_reports(cli, tenant):
    res = cli("report", "list", tenant="acme", user="lars")
    assert res.exit_code == 4


@pytest.mark.parametrize(
    "opts, message",
    [
        ({"start": "yesterday"}, "--start"),
        ({"start": "2026-02-01", "end": "2026-01-01"}, "must be before"),
        ({"end": "2026-13-45"}, "--end"),
    ],
)
def test_bad_period_is_refused_and_changes_nothing(cli, tenant, tmp_path, db_url, opts, message):
    before = _count(db_url, AuditEvent)
    res, out = _generate(cli, tmp_path, "md", **opts)
    assert res.exit_code == 2 and message in res.error["message"]
    assert not out.exists() and _count(db_url, Report) == 0
    assert _count(db_url, AuditEvent) == before


def test_out_in_missing_directory_is_refused(cli, tenant, tmp_path, db_url):
    out = tmp_path / "nope" / "r.md"
    res = cli(
        "report",
        "compliance",
        "--type",
        "access_audit",
        "--out",
        str(out),
        tenant="acme",
        user="audrey",
    )
    assert res.exit_code == 2 and "does not exist" in res.error["message"]
    assert _count(db_url, Report) == 0


def test_default_location_is_under_the_data_dir(cli, tenant, isolated_env):
    rep = cli.ok("report", "compliance", "--type", "access_audit", tenant="acme", user="audrey")
    path = Path(rep["path"])
    assert path.is_file() and isolated_env in path.parents and path.suffix == ".md"


def test_verify_missing_file_and_unsigned_file(cli, tmp_path):
    assert cli("report", "verify", str(tmp_path / "none.md"), user=None).exit_code == 3
    plain = tmp_path / "plain.md"
    plain.write_text("# hello\n")
    res = cli("report", "verify", str(plain), user=None)
    assert res.exit_code == 2 and "no report signature" in res.error["message"]


def test_verify_needs_no_database(cli, tenant, tmp_path, make_context):
    from typer.testing import CliRunner

    from shifty_ent.cli import app  # noqa: F401

    _res, out = _generate(cli, tmp_path, "md")
    # a database URL that cannot be opened: verification must not touch it
    runner = CliRunner()
    from shifty_ent.cli import app as root

    fp = json.loads(out.with_name(out.name + ".sig").read_text())["key_fingerprint"]
    argv = ["--db", "postgresql://nobody@127.0.0.1:1/none", "-o", "json", "report", "verify"]
    r = runner.invoke(root, [*argv, str(out), "--fingerprint", fp])
    assert r.exit_code == 0, r.stdout + r.stderr
    assert json.loads(r.stdout)["ok"] is True
    # without a pin, no trust file and no readable store, no key is trusted
    r = runner.invoke(root, [*argv, str(out)])
    assert r.exit_code == 4 and "untrusted key" in r.stderr
    # a key in the trust file is trusted with no store at all
    added = runner.invoke(root, ["-o", "json", "report", "trust", "add", fp, "--label", "acme"])
    assert added.exit_code == 0, added.stderr
    r = runner.invoke(root, [*argv, str(out)])
    assert r.exit_code == 0, r.stdout + r.stderr


def test_report_snapshot_is_consistent_and_never_blocks_writers(db_url, tenant, make_context):
    """A long report reads one snapshot and holds no write lock: cron jobs keep committing."""
    import time

    from shifty_ent.core.tables import AuditHead
    from shifty_ent.report.sources import snapshot

    engine = store.get_engine(db_url)
    tid = uuid.UUID(tenant["id"])
    with snapshot(engine) as snap:
        seen = snap.execute(select(AuditHead.seq).where(AuditHead.chain == str(tid))).scalar_one()
        t0 = time.monotonic()
        with make_context(tenant="acme", user="olga") as ctx:  # a writer commits meanwhile
            ctx.audit(
                "data.asset.read",
                target_type="asset",
                target_id="x",
                details={"classification": "pii"},
            )
        assert time.monotonic() - t0 < 5  # not stuck behind the reader (busy_timeout is 30 s)
        again = snap.execute(select(AuditHead.seq).where(AuditHead.chain == str(tid))).scalar_one()
        assert again == seen  # the report's view did not move
    with store.new_session(engine) as s:
        assert s.get(AuditHead, str(tid)).seq == seen + 1


def test_report_bytes_are_hashed_as_written(tmp_path):
    """The digest taken while writing (text and copied bytes mixed, multi-byte characters) is
    the digest of the file on disk, which is what `report verify` recomputes."""
    import hashlib

    from shifty_ent.report.signing import envelope

    path = tmp_path / "r.txt"
    with path.open("wb") as raw:
        sink = envelope.DigestingWriter(raw)
        with io.TextIOWrapper(sink, encoding="utf-8", newline="") as text:
            text.write("héllo ✓\n" * 1000)
            text.flush()
            text.buffer.write("bytes straight through: é\n".encode())
            text.write("and text again\r\n")
    data = path.read_bytes()
    assert sink.size == len(data) and sink.hexdigest() == hashlib.sha256(data).hexdigest()
    assert envelope.file_digest(path) == (sink.hexdigest(), sink.size)
    assert data.endswith("é\nand text again\r\n".encode())
