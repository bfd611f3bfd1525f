"""deletion_audit, retention_status and data_inventory over a real data-group history."""

from __future__ import annotations

import json
import uuid
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import update

from shifty_ent.core import store

LATER = (datetime.now(UTC) + timedelta(days=45)).isoformat()


def _report(cli, tmp_path, kind, fmt="json", env=None, **opts):
    out = tmp_path / f"{kind}-{uuid.uuid4().hex[:6]}.{fmt}"
    args = ["report", "compliance", "--type", kind, "--format", fmt, "--out", str(out)]
    for k, v in opts.items():
        args += [f"--{k}", v]
    rep = cli.ok(*args, tenant="acme", user="audrey", env=env)
    return rep, (json.loads(out.read_text()) if fmt == "json" else out.read_text()), out


def _section(doc, sid):
    return next(s for s in doc["sections"] if s["id"] == sid)


def _erase(cli, asset_id, method="nist_800_88"):
    job = cli.ok(
        "data",
        "delete",
        "request",
        asset_id,
        "--method",
        method,
        "--reason",
        "end of retention",
        user="olga",
        tenant="acme",
    )
    cli.ok("data", "delete", "approve", job["id"], user="alice", tenant="acme")
    return cli.ok("data", "delete", "execute", job["id"], "--yes", user="olga", tenant="acme")


@pytest.fixture
def history(cli, tenant, register):
    cli.ok(
        "data",
        "policy",
        "create",
        "short",
        "-c",
        "pii",
        "-c",
        "confidential",
        "--retention-days",
        "30",
        "--notify-days",
        "20",
        user="olga",
        tenant="acme",
    )
    cli.ok(
        "data",
        "policy",
        "create",
        "health",
        "-c",
        "phi",
        "--retention-days",
        "60",
        "--notify-days",
        "30",
        user="olga",
        tenant="acme",
    )
    erased = register("old-customers", "confidential")
    done = _erase(cli, erased["id"])
    held = register("litigation-pii", "pii")
    cli.ok("data", "asset", "hold", held["id"], "--reason", "case 42", user="olga", tenant="acme")
    overdue = register("forgotten-pii", "pii")
    phi = register("scans-phi", "phi", size=10_000)
    public = register("brochure", "public", size=100)
    return {
        "done": done,
        "held": held,
        "overdue": overdue,
        "phi": phi,
        "public": public,
        "erased": erased,
    }


def test_deletion_audit_lists_jobs_and_certificate_checks(cli, history, tmp_path, db_url):
    _rep, doc, out = _report(cli, tmp_path, "deletion_audit")
    rows = _section(doc, "deletions")["rows"]
    assert len(rows) == 1
    row = rows[0]
    assert row["asset_id"] == history["erased"]["id"] and row["classification"] == "confidential"
    assert row["method"] == "nist_800_88" and row["nist_category"] in ("Clear", "Purge")
    assert row["requested_by"] == "olga" and row["approved_by"] == "alice"
    assert row["four_eyes"] == "ok" and row["item_status"] == "erased"
    assert row["certificate_id"] == history["done"]["certificate_id"]
    assert row["certificate_valid"] is True
    assert doc["summary"]["certificates_valid"] == 1 and doc["summary"]["assets_erased"] == 1
    assert cli.ok("report", "verify", str(out), user=None)["ok"] is True
    # a certificate edited in the store no longer verifies, and the report says so
    from shifty_ent.data.tables import DeletionCertificate

    engine = store.get_engine(db_url)
    with engine.begin() as conn:
        cert_id = uuid.UUID(history["done"]["certificate_id"])
        doc_row = conn.execute(
            DeletionCertificate.__table__.select().where(DeletionCertificate.id == cert_id)
        ).one()
        forged = dict(doc_row.document)
        forged["sanitization"] = dict(forged["sanitization"], approved_by="mallory")
        conn.execute(
            update(DeletionCertificate)
            .where(DeletionCertificate.id == cert_id)
            .values(document=forged)
        )
    _, doc2, _ = _report(cli, tmp_path, "deletion_audit")
    row2 = _section(doc2, "deletions")["rows"][0]
    assert row2["certificate_valid"] is False and "signature" in row2["certificate_check"]
    assert doc2["summary"]["certificates_invalid"] == 1


def test_deletion_audit_respects_the_period(cli, history, tmp_path):
    _, doc, _ = _report(cli, tmp_path, "deletion_audit", start="2000-01-01", end="2000-02-01")
    assert _section(doc, "deletions")["row_count"] == 0


def test_exported_certificate_verifies_through_report_verify(cli, history, tmp_path):
    out = tmp_path / "cert.json"
    cli.ok(
        "data",
        "certificate",
        "export",
        history["done"]["certificate_id"],
        "--out",
        str(out),
        user="audrey",
        tenant="acme",
    )
    res = cli.ok("report", "verify", str(out), user=None)
    assert res["ok"] is True and res["kind"] == "certificate"
    data = bytearray(out.read_bytes())
    i = data.index(b"end of retention")
    data[i] = ord("E")
    out.write_bytes(bytes(data))
    bad = cli("report", "verify", str(out), user=None)
    assert bad.exit_code == 4
    # even a change that keeps the JSON meaning (layout only) is caught
    data[i] = ord("e")
    out.write_bytes(bytes(data) + b"\n")
    assert cli("report", "verify", str(out), user=None).exit_code == 4
    out.write_bytes(bytes(data))
    assert cli.ok("report", "verify", str(out), user=None)["ok"] is True


def test_retention_status_lists_overdue_with_reasons(cli, history, tmp_path):
    _, doc, _ = _report(cli, tmp_path, "retention_status", env={"SHIFTY_NOW": LATER})
    overdue = {r["asset"]: r for r in _section(doc, "overdue")["rows"]}
    assert set(overdue) == {"litigation-pii", "forgotten-pii"}
    assert overdue["litigation-pii"]["violation"] is False
    assert "legal hold: case 42" in overdue["litigation-pii"]["reason"]
    assert overdue["forgotten-pii"]["violation"] is True
    assert "auto-delete" in overdue["forgotten-pii"]["reason"]
    notice = {r["asset"] for r in _section(doc, "in_notice")["rows"]}
    assert notice == {"scans-phi"}
    pols = {r["policy"]: r for r in _section(doc, "policies")["rows"]}
    assert pols["short"]["overdue"] == 2 and pols["health"]["in_notice"] == 1
    assert doc["summary"]["violations"] == 1 and doc["summary"]["compliant"] is False
    # today nothing is overdue yet
    _, now_doc, _ = _report(cli, tmp_path, "retention_status")
    assert now_doc["summary"]["overdue"] == 0 and now_doc["summary"]["compliant"] is True


def test_data_inventory_puts_phi_and_pii_first(cli, history, tmp_path):
    _, doc, _ = _report(cli, tmp_path, "data_inventory")
    by_class = _section(doc, "by_classification")["rows"]
    assert [r["classification"] for r in by_class] == ["phi", "pii", "confidential", "public"]
    counts = {r["classification"]: r["assets"] for r in by_class}
    assert counts == {"phi": 1, "pii": 2, "confidential": 0, "public": 1}
    assert {r["classification"]: r["deleted_in_period"] for r in by_class}["confidential"] == 1
    assets = _section(doc, "assets")["rows"]
    assert [a["classification"] for a in assets] == ["phi", "pii", "pii", "public"]
    assert (
        doc["summary"]["phi_assets"] == 1 and doc["summary"]["total_bytes"] == 10_000 + 8192 + 100
    )
    assert doc["charts"][0]["points"][0] == {"label": "phi", "value": 1.0}


@pytest.mark.parametrize("fmt", ["md", "html", "csv"])
def test_data_reports_render_in_every_format(cli, history, tmp_path, fmt):
    expect = {
        "deletion_audit": "old-customers",
        "retention_status": "short",
        "data_inventory": "scans-phi",
    }
    for kind, word in expect.items():
        _, text, out = _report(cli, tmp_path, kind, fmt=fmt)
        assert word in text
        assert cli.ok("report", "verify", str(out), user=None)["ok"] is True
        if fmt == "html":
            assert "<script" not in text.lower()
            # a chart, or the sentence that stands in for one with nothing to draw
            assert "<svg" in text or '<p class="empty">' in text
