"""The vast.ai API key never appears in output, errors, logs or the audit trail."""

from __future__ import annotations

import logging

from tests.fakes.server import Response
from tests.fakes.vastai import API_KEY


def test_api_key_never_printed_or_logged(cli, gpu, vast, caplog, capfd):
    caplog.set_level(logging.DEBUG)
    vast.add_offer(1, dph_base=0.30)
    outputs = []

    def run(*args, **kw):
        res = gpu(*args, **kw)
        outputs.append(res.stdout + res.stderr)
        return res

    inst = run("provision", "--type", "RTX_4090", "--max-price", "1").json
    run("status", inst["id"], "--refresh")
    run("list", "--refresh", fmt="table")
    run("reconcile", "--adopt", tenant=None)
    run("costs")
    # a server that echoes the key back in its error text
    original = vast.server.handler

    def echo(req):
        if req.method == "DELETE":
            return Response(
                400,
                {
                    "success": False,
                    "error": "invalid_args",
                    "msg": f"bad request for key {API_KEY}",
                },
            )
        return original(req)

    vast.server.handler = echo
    bad = run("terminate", inst["id"], "--yes")
    assert bad.exit_code == 6 and "****" in bad.stderr
    bad_table = run("terminate", inst["id"], "--yes", fmt="table")
    assert bad_table.exit_code in (5, 6)
    run("config", "show")
    joined = "\n".join(outputs) + caplog.text
    captured = capfd.readouterr()
    joined += captured.out + captured.err
    assert API_KEY not in joined
    # nor in the store
    from sqlalchemy import create_engine, text

    eng = create_engine(cli.db_url)
    with eng.connect() as conn:
        for table in ("audit_events", "gpu_instances", "gpu_cost_entries"):
            for row in conn.execute(text(f"SELECT * FROM {table}")).all():
                assert API_KEY not in repr(row)
    eng.dispose()


def test_key_not_in_debug_traceback(cli, tenant, vast, monkeypatch, capfd):
    monkeypatch.setenv("VASTAI_URL", "http://127.0.0.1:9")  # nothing listens
    res = cli("--debug", "gpu", "list", "--refresh", tenant="acme")
    assert res.exit_code == 0  # nothing live to refresh: no call
    res = cli("--debug", "gpu", "offers", "--type", "RTX_4090", tenant="acme")
    assert res.exit_code == 6
    assert "cannot connect" in res.stderr
    captured = capfd.readouterr()
    assert API_KEY not in res.stdout + res.stderr + captured.out + captured.err
