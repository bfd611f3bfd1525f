"""access_audit over a chain split across processes says exactly what one walk says: the same
rows in the same order, the same summary, and the same first bad event after tampering, including
at the joins between parts."""

from __future__ import annotations

import json
import uuid

import pytest
from sqlalchemy import delete, select, update

from shifty_ent.core import store
from shifty_ent.core.tables import AuditEvent, AuditHead
from shifty_ent.report import access_audit

ONE = {"SHIFTY_REPORT_PROCESSES": "1"}
THREE = {"SHIFTY_REPORT_PROCESSES": "3", "SHIFTY_REPORT_PARALLEL_MIN": "1"}
CLASSES = ["pii", "public", "phi", "confidential", "internal", "restricted"]


def _seed(make_context, n: int = 45) -> None:
    users = ["olga", "lars", "alice"]
    for i in range(n):
        with make_context(tenant="acme", user=users[i % 3]) as ctx:
            ctx.audit(
                "data.asset.read" if i % 2 else "data.asset.hold",
                target_type="asset",
                target_id=uuid.uuid4(),
                details={"classification": CLASSES[i % len(CLASSES)], "n": i},
            )


def _report(cli, tmp_path, env, fmt="json"):
    out = tmp_path / f"access-{uuid.uuid4().hex[:6]}.{fmt}"
    args = ["report", "compliance", "--type", "access_audit", "--format", fmt, "--out", str(out)]
    cli.ok(*args, tenant="acme", user="audrey", env=env)
    assert cli("report", "verify", str(out), user=None).exit_code == 0
    return out


def _content(path):
    """What the report says about the chain, less what the previous report's own audit event
    changed (one more event, one more day's count)."""
    doc = json.loads(path.read_text())
    summary = {
        k: v
        for k, v in doc["summary"].items()
        if k not in ("chain_events_verified", "chain_head_seq")
    }
    return summary, doc["sections"], doc["charts"], doc["summary"]["chain_head_seq"]


def _parts(monkeypatch, head_seq):
    for key, value in THREE.items():
        monkeypatch.setenv(key, value)
    plan = access_audit._plan(head_seq)
    monkeypatch.delenv("SHIFTY_REPORT_PROCESSES")
    monkeypatch.delenv("SHIFTY_REPORT_PARALLEL_MIN")
    return plan


@pytest.mark.slow
def test_parallel_walk_matches_one_walk(cli, tenant, make_context, tmp_path, monkeypatch):
    _seed(make_context)
    one = _content(_report(cli, tmp_path, ONE))
    three = _content(_report(cli, tmp_path, THREE))
    assert one[:3] == three[:3] and three[3] == one[3] + 1
    summary, sections, _, head = three
    assert summary["chain_intact"] is True and summary["classified_accesses"] == 30
    rows = sections[0]["rows"]
    assert [r["seq"] for r in rows] == sorted(r["seq"] for r in rows)
    assert len(_parts(monkeypatch, head)) == 3  # it really was split
    for fmt in ("md", "csv", "html"):
        single = _report(cli, tmp_path, ONE, fmt).read_text()
        split = _report(cli, tmp_path, THREE, fmt).read_text()
        body = [line for line in single.splitlines() if "pii" in line or "phi" in line]
        assert body and body == [
            line for line in split.splitlines() if "pii" in line or "phi" in line
        ]


def _head(db_url, tid) -> int:
    engine = store.get_engine(db_url)
    with engine.connect() as conn:
        return conn.execute(select(AuditHead.seq).where(AuditHead.chain == str(tid))).scalar_one()


@pytest.mark.slow
@pytest.mark.parametrize("where", ["inside the first part", "at the join", "in the last part"])
def test_tampering_is_found_at_the_same_event(
    cli, tenant, make_context, tmp_path, monkeypatch, db_url, where
):
    _seed(make_context)
    tid = uuid.UUID(tenant["id"])
    head = _head(db_url, tid)
    plan = _parts(monkeypatch, head)  # the split the next (parallel) report will make
    seq = {"inside the first part": 3, "at the join": plan[1][0] + 1, "in the last part": head - 2}[
        where
    ]
    engine = store.get_engine(db_url)
    event = (AuditEvent.tenant_id == tid) & (AuditEvent.seq == seq)
    with engine.begin() as conn:
        actor = conn.execute(select(AuditEvent.actor).where(event)).scalar_one()
        conn.execute(update(AuditEvent).where(event).values(actor="mallory"))
    three = _content(_report(cli, tmp_path, THREE))[0]
    one = _content(_report(cli, tmp_path, ONE))[0]
    assert one["chain_intact"] is three["chain_intact"] is False
    assert one["first_bad_seq"] == three["first_bad_seq"] == seq
    # restored, and an event removed right at the join between the last two parts
    plan = _parts(monkeypatch, _head(db_url, tid))
    with engine.begin() as conn:
        conn.execute(update(AuditEvent).where(event).values(actor=actor))
        conn.execute(
            delete(AuditEvent).where(AuditEvent.tenant_id == tid, AuditEvent.seq == plan[2][0] + 1)
        )
    three = _content(_report(cli, tmp_path, THREE))[0]
    one = _content(_report(cli, tmp_path, ONE))[0]
    assert one["first_bad_seq"] == three["first_bad_seq"] == plan[2][0] + 1
    assert three["chain_intact"] is False and "missing" in three["chain_problem"]


def test_a_store_other_processes_cannot_open_is_walked_here():
    """An in-memory SQLite database exists only in this process: workers would see an empty
    store, so the chain is never split there."""
    from sqlalchemy import create_engine
    from sqlalchemy.orm import Session

    for url, shareable in (
        ("sqlite://", False),
        ("sqlite:///:memory:", False),
        ("sqlite:////tmp/shifty-example.db", True),
    ):
        with Session(create_engine(url)) as session:
            assert access_audit._shareable(session) is shareable, url


@pytest.mark.slow
def test_a_failing_worker_fails_the_report_cleanly(
    cli, tenant, make_context, tmp_path, monkeypatch
):
    """A worker that cannot do its part (here: its spool cannot be written) makes the report fail
    with one line and exit 1, leaving no report file and no report row."""
    _seed(make_context, 12)
    start = access_audit._start_part

    def broken(pool, url, tenant_id, period, fmt, after, upto, spool):
        gone = str(tmp_path / "gone" / "part")
        return start(pool, url, tenant_id, period, fmt, after, upto, gone)

    monkeypatch.setattr(access_audit, "_start_part", broken)
    out = tmp_path / "access.json"
    args = ["report", "compliance", "--type", "access_audit", "--format", "json", "--out", str(out)]
    res = cli(*args, tenant="acme", user="audrey", env=THREE)
    assert res.exit_code == 1
    assert "worker checking part of the audit chain failed" in res.error["message"]
    assert "No such file or directory" in res.error["message"]
    assert not out.exists() and not list(tmp_path.glob(".access.json.*"))
    assert cli.ok("report", "list", tenant="acme", user="audrey") == []


def test_a_bad_process_count_is_refused(cli, tenant, make_context, tmp_path):
    _seed(make_context, 3)
    out = tmp_path / "access.json"
    args = ["report", "compliance", "--type", "access_audit", "--format", "json", "--out", str(out)]
    res = cli(*args, tenant="acme", user="audrey", env={"SHIFTY_REPORT_PROCESSES": "four"})
    assert res.exit_code == 2
    assert res.error["message"] == "SHIFTY_REPORT_PROCESSES: 'four' is not a whole number"
    assert not out.exists() and cli.ok("report", "list", tenant="acme", user="audrey") == []
