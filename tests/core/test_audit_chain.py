"""Audit chain: tamper detection through `report audit verify`, and concurrent appends."""

from __future__ import annotations

import os
import subprocess
import sys
import uuid

import pytest
from sqlalchemy import select, text, update

from shifty_ent.core import audit, store
from shifty_ent.core.tables import AuditEvent


def _chain(cli, tenant_id):
    for name in ("u1", "u2", "u3", "u4"):
        cli.ok("user", "add", name, "--role", "labeler", tenant="acme")


def _events(db_url, tenant_id):
    engine = store.get_engine(db_url)
    with store.new_session(engine) as s:
        return s.scalars(
            select(AuditEvent)
            .where(AuditEvent.tenant_id == uuid.UUID(tenant_id))
            .order_by(AuditEvent.seq)
        ).all()


def _exec(db_url, stmt, **params):
    engine = store.get_engine(db_url)
    with engine.begin() as conn:
        conn.execute(stmt if not isinstance(stmt, str) else text(stmt), params)


def test_intact_chain_verifies(cli, tenant, db_url):
    _chain(cli, tenant["id"])
    res = cli.ok("report", "audit", "verify", tenant="acme", user="audrey")
    assert res[0]["ok"] is True and res[0]["events"] == 8 and res[0]["head_seq"] == 8


def test_changed_event_is_detected(cli, tenant, db_url):
    _chain(cli, tenant["id"])
    ev = _events(db_url, tenant["id"])[4]
    _exec(
        db_url,
        update(AuditEvent).where(AuditEvent.id == ev.id).values(actor="mallory"),
    )
    res = cli("report", "audit", "verify", tenant="acme", user="audrey", fmt=None)
    assert res.exit_code == 4
    assert "broken at seq 5" in res.stderr


def test_changed_details_are_detected(cli, tenant, db_url):
    _chain(cli, tenant["id"])
    ev = _events(db_url, tenant["id"])[2]
    details = dict(ev.details, roles_granted=["admin"])
    _exec(db_url, update(AuditEvent).where(AuditEvent.id == ev.id).values(details=details))
    res = cli("report", "audit", "verify", tenant="acme", user="audrey")
    assert res.exit_code == 4 and res.error["details"]["first_bad_seq"] == 3


def test_removed_event_is_detected(cli, tenant, db_url):
    _chain(cli, tenant["id"])
    ev = _events(db_url, tenant["id"])[3]
    _exec(db_url, "DELETE FROM audit_events WHERE seq = 4 AND chain = :c", c=ev.chain)
    res = cli("report", "audit", "verify", tenant="acme", user="audrey")
    assert res.exit_code == 4 and res.error["details"]["first_bad_seq"] == 4


def test_removed_tail_is_detected(cli, tenant, db_url):
    _chain(cli, tenant["id"])
    ev = _events(db_url, tenant["id"])[-1]
    _exec(db_url, "DELETE FROM audit_events WHERE seq = 8 AND chain = :c", c=ev.chain)
    res = cli("report", "audit", "verify", tenant="acme", user="audrey")
    assert res.exit_code == 4 and res.error["details"]["first_bad_seq"] == 8


def test_reordered_events_are_detected(cli, tenant, db_url):
    _chain(cli, tenant["id"])
    evs = _events(db_url, tenant["id"])
    a, b = evs[5], evs[6]
    for ev, seq in ((a, -1), (b, 6), (a, 7)):
        _exec(db_url, update(AuditEvent).where(AuditEvent.id == ev.id).values(seq=seq))
    res = cli("report", "audit", "verify", tenant="acme", user="audrey")
    assert res.exit_code == 4 and res.error["details"]["first_bad_seq"] == 6


def test_verify_needs_auditor(cli, tenant):
    assert cli("report", "audit", "verify", tenant="acme", user="lars").exit_code == 4


def test_verify_all_chains_without_tenant(cli, tenant):
    """Every chain: both tenants' and the installation's own (``_system``)."""
    cli.ok("tenant", "create", "globex", user="gina")
    res = cli.ok("report", "audit", "verify")
    assert sorted(r["chain"] == "_system" for r in res) == [False, False, True]
    assert all(r["ok"] for r in res)


WORKER = """
import sys
from shifty_ent.core import audit, store
from shifty_ent.core.store import new_session, get_engine
import uuid
url, tenant, n, who = sys.argv[1], uuid.UUID(sys.argv[2]), int(sys.argv[3]), sys.argv[4]
engine = get_engine(url)
for i in range(n):
    with new_session(engine) as s:
        audit.append(s, tenant_id=tenant, actor=who, action="test.append", details={"i": i})
        s.commit()
"""


@pytest.mark.slow
def test_concurrent_appends_from_8_processes_make_one_chain(cli, tenant, db_url):
    per = 25
    env = dict(os.environ)
    procs = [
        subprocess.Popen(
            [sys.executable, "-c", WORKER, db_url, tenant["id"], str(per), f"w{i}"], env=env
        )
        for i in range(8)
    ]
    for p in procs:
        assert p.wait(timeout=240) == 0
    engine = store.get_engine(db_url)
    with store.new_session(engine) as s:
        report = audit.verify(s, uuid.UUID(tenant["id"]))
    assert report.ok, report.problem
    assert report.events == 4 + 8 * per


def test_hostile_strings_are_stored_and_the_chain_verifies(cli, tenant, make_context):
    with make_context(tenant="acme") as ctx:
        ev = ctx.audit(
            "test.hostile",
            target_id="x\x00y",
            details={"name": "a\x00b", "path": "caf\udce9.txt", "k\x00": ["\ud800"]},
        )
        assert ev.details == {"name": "a\ufffdb", "path": "caf\ufffd.txt", "k\ufffd": ["\ufffd"]}
    res = cli.ok("report", "audit", "verify", tenant="acme", user="audrey")
    assert res[0]["ok"] is True and res[0]["events"] == 5
