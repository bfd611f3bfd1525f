"""The cron sweep: notices (webhook with retries), archive, auto-delete, workspaces, dry-run."""

from __future__ import annotations

import io
import os
import subprocess
import sys
import tarfile
from pathlib import Path
from typing import Any

import pytest

from shifty_ent.core.config import load_settings
from tests.data.conftest import create_policy, make_file
from tests.fakes.server import LoopbackServer, Request, Response

LATER = "2099-01-01T00:00:00+00:00"


def _audit_count(make_context: Any) -> int:
    from sqlalchemy import func, select

    from shifty_ent.core.tables import AuditEvent

    with make_context(tenant="acme") as ctx:
        return ctx.session.scalar(select(func.count()).select_from(AuditEvent))


def test_dry_run_previews_future_and_changes_nothing(
    cli: Any, tenant: Any, root: Path, register: Any, make_context: Any
) -> None:
    create_policy(cli, "--auto-delete", "--notify-days", "7")
    f = make_file(root / "a.bin")
    asset = register("a", f)
    now_res = cli.ok("data", "sweep", "--dry-run", user="olga", tenant="acme")
    assert now_res["deleted"] == [] and now_res["dry_run"] is True
    before = _audit_count(make_context)
    preview = cli.ok(
        "data", "sweep", "--dry-run", user="olga", tenant="acme", env={"SHIFTY_NOW": LATER}
    )
    assert [d["asset_id"] for d in preview["deleted"]] == [asset["id"]]
    assert preview["deleted"][0]["would_delete"] is True
    assert f.exists()
    assert cli.ok("data", "delete", "list", user="alice", tenant="acme") == []
    assert _audit_count(make_context) == before
    assert (
        cli.ok("data", "asset", "show", asset["id"], user="alice", tenant="acme")["status"]
        == "active"
    )


def test_sweep_notifies_archives_deletes_and_skips_holds(
    cli: Any, tenant: Any, root: Path, register: Any, isolated_env: Path
) -> None:
    calls: list[int] = []

    def handler(req: Request) -> Response:
        calls.append(1)
        return Response(500, {"error": "busy"}) if len(calls) == 1 else Response(204)

    create_policy(
        cli,
        "--auto-delete",
        "--archive-before-delete",
        "--notify-days",
        "10",
        "--method",
        "secure_overwrite",
    )
    doomed = register("doomed", make_file(root / "doomed.csv", 50_000, b"row,"))
    held = register("held", make_file(root / "held.csv"))
    cli.ok(
        "data", "asset", "hold", held["id"], "--reason", "litigation", user="olga", tenant="acme"
    )
    with LoopbackServer(handler, max_requests=10, max_seconds=60) as hook:
        # 25 days later: inside the notice window, not expired
        res = cli.ok(
            "data",
            "sweep",
            user="olga",
            tenant="acme",
            env={
                "SHIFTY_NOW": _days_after(doomed, 25),
                "SHIFTY_NOTIFY_WEBHOOK": hook.url + "/hook",
            },
        )
        assert [n["asset_id"] for n in res["notified"]] == [doomed["id"]]
        assert res["notified"][0]["delivery"] == "delivered" and res["notified"][0]["attempts"] == 2
        assert len(hook.requests) == 2
        body = hook.requests[-1].json()
        assert body["event"] == "asset.expiring" and body["days_left"] == 5
        assert res["deleted"] == []
        # a second sweep does not notify again
        again = cli.ok(
            "data",
            "sweep",
            user="olga",
            tenant="acme",
            env={
                "SHIFTY_NOW": _days_after(doomed, 26),
                "SHIFTY_NOTIFY_WEBHOOK": hook.url + "/hook",
            },
        )
        assert again["notified"] == [] and len(hook.requests) == 2
    res = cli.ok(
        "data", "sweep", user="olga", tenant="acme", env={"SHIFTY_NOW": _days_after(doomed, 31)}
    )
    assert [d["asset_id"] for d in res["deleted"]] == [doomed["id"]]
    assert res["deleted"][0]["status"] == "completed" and res["deleted"][0]["certificate_id"]
    assert [s["asset_id"] for s in res["skipped_legal_hold"]] == [held["id"]]
    assert res["failures"] == []
    assert not (root / "doomed.csv").exists() and (root / "held.csv").exists()
    # the archive is encrypted and opens with the tenant key
    archive = Path(res["archived"][0]["archive"])
    assert b"row," not in archive.read_bytes()
    from shifty_ent.data.archive import open_archive

    _header, tar_bytes = open_archive(load_settings({}), archive)
    with tarfile.open(fileobj=io.BytesIO(tar_bytes)) as tar:
        assert tar.extractfile("doomed.csv").read() == b"row," * 50_000
    cert = cli.ok(
        "data",
        "certificate",
        "show",
        res["deleted"][0]["certificate_id"],
        user="audrey",
        tenant="acme",
    )
    assert cert["certificate"]["sanitization"]["performed_by"] == "system:sweep (as olga)"
    job = cli.ok("data", "delete", "show", res["deleted"][0]["job_id"], user="alice", tenant="acme")
    assert (
        job["source"] == "sweep"
        and job["approved_by"] == "policy:conf"
        and job["requested_by"] == "olga"
    )


def _days_after(asset: dict[str, Any], days: int) -> str:
    from datetime import datetime, timedelta

    # expires_at = created + 30 days for the 'conf' policy used here
    created = datetime.fromisoformat(asset["expires_at"]) - timedelta(days=30)
    return (created + timedelta(days=days)).isoformat()


def test_failing_webhook_makes_sweep_fail(cli: Any, tenant: Any, root: Path, register: Any) -> None:
    create_policy(cli, "--notify-days", "10")
    asset = register("a", make_file(root / "a.bin"))
    with LoopbackServer(lambda r: Response(503), max_requests=10, max_seconds=60) as hook:
        res = cli(
            "data",
            "sweep",
            user="olga",
            tenant="acme",
            env={"SHIFTY_NOW": _days_after(asset, 25), "SHIFTY_NOTIFY_WEBHOOK": hook.url},
        )
        assert res.exit_code == 5
        assert len(hook.requests) == 4  # bounded retries
    shown = res.json
    assert shown["notified"][0]["delivery"] == "failed"
    assert shown["failures"][0]["step"] == "notify"


def test_sweep_needs_operator(cli: Any, tenant: Any) -> None:
    res = cli("data", "sweep", user="lars", tenant="acme")
    assert res.exit_code == 4


@pytest.mark.slow
def test_two_concurrent_sweeps_erase_each_asset_once(
    cli: Any, db_url: str, tenant: Any, root: Path, register: Any
) -> None:
    create_policy(cli, "--auto-delete", "--method", "secure_overwrite")
    assets = [register(f"a{i}", make_file(root / f"a{i}.bin", 200_000)) for i in range(12)]
    env = {**os.environ, "SHIFTY_NOW": LATER}
    cmd = [
        sys.executable,
        "-m",
        "shifty_ent",
        "--db",
        db_url,
        "--as",
        "olga",
        "--tenant",
        "acme",
        "-o",
        "json",
        "data",
        "sweep",
    ]
    procs = [
        subprocess.Popen(cmd, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        for _ in range(2)
    ]
    outs = [p.communicate(timeout=240) for p in procs]
    assert [p.returncode for p in procs] == [0, 0], [o[1] for o in outs]
    import json

    deleted = [d["asset_id"] for out, _ in outs for d in json.loads(out)["deleted"]]
    assert sorted(deleted) == sorted(a["id"] for a in assets)  # each exactly once, across both
    jobs = cli.ok("data", "delete", "list", user="alice", tenant="acme")
    assert len(jobs) == 12 and {j["status"] for j in jobs} == {"completed"}
    certs = cli.ok("data", "certificate", "list", user="alice", tenant="acme")
    assert sorted(c["job_id"] for c in certs) == sorted(j["id"] for j in jobs)
    assert list(root.iterdir()) == []


@pytest.mark.slow
def test_killed_sweep_is_finished_by_the_next(
    cli: Any, db_url: str, tenant: Any, root: Path, register: Any
) -> None:
    import json

    create_policy(cli, "--auto-delete", "--method", "secure_overwrite")
    asset = register("a", make_file(root / "a.bin", 500_000))
    cmd = [
        sys.executable,
        "-m",
        "shifty_ent",
        "--db",
        db_url,
        "--as",
        "olga",
        "--tenant",
        "acme",
        "-o",
        "json",
        "data",
        "sweep",
    ]
    env = {**os.environ, "SHIFTY_NOW": LATER}
    killed = subprocess.run(
        cmd,
        env={**env, "SHIFTY_FAULT_KILL_AFTER_PASS": "1"},
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert killed.returncode == -9
    assert (
        cli.ok("data", "asset", "show", asset["id"], user="alice", tenant="acme")["status"]
        == "erasing"
    )
    second = subprocess.run(cmd, env=env, capture_output=True, text=True, timeout=120)
    assert second.returncode == 0, second.stderr
    summary = json.loads(second.stdout)
    assert [r["status"] for r in summary["resumed"]] == ["completed"] and summary["deleted"] == []
    assert not (root / "a.bin").exists() and list(root.iterdir()) == []
    assert len(cli.ok("data", "certificate", "list", user="alice", tenant="acme")) == 1
