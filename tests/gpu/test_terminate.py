"""Terminate: destroy, verify gone, close the ledger, idempotent; tenants stay apart."""

from __future__ import annotations

import pytest


@pytest.fixture
def inst(gpu, vast):
    vast.add_offer(1, dph_base=0.30)
    res = gpu("provision", "--type", "RTX_4090", "--max-price", "1")
    assert res.exit_code == 0, res.stderr
    return res.json


def test_terminate_is_idempotent(gpu, vast, inst):
    first = gpu("terminate", inst["id"], "--yes")
    assert first.exit_code == 0, first.stderr
    assert first.json["status"] == "terminated" and first.json["terminated_at"]
    assert int(inst["provider_instance_id"]) in vast.destroyed
    again = gpu("terminate", inst["id"][:8], "--yes")
    assert again.exit_code == 0
    assert again.json["status"] == "terminated"
    assert again.json["terminated_at"] == first.json["terminated_at"]
    assert vast.method_count("DELETE", "/api/v0/instances/") == 1
    # verified gone with a GET that answered {"instances": null}
    gets = [
        r for r in vast.requests if r.method == "GET" and r.path.startswith("/api/v0/instances/")
    ]
    assert gets


def test_terminate_when_vast_already_lost_it(gpu, vast, inst):
    vast.vanish(int(inst["provider_instance_id"]))
    res = gpu("terminate", inst["id"], "--yes")
    assert res.exit_code == 0, res.stderr
    assert res.json["status"] == "terminated"


def test_terminate_without_yes_and_no_tty_changes_nothing(gpu, vast, inst):
    res = gpu("terminate", inst["id"])
    assert res.exit_code == 2
    assert vast.method_count("DELETE", "/api/v0/instances/") == 0
    assert gpu("status", inst["id"]).json["status"] == "loading"


def test_terminate_retries_through_500(gpu, vast, inst):
    vast.fail_next("DELETE", r"^/api/v0/instances/", "500")
    res = gpu("terminate", inst["id"], "--yes")
    assert res.exit_code == 0, res.stderr
    assert int(inst["provider_instance_id"]) in vast.destroyed


def test_terminate_by_vast_id_and_audit(cli, gpu, vast, inst):
    res = gpu("terminate", inst["provider_instance_id"], "--yes")
    assert res.exit_code == 0
    from shifty_ent.core import audit  # noqa: F401

    events = _actions(cli)
    assert "gpu.provision" in events and "gpu.terminate" in events


def _actions(cli) -> list[str]:
    from sqlalchemy import create_engine, text

    eng = create_engine(cli.db_url)
    with eng.connect() as conn:
        rows = conn.execute(text("SELECT action FROM audit_events ORDER BY at, seq")).all()
    eng.dispose()
    return [r[0] for r in rows]


def test_tenant_b_cannot_see_or_terminate_a(cli, gpu, vast, inst):
    cli.ok("tenant", "create", "beta", user="bob")
    # bob is admin of beta: acme's instance does not exist there
    for args in (
        ("status", inst["id"]),
        ("terminate", inst["id"], "--yes"),
        ("health", inst["id"]),
        ("status", inst["provider_instance_id"]),
    ):
        res = cli("gpu", *args, user="bob", tenant="beta")
        assert res.exit_code == 3, (args, res.stderr)
    assert cli("gpu", "list", user="bob", tenant="beta").json == []
    assert cli("gpu", "costs", user="bob", tenant="beta").json == []
    # and bob has no role in acme
    res = cli("gpu", "terminate", inst["id"], "--yes", user="bob", tenant="acme")
    assert res.exit_code == 4
    assert vast.method_count("DELETE", "/api/v0/instances/") == 0
    assert gpu("status", inst["id"]).json["status"] == "loading"


def test_service_get_instance_is_tenant_scoped(cli, make_context, gpu, vast, inst):
    from shifty_ent.core.errors import NotFound
    from shifty_ent.gpu import instances, terminate

    cli.ok("tenant", "create", "beta", user="bob")
    with make_context(tenant="beta", user="bob") as ctx, pytest.raises(NotFound):
        instances.get_instance(ctx, inst["id"])
    with make_context(tenant="acme") as ctx:
        got = instances.get_instance(ctx, inst["label"])
        assert str(got.id) == inst["id"]
        with pytest.raises(NotFound):
            terminate.terminate(ctx, "ffffffff")


def test_status_refresh_sees_running_then_gone(gpu, vast, inst):
    vast.set_status(int(inst["provider_instance_id"]), "running")
    shown = gpu("status", inst["id"], "--refresh").json
    assert shown["status"] == "running" and shown["provider_status"] == "running"
    vast.vanish(int(inst["provider_instance_id"]))
    gone = gpu("status", inst["id"], "--refresh").json
    assert gone["status"] == "disappeared" and gone["terminated_at"]
    assert gpu("list", "--state", "active").json == []
    assert gpu("list", "--state", "bogus").exit_code == 2
