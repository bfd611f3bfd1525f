"""`data policy update` re-derives the assets' dates and guards erasures it would cause;
`data policy delete` only removes a policy no asset (active or erased) refers to."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from tests.data.conftest import make_file
from tests.model.helpers import count, query

NOW = "2026-11-01T10:00:00+00:00"


def _policy(cli: Any, name: str, *args: str) -> Any:
    return cli.ok("data", "policy", "create", name, *args, user="olga", tenant="acme")


def _update(cli: Any, *args: str, env: dict[str, str] | None = None) -> Any:
    return cli("data", "policy", "update", *args, user="olga", tenant="acme", env=env)


def _asset(cli: Any, asset: dict[str, Any]) -> Any:
    return cli.ok("data", "asset", "show", asset["id"], user="audrey", tenant="acme")


def _audits(db_url: str, action: str) -> int:
    return count(db_url, "SELECT count(*) FROM audit_events WHERE action = :a", a=action)


def _days(asset: dict[str, Any]) -> float:
    """The asset's retention in days, as its stored dates say."""
    expires = datetime.fromisoformat(asset["expires_at"])
    return (expires - datetime.fromisoformat(asset["created_at"])) / timedelta(days=1)


def test_update_rederives_covers_and_releases(
    cli: Any, tenant: Any, root: Path, register: Any, db_url: str
) -> None:
    conf = _policy(cli, "conf", "-c", "confidential", "--retention-days", "30")
    _policy(cli, "short", "-c", "internal", "--retention-days", "5")
    derived = register("derived", make_file(root / "a.bin"))
    explicit = register("pinned", make_file(root / "b.bin"), "internal", "--policy", "conf")
    pii = register("people", make_file(root / "c.bin"), "pii")
    assert _asset(cli, pii)["expires_at"] is None

    res = _update(cli, "conf", "--retention-days", "90", "-c", "pii", "--notify-days", "7")
    assert res.exit_code == 0, res.stderr
    out = res.json
    assert out["id"] == conf["id"] and out["retention_days"] == 90
    assert out["changed"] == {
        "classifications": [["confidential"], ["pii"]],
        "retention_days": [30, 90],
        "notify_days": [None, 7],
    }
    assert out["assets"] == {"recomputed": 1, "covered": 1, "released": 1, "due_now": []}
    # confidential is no longer covered: the derived asset keeps no date; the explicit one keeps
    # its policy with the new retention; pii is now covered
    assert _asset(cli, derived)["expires_at"] is None
    assert _asset(cli, derived)["policy_id"] is None
    assert round(_days(_asset(cli, explicit))) == 90
    assert _asset(cli, pii)["policy_id"] == conf["id"]
    assert round(_days(_asset(cli, pii))) == 90
    assert cli.ok("data", "policy", "show", "conf", tenant="acme")["notify_days"] == 7
    assert _audits(db_url, "data.policy.update") == 1

    # the same settings again change nothing and record nothing
    again = _update(cli, "conf", "--retention-days", "90").json
    assert again["changed"] == {} and again["assets"]["recomputed"] == 0
    assert _audits(db_url, "data.policy.update") == 1
    # --notify-days 0 stops notices
    assert _update(cli, "conf", "--notify-days", "0").json["notify_days"] is None
    assert query(db_url, "SELECT notify_at FROM data_assets WHERE name = 'people'")[0][0] is None


def test_update_that_makes_assets_due_needs_yes(
    cli: Any, tenant: Any, root: Path, register: Any, db_url: str, make_context: Any
) -> None:
    env = {"SHIFTY_NOW": NOW}
    cli.ok(
        "data", "policy", "create", "conf", "-c", "confidential", "--retention-days", "30",
        user="olga", tenant="acme", env=env,
    )  # fmt: skip
    path = make_file(root / "doomed.bin")
    doomed, held = (
        cli.ok(
            "data", "asset", "register", name, "--type", "dataset", "--classification",
            "confidential", "--location", str(p), user="olga", tenant="acme", env=env,
        )
        for name, p in (("doomed", path), ("held", make_file(root / "held.bin")))
    )  # fmt: skip
    cli.ok("data", "asset", "hold", held["id"], "--reason", "litigation", tenant="acme")
    later = {"SHIFTY_NOW": "2026-11-11T10:00:00+00:00"}
    before = query(db_url, "SELECT expires_at FROM data_assets")
    audits = count(db_url, "SELECT count(*) FROM audit_events")

    # 10 days old: a 5-day retention alone makes it due, but nothing erases it without auto-delete
    res = _update(cli, "conf", "--retention-days", "5", "--auto-delete", env=later)
    assert res.exit_code == 2
    assert "1 asset(s) due now" in res.error["message"] and "--yes" in res.error["message"]
    assert query(db_url, "SELECT expires_at FROM data_assets") == before
    assert query(db_url, "SELECT retention_days, auto_delete FROM retention_policies") == [
        (30, False)
    ]
    assert count(db_url, "SELECT count(*) FROM audit_events") == audits

    preview = _update(cli, "conf", "--retention-days", "5", "--auto-delete", "--dry-run", env=later)
    assert preview.exit_code == 0
    assert preview.json["dry_run"] is True
    assert [a["id"] for a in preview.json["assets"]["due_now"]] == [doomed["id"]]
    assert query(db_url, "SELECT expires_at FROM data_assets") == before
    assert count(db_url, "SELECT count(*) FROM audit_events") == audits

    # without auto-delete, a shorter retention needs no confirmation (nothing would be erased)
    assert _update(cli, "conf", "--retention-days", "5", env=later).exit_code == 0
    res = _update(cli, "conf", "--auto-delete", env=later)
    assert res.exit_code == 2 and "due now" in res.error["message"]
    done = _update(cli, "conf", "--auto-delete", "--yes", env=later)
    assert done.exit_code == 0 and done.json["auto_delete"] is True
    swept = cli.ok("data", "sweep", user="olga", tenant="acme", env=later)
    assert [d["asset_id"] for d in swept["deleted"]] == [doomed["id"]]
    assert not path.exists()
    assert [a["asset_id"] for a in swept["skipped_legal_hold"]] == [held["id"]]


def test_update_refusals_change_nothing(cli: Any, tenant: Any, db_url: str) -> None:
    _policy(cli, "conf", "-c", "confidential", "--retention-days", "30")
    _policy(cli, "pub", "-c", "public", "--retention-days", "30")
    rows = query(db_url, "SELECT * FROM retention_policies ORDER BY name")
    for args, code, words in (
        (("conf", "-c", "public"), 5, "already covered by policy 'pub'"),
        (("conf", "--auto-approve"), 2, "only allowed for public/internal"),
        (("conf", "--retention-days", "-1"), 2, "--retention-days"),
        (("conf", "--method", "shred"), 2, "unknown deletion method"),
        (("conf", "--method", "cryptographic_erase"), 2, "cannot default"),
        (("conf", "-c", "secret"), 2, "unknown classification"),
        (("conf",), 2, "nothing to change"),
        (("nope", "--retention-days", "3"), 3, "nope"),
    ):
        res = _update(cli, *args)
        assert res.exit_code == code, (args, res.stderr)
        assert words in res.error["message"], (args, res.error)
        assert len(res.stderr.strip().splitlines()) == 1
    res = cli(
        "data", "policy", "update", "conf", "--retention-days", "3", user="lars", tenant="acme"
    )
    assert res.exit_code == 4
    assert query(db_url, "SELECT * FROM retention_policies ORDER BY name") == rows


def test_delete_only_an_unused_policy(
    cli: Any, tenant: Any, root: Path, register: Any, db_url: str
) -> None:
    unused = _policy(cli, "typo", "-c", "restricted", "--retention-days", "1")
    _policy(cli, "conf", "-c", "confidential", "--retention-days", "30")
    register("a", make_file(root / "a.bin"))
    res = cli("data", "policy", "delete", "conf", "--yes", user="olga", tenant="acme")
    assert res.exit_code == 5 and "governs 1 asset(s)" in res.error["message"]
    assert (
        cli("data", "policy", "delete", "typo", "--yes", user="lars", tenant="acme").exit_code == 4
    )
    gone = cli.ok("data", "policy", "delete", "typo", "--yes", user="olga", tenant="acme")
    assert gone["id"] == unused["id"]
    assert cli("data", "policy", "show", "typo", tenant="acme").exit_code == 3
    assert [p["name"] for p in cli.ok("data", "policy", "list", tenant="acme")] == ["conf"]
    assert _audits(db_url, "data.policy.delete") == 1
    # the classification is free again
    _policy(cli, "restricted", "-c", "restricted", "--retention-days", "2")


@pytest.mark.slow
def test_two_terminals_cannot_cover_one_classification_twice(
    cli: Any, tenant: Any, db_url: str
) -> None:
    _policy(cli, "one", "-c", "confidential", "--retention-days", "30")
    _policy(cli, "two", "-c", "internal", "--retention-days", "30")
    argv = [sys.executable, "-m", "shifty_ent", "--db", db_url, "--as", "olga", "--tenant", "acme"]
    procs = [
        subprocess.Popen(
            [*argv, "-o", "json", "data", "policy", "update", name, "-c", "pii", "-c", keep],
            env=dict(os.environ),
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        for name, keep in (("one", "confidential"), ("two", "internal"))
    ]
    outs = [p.communicate(timeout=120) for p in procs]
    codes = sorted(p.returncode for p in procs)
    assert codes == [0, 5], outs
    covering = [
        name
        for name, classes in query(db_url, "SELECT name, classifications FROM retention_policies")
        if "pii" in (classes if isinstance(classes, list) else json.loads(classes))
    ]
    assert len(covering) == 1
