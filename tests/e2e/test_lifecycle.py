"""One tenant's whole life through the INSTALLED ``shifty-ent`` entry point (subprocesses), across
every group, with the vast.ai and Hugging Face fakes on 127.0.0.1; then the audit chain and every
report are checked, including what a tampered store does to them."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import uuid
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import update

from shifty_ent.core import store
from shifty_ent.core.tables import AuditEvent
from tests.fakes.huggingface import FakeHub, FakeRepo
from tests.fakes.vastai import API_KEY, FakeVast

T0 = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)
EXE = shutil.which("shifty-ent", path=str(Path(sys.executable).parent))
pytestmark = [
    pytest.mark.slow,
    pytest.mark.skipif(EXE is None, reason="shifty-ent is not installed next to this python"),
]


class Shell:
    """Runs the installed CLI; the clock (SHIFTY_NOW) is shared with the in-process fakes."""

    def __init__(self, db_url: str, monkeypatch: pytest.MonkeyPatch) -> None:
        self.db_url = db_url
        self.mp = monkeypatch
        self.now = T0
        self.log: list[list[str]] = []

    def at(self, when: datetime) -> None:
        self.now = when
        self.mp.setenv("SHIFTY_NOW", when.isoformat())

    def __call__(
        self, *args: str, user: str = "alice", tenant: str | None = "acme", code: int = 0
    ) -> Any:
        argv = [EXE, "--db", self.db_url, "--as", user, "-o", "json"]
        if tenant:
            argv += ["--tenant", tenant]
        argv += list(args)
        self.log.append(list(args))
        proc = subprocess.run(
            argv, capture_output=True, text=True, env=dict(os.environ), timeout=180, check=False
        )
        assert proc.returncode == code, (
            f"{' '.join(args)} -> exit {proc.returncode}\n{proc.stdout}\n{proc.stderr}"
        )
        return json.loads(proc.stdout) if proc.stdout.strip() else None


def _clock() -> float:
    from shifty_ent.core.clock import now

    return now().timestamp()


@pytest.fixture
def fakes(monkeypatch):
    repo = FakeRepo(
        "acme/tiny-llama",
        {
            "config.json": json.dumps({"model_type": "llama"}).encode(),
            "model.safetensors": b"\0" * 4096,
            "README.md": b"# tiny\n",
        },
        parameters={"F32": 1000},
    )
    vast = FakeVast(clock=_clock)
    with vast, FakeHub([repo]) as hub:
        monkeypatch.setenv("VASTAI_URL", vast.url)
        monkeypatch.setenv("VASTAI_API_KEY", API_KEY)
        monkeypatch.setenv("HF_ENDPOINT", hub.url)
        yield vast, hub


def _section(doc: dict, sid: str) -> dict:
    return next(s for s in doc["sections"] if s["id"] == sid)


def test_whole_tenant_lifecycle_through_the_installed_cli(
    db_url, tmp_path, monkeypatch, fakes, isolated_env
):
    vast, hub = fakes
    sh = Shell(db_url, monkeypatch)
    root = tmp_path / "data"
    (root / "crm").mkdir(parents=True)
    (root / "crm" / "customers.csv").write_text("id,email\n1,a@example.org\n")
    (root / "crm" / "contracts.pdf").write_bytes(os.urandom(2048))
    (root / "notes.txt").write_text("internal notes\n")
    incoming = tmp_path / "patients.csv"
    incoming.write_text("patient,dx\nP1,J45\n")
    sh.at(T0)

    # --- platform: tenant, people
    tenant = sh(
        "tenant",
        "create",
        "acme",
        "--gpu-monthly-budget",
        "500",
        "--gpu-hourly-budget",
        "2",
        "--data-root",
        str(root),
        tenant=None,
    )
    for user, role in (
        ("bob", "admin"),
        ("olga", "operator"),
        ("audrey", "auditor"),
        ("lars", "labeler"),
        ("lena", "labeler"),
        ("lukas", "labeler"),
    ):
        sh("user", "add", user, "--role", role)
    sh("admin", "add", "cron", tenant=None)  # the cron account reconciles every tenant

    # --- data: policy, assets (local and vault), a classified read, a legal hold
    sh(
        "data",
        "policy",
        "create",
        "pii-30d",
        "-c",
        "pii",
        "-c",
        "confidential",
        "--retention-days",
        "30",
        "--notify-days",
        "7",
        "--auto-delete",
        "--method",
        "secure_overwrite",
        user="olga",
    )
    customers = sh(
        "data",
        "asset",
        "register",
        "customers",
        "--type",
        "dataset",
        "--classification",
        "pii",
        "--location",
        str(root / "crm/customers.csv"),
        user="olga",
    )
    contracts = sh(
        "data",
        "asset",
        "register",
        "contracts",
        "--type",
        "document",
        "--classification",
        "confidential",
        "--location",
        str(root / "crm/contracts.pdf"),
        user="olga",
    )
    sh(
        "data",
        "asset",
        "register",
        "notes",
        "--type",
        "document",
        "--classification",
        "internal",
        "--location",
        str(root / "notes.txt"),
        user="olga",
    )
    patients = sh(
        "data",
        "asset",
        "ingest",
        str(incoming),
        "--name",
        "patients",
        "--classification",
        "phi",
        user="olga",
    )
    sh("data", "asset", "show", "customers", user="audrey")
    sh("data", "asset", "hold", "contracts", "--reason", "audit 2026", user="olga")

    # --- gpu: offer, provision under budget, run, accrue, terminate
    vast.add_offer(1, dph_base=0.40, storage_cost=0.10)
    offers = sh("gpu", "offers", "--type", "RTX_4090", user="olga")
    assert offers and offers[0]["gpu_type"] == "RTX_4090" if isinstance(offers, list) else True
    inst = sh(
        "gpu", "provision", "--type", "RTX_4090", "--max-price", "1", "--disk", "20", user="olga"
    )
    vast.set_status(int(inst["provider_instance_id"]), "running")
    sh.at(T0 + timedelta(hours=1))
    sh("gpu", "reconcile", user="cron", tenant=None)
    sh.at(T0 + timedelta(hours=5))
    sh("gpu", "reconcile", user="cron", tenant=None)
    sh("gpu", "terminate", inst["id"], "--yes", user="olga")
    costs = sh("gpu", "costs", "--group-by", "day", user="olga")
    spent = sum(float(r["total"]) for r in costs)
    assert spent > 1.5

    # --- arcade: missions, consensus, dataset -> data asset
    sh.at(T0 + timedelta(days=1))
    for verdicts in (("correct", "correct", "incorrect"), ("incorrect", "incorrect", "incorrect")):
        m = sh(
            "arcade",
            "mission",
            "create",
            "--type",
            "label_test_output",
            "--payload",
            json.dumps({"test_name": "t", "output": "PASS"}),
            "--overlap",
            "3",
            user="olga",
        )
        for user, option in zip(("lars", "lena", "lukas"), verdicts, strict=True):
            sh("arcade", "assign", m["id"], user=user)
            sh.at(sh.now + timedelta(seconds=40))  # a real labeller reads before answering
            sh("arcade", "complete", m["id"], "--option", option, user=user)
    ds = sh(
        "arcade",
        "dataset",
        "create",
        "verdicts-v1",
        "--mission-type",
        "label_test_output",
        user="olga",
    )
    assert ds["rows"] == 2 and ds["asset_id"]

    # --- a manual GDPR erasure with four eyes, then the retention sweep 35 days later
    job = sh(
        "data",
        "delete",
        "request",
        patients["id"],
        "--method",
        "cryptographic_erase",
        "--reason",
        "GDPR Art. 17 request #7",
        user="olga",
    )
    sh("data", "delete", "approve", job["id"], user="olga", code=4)  # not an admin
    sh("data", "delete", "approve", job["id"], user="bob")
    done = sh("data", "delete", "execute", job["id"], "--yes", user="olga")
    assert done["status"] == "completed" and done["certificate_id"]
    sh.at(T0 + timedelta(days=35))
    sh("data", "sweep", user="olga")
    assert not (root / "crm/customers.csv").exists()
    assert (root / "crm/contracts.pdf").exists()  # legal hold wins
    assert (root / "notes.txt").exists()  # no policy for internal
    # customers (pii) and the arcade dataset (confidential) expired under pii-30d
    assert not Path(ds["path"]).exists()
    certs = sh("data", "certificate", "list", user="audrey")
    assert len(certs) == 3
    cert_file = tmp_path / "cert.json"
    sh(
        "data",
        "certificate",
        "export",
        done["certificate_id"],
        "--out",
        str(cert_file),
        user="audrey",
    )

    # --- reports: every type, signed, verified offline
    sh.at(T0 + timedelta(days=36))
    reports: dict[str, dict] = {}
    outdir = tmp_path / "reports"
    outdir.mkdir()
    for kind in ("deletion_audit", "access_audit", "retention_status", "data_inventory"):
        out = outdir / f"{kind}.json"
        sh(
            "report",
            "compliance",
            "--type",
            kind,
            "--format",
            "json",
            "--start",
            "2026-03-01",
            "--out",
            str(out),
            user="audrey",
        )
        reports[kind] = json.loads(out.read_text())
        html = outdir / f"{kind}.html"
        sh(
            "report",
            "compliance",
            "--type",
            kind,
            "--format",
            "html",
            "--start",
            "2026-03-01",
            "--out",
            str(html),
            user="audrey",
        )
        assert sh("report", "verify", str(html), tenant=None, user="x")["ok"] is True
    for kind in ("costs", "arcade"):
        out = outdir / f"{kind}.json"
        sh(
            "report",
            kind,
            "--format",
            "json",
            "--start",
            "2026-03-01",
            "--out",
            str(out),
            user="olga",
        )
        reports[kind] = json.loads(out.read_text())
    for path in outdir.glob("*.json"):
        assert sh("report", "verify", str(path), tenant=None)["ok"] is True
    assert sh("report", "verify", str(cert_file), tenant=None)["kind"] == "certificate"

    deletions = _section(reports["deletion_audit"], "deletions")["rows"]
    assert {r["asset_name"] for r in deletions} == {"patients", "customers", "verdicts-v1"}
    assert all(r["certificate_valid"] for r in deletions)
    by_name = {r["asset_name"]: r for r in deletions}
    assert by_name["patients"]["approved_by"] == "bob" and by_name["patients"]["four_eyes"] == "ok"
    assert by_name["customers"]["approved_by"].startswith("auto")
    access = reports["access_audit"]
    assert access["summary"]["chain_intact"] is True
    touched = {r["target_id"] for r in _section(access, "classified_access")["rows"]}
    assert customers["id"] in touched and contracts["id"] in touched
    overdue = {r["asset"]: r for r in _section(reports["retention_status"], "overdue")["rows"]}
    assert set(overdue) == {"contracts"} and overdue["contracts"]["violation"] is False
    inventory = _section(reports["data_inventory"], "by_classification")["rows"]
    assert next(r["classification"] for r in inventory) == "phi"
    assert (
        reports["costs"]["summary"]["spend_in_period"] == f"{spent:.2f}"
        or abs(float(reports["costs"]["summary"]["spend_in_period"]) - spent) < 0.01
    )
    assert reports["costs"]["summary"]["monthly_budget"] == "500.00"
    assert reports["arcade"]["summary"]["missions_settled"] == 2
    for doc in reports.values():
        assert doc["meta"]["tenant_id"] == tenant["id"]

    # --- the audit chain: intact, and every report generation is in it
    chain = sh("report", "audit", "verify", user="audrey")
    assert chain[0]["ok"] is True
    assert len(sh("report", "list", user="audrey")) == 10

    # --- tamper with one event: the chain check and the next access report both say so
    engine = store.get_engine(db_url)
    with engine.begin() as conn:
        conn.execute(
            update(AuditEvent)
            .where(AuditEvent.tenant_id == uuid.UUID(tenant["id"]), AuditEvent.seq == 5)
            .values(actor="mallory")
        )
    sh("report", "audit", "verify", user="audrey", code=4)
    out = outdir / "after.json"
    sh(
        "report",
        "compliance",
        "--type",
        "access_audit",
        "--format",
        "json",
        "--out",
        str(out),
        user="audrey",
    )
    after = json.loads(out.read_text())
    assert after["summary"]["chain_intact"] is False and after["summary"]["first_bad_seq"] == 5

    # --- model: register from the Hugging Face fake (a fresh process imports only what the
    # command needs: the model tables must resolve their foreign keys on their own)
    model = sh(
        "model",
        "register",
        "tiny",
        "--source",
        "huggingface",
        "--source-id",
        "acme/tiny-llama",
        user="olga",
    )
    assert model["pinned_revision"] == hub.repos["acme/tiny-llama"].sha
    assert [m["id"] for m in sh("model", "list", user="olga")] == [model["id"]]
