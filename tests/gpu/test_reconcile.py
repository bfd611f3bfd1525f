"""Reconcile: one paginated list, state changes, disappeared instances, orphans and --adopt,
budget enforcement, and two runs at once acting once."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import uuid

import pytest

from tests.fakes.vastai import API_KEY


def _provision(gpu, n: int = 1, **kw) -> list[dict]:
    out = []
    for _ in range(n):
        res = gpu("provision", "--type", "RTX_4090", "--max-price", "5", **kw)
        assert res.exit_code == 0, res.stderr
        out.append(res.json)
    return out


def _audit(cli, action: str) -> list[tuple]:
    from sqlalchemy import create_engine, text

    eng = create_engine(cli.db_url)
    with eng.connect() as conn:
        rows = conn.execute(
            text("SELECT target_id, details FROM audit_events WHERE action = :a"), {"a": action}
        ).all()
    eng.dispose()
    return rows


def test_state_changes_and_only_list_calls(gpu, vast):
    for i in range(30):
        vast.add_offer(100 + i, dph_base=0.30 + i / 100)
    insts = _provision(gpu, 30)
    vast.boot_polls = 10**6
    for inst in insts[:3]:
        vast.set_status(int(inst["provider_instance_id"]), "running")
    vast.set_status(int(insts[3]["provider_instance_id"]), "offline")
    before = len(vast.requests)
    res = gpu("reconcile", tenant=None)
    assert res.exit_code == 0, res.stderr
    summary = res.json
    calls = vast.requests[before:]
    # 30 instances = two pages of the v1 list, and nothing else
    assert [(r.method, r.path) for r in calls] == [("GET", "/api/v1/instances/")] * 2
    assert summary["listed"] == 30 and summary["checked"] == 30
    assert summary["http_requests"] == 2
    changed = {c["instance_id"]: c["to"] for c in summary["changed"]}
    assert changed == {
        **{i["id"]: "running" for i in insts[:3]},
        insts[3]["id"]: "offline",
    }
    states = {i["id"]: i["status"] for i in gpu("list").json}
    assert states[insts[0]["id"]] == "running" and states[insts[3]["id"]] == "offline"
    assert states[insts[4]["id"]] == "loading"
    # a second run with nothing new changes nothing
    again = gpu("reconcile", tenant=None).json
    assert again["changed"] == [] and again["disappeared"] == []


def test_externally_destroyed_is_marked_disappeared(cli, gpu, vast):
    a, b = _provision_two(gpu, vast)
    vast.vanish(int(a["provider_instance_id"]))
    res = gpu("reconcile", tenant=None)
    assert res.exit_code == 0, res.stderr
    gone = res.json["disappeared"]
    assert [g["instance_id"] for g in gone] == [a["id"]]
    # confirmed with one GET of that instance before marking it
    gets = [
        r.path
        for r in vast.requests
        if r.method == "GET" and r.path.startswith("/api/v0/instances/")
    ]
    assert gets == [f"/api/v0/instances/{a['provider_instance_id']}/"]
    shown = gpu("status", a["id"]).json
    assert shown["status"] == "disappeared" and shown["terminated_at"]
    assert gpu("status", b["id"]).json["status"] == "loading"
    details = [json.loads(d) if isinstance(d, str) else d for _, d in _audit(cli, "gpu.status")]
    assert [d["to"] for d in details] == ["disappeared"]


def _provision_two(gpu, vast):
    vast.add_offer(1, dph_base=0.3)
    vast.add_offer(2, dph_base=0.4)
    return _provision(gpu, 2)


def test_orphans_reported_then_adopted(cli, gpu, vast, tenant):
    acme_id = tenant["id"]
    lost_id = uuid.uuid4()
    orphan = vast.add_foreign_instance(label=f"shifty-ent:{acme_id}:{lost_id}")
    stranger = vast.add_foreign_instance(label="someone-elses-box")
    ghost = vast.add_foreign_instance(label=f"shifty-ent:{uuid.uuid4()}:{uuid.uuid4()}")
    report = gpu("reconcile", tenant=None).json
    by_id = {o["provider_instance_id"]: o for o in report["orphans"]}
    assert set(by_id) == {orphan, ghost}
    assert stranger not in by_id
    assert by_id[orphan]["adopted"] is False
    assert "does not exist" in by_id[ghost]["note"]
    assert gpu("list").json == []  # reporting changed nothing
    adopted = gpu("reconcile", "--adopt", tenant=None).json
    assert {o["provider_instance_id"]: o["adopted"] for o in adopted["orphans"]}[orphan] is True
    rows = gpu("list").json
    assert len(rows) == 1
    assert rows[0]["id"] == str(lost_id)
    assert rows[0]["provider_instance_id"] == str(orphan)
    assert rows[0]["status"] == "running" and rows[0]["tenant_id"] == acme_id
    assert len(_audit(cli, "gpu.adopt")) == 1
    # once adopted it is no longer an orphan
    third = gpu("reconcile", "--adopt", tenant=None).json
    assert [o["provider_instance_id"] for o in third["orphans"]] == [ghost]
    assert vast.method_count("DELETE", "/api/v0/instances/") == 0  # reconcile never kills orphans


def test_lost_create_row_is_recovered_by_label(make_context, gpu, vast, tenant):
    """A crash after renting but before recording the id: reconcile finds it by label."""
    from shifty_ent.gpu import instances
    from shifty_ent.gpu.tables import GpuInstance

    with make_context(tenant="acme") as ctx:
        iid = uuid.uuid4()
        row = GpuInstance(
            id=iid,
            tenant_id=ctx.tenant_id,
            label=instances.label_for(ctx.tenant_id, iid),
            gpu_type="RTX_4090",
            max_price_per_hour=1,
            created_by="alice",
        )
        ctx.session.add(row)
    pid = vast.add_foreign_instance(label=instances.label_for(uuid.UUID(tenant["id"]), iid))
    res = gpu("reconcile", tenant=None).json
    assert [r["provider_instance_id"] for r in res["recovered"]] == [pid]
    assert res["orphans"] == []
    shown = gpu("status", str(iid)).json
    assert shown["provider_instance_id"] == str(pid) and shown["status"] == "running"


def test_budget_enforcement_terminates_dearest_first(cli, gpu, vast):
    vast.boot_polls = 10**6
    vast.add_offer(1, dph_base=0.30, storage_cost=0)
    vast.add_offer(2, dph_base=0.50, storage_cost=0)
    vast.add_offer(3, dph_base=0.70, storage_cost=0)
    a, b, c = _provision(gpu, 3)
    cli.ok("gpu", "budget", "set", "--hourly", "0.7", tenant="acme")
    dry = gpu("reconcile", "--dry-run", tenant=None).json
    assert [t["instance_id"] for t in dry["budget_terminations"]] == [c["id"], b["id"]]
    assert vast.method_count("DELETE", "/api/v0/instances/") == 0
    res = gpu("reconcile", tenant=None)
    assert res.exit_code == 0, res.stderr
    assert [t["instance_id"] for t in res.json["budget_terminations"]] == [c["id"], b["id"]]
    states = {i["id"]: i["status"] for i in gpu("list").json}
    assert states == {a["id"]: "loading", b["id"]: "terminated", c["id"]: "terminated"}
    assert len(_audit(cli, "gpu.budget.enforce")) == 2


def test_failed_action_exits_non_zero(cli, gpu, vast):
    vast.add_offer(1, dph_base=0.7, storage_cost=0)
    (a,) = _provision(gpu, 1)
    cli.ok("gpu", "budget", "set", "--hourly", "0.1", tenant="acme")
    vast.fail_next("DELETE", r"^/api/v0/instances/", "500", times=20)
    res = gpu("reconcile", tenant=None)
    assert res.exit_code == 6
    assert res.json["failures"][0]["step"] == "budget"
    assert gpu("status", a["id"]).json["status"] == "terminating"


@pytest.mark.slow
def test_two_concurrent_reconciles_act_once(cli, gpu, vast, tenant):
    """Two processes at once: each termination, adoption and state change happens once."""
    offers = [vast.add_offer(10 + i, dph_base=0.2 + i / 10, storage_cost=0) for i in range(6)]
    assert offers
    insts = _provision(gpu, 6)
    vast.boot_polls = 10**6
    for inst in insts[:2]:
        vast.set_status(int(inst["provider_instance_id"]), "running")
    vast.vanish(int(insts[2]["provider_instance_id"]))
    orphans = [
        vast.add_foreign_instance(label=f"shifty-ent:{tenant['id']}:{uuid.uuid4()}")
        for _ in range(3)
    ]
    cli.ok("gpu", "budget", "set", "--hourly", "100", tenant="acme")
    cli.ok("admin", "add", "cron")  # the cron account reconciles every tenant
    env = {k: v for k, v in os.environ.items()}
    env.update({"VASTAI_URL": vast.url, "VASTAI_API_KEY": API_KEY})
    cmd = [
        sys.executable,
        "-m",
        "shifty_ent",
        "--db",
        cli.db_url,
        "--as",
        "cron",
        "-o",
        "json",
        "gpu",
        "reconcile",
        "--adopt",
    ]
    procs = [
        subprocess.Popen(cmd, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        for _ in range(2)
    ]
    outs = [p.communicate(timeout=120) for p in procs]
    for p, (_out, err) in zip(procs, outs, strict=True):
        assert p.returncode == 0, err
    summaries = [json.loads(out) for out, _ in outs]
    adopted = [o for s in summaries for o in s["orphans"] if o["adopted"]]
    assert sorted(o["provider_instance_id"] for o in adopted) == sorted(orphans)
    changes = [c["instance_id"] for s in summaries for c in s["changed"]]
    assert sorted(changes) == sorted(i["id"] for i in insts[:2])
    gone = [c["instance_id"] for s in summaries for c in s["disappeared"]]
    assert gone == [insts[2]["id"]]
    assert len(_audit(cli, "gpu.adopt")) == 3
    status_events = _audit(cli, "gpu.status")
    assert len(status_events) == 3  # 2 running + 1 disappeared
    assert len(gpu("list").json) == 6 + 3

    # now a budget breach, enforced by two runs at once: each instance destroyed once
    cli.ok("gpu", "budget", "set", "--hourly", "1.0", tenant="acme")
    procs = [
        subprocess.Popen(cmd, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        for _ in range(2)
    ]
    outs = [p.communicate(timeout=120) for p in procs]
    for p, (_out, err) in zip(procs, outs, strict=True):
        assert p.returncode in (0, 6), err
    deletes = [r.path for r in vast.requests if r.method == "DELETE"]
    assert len(deletes) == len(set(deletes)) > 0
    terminated = [t["instance_id"] for o, _ in outs for t in json.loads(o)["budget_terminations"]]
    assert len(terminated) == len(set(terminated)) == len(deletes)
    assert len(_audit(cli, "gpu.budget.enforce")) == len(deletes)
    remaining = [i for i in gpu("list", "--state", "active").json]
    burn = sum(float(i["price_per_hour"]) for i in remaining)
    assert burn <= 1.0 + 1e-9


@pytest.mark.parametrize("dry", [True])
def test_dry_run_changes_nothing(gpu, vast, dry, tenant):
    vast.add_offer(1)
    (a,) = _provision(gpu, 1)
    vast.boot_polls = 10**6
    vast.set_status(int(a["provider_instance_id"]), "running")
    vast.add_foreign_instance(label=f"shifty-ent:{tenant['id']}:{uuid.uuid4()}")
    res = gpu("reconcile", "--dry-run", "--adopt", tenant=None).json
    assert res["dry_run"] is True and res["changed"][0]["to"] == "running"
    assert gpu("status", a["id"]).json["status"] == "loading"
    assert len(gpu("list").json) == 1
