"""``shifty-ent quickstart``: the guided tour builds its own sandbox and leaves the store alone."""

from __future__ import annotations

import os
from pathlib import Path

from sqlalchemy import select

from shifty_ent.core import store
from shifty_ent.core.tables import Tenant


def _tenants(url):
    engine = store.get_engine(url)
    with store.new_session(engine) as s:
        return [t.name for t in s.scalars(select(Tenant)).all()]


def test_quickstart_runs_the_tour_in_its_own_sandbox(cli, isolated_env, db_url, monkeypatch):
    """A newcomer sets no identity mode: the sandbox's own store is declared by the tour."""
    monkeypatch.delenv("SHIFTY_IDENTITY")
    res = cli("quickstart", user=None)
    assert res.exit_code == 0, res.stderr
    out = res.json
    sandbox = Path(out["sandbox"])
    assert sandbox == isolated_env / "quickstart" and (sandbox / "state.db").is_file()
    assert out["database_url"] == f"sqlite:///{sandbox / 'state.db'}"
    # the store named by --db was not touched
    assert "quickstart" not in _tenants(db_url)
    assert _tenants(out["database_url"]) == ["quickstart"]
    # the printed next commands work: SHIFTY_HOME=<sandbox> finds the sandbox store
    from tests.conftest import Cli

    assets = Cli(None).ok(
        "data", "asset", "list", user="olga", tenant="quickstart", env={"SHIFTY_HOME": str(sandbox)}
    )
    assert "brochure" in {a["name"] for a in assets}
    assert any(c.startswith(f"SHIFTY_HOME={sandbox} ") for c in out["next_commands"])
    # sweep -> certificate -> verify: the expired files are gone, the held one stays
    assert sorted(out["assets_erased"]) == ["customers", "model-notes"]
    assert not (sandbox / "files/crm/customers.csv").exists()
    assert (sandbox / "files/crm/litigation-emails.mbox").exists()
    assert out["certificate_valid"] is True
    # checked from another store, the sandbox's key is trusted only when pinned, as the printed
    # next commands do
    pin = ("--fingerprint", out["key_fingerprint"])
    assert cli("report", "verify", out["certificate_file"], user=None).exit_code == 4
    checked = cli.ok("report", "verify", out["certificate_file"], *pin, user=None)
    assert checked["kind"] == "certificate"
    assert any(pin[1] in c and "report verify" in c for c in out["next_commands"])
    # arcade -> dataset -> asset
    assert out["dataset_asset_id"]
    # the HTML compliance reports are signed and self-contained
    for path in out["report_files"].values():
        text = Path(path).read_text()
        assert "<script" not in text.lower() and "<svg" in text
        assert cli.ok("report", "verify", path, *pin, user=None)["ok"] is True
    assert out["audit_chain_intact"] is True and out["report_signature_valid"] is True
    assert any("report compliance" in c for c in out["next_commands"])
    # the narrative names the commands it ran (on stderr with -o json)
    assert "$ shifty-ent --as olga data sweep" in res.stderr
    # the tour's clock and home do not leak into this process
    assert os.environ.get("SHIFTY_NOW") is None
    assert os.environ["SHIFTY_HOME"] == str(isolated_env)


def test_quickstart_twice_starts_fresh(cli, isolated_env):
    first = cli("quickstart", user=None)
    second = cli("quickstart", user=None)
    assert first.exit_code == 0 and second.exit_code == 0, second.stderr
    assert first.json["certificate_id"] != second.json["certificate_id"]
    assert _tenants(second.json["database_url"]) == ["quickstart"]


def test_quickstart_refuses_a_foreign_directory(cli, tmp_path):
    mine = tmp_path / "mine"
    mine.mkdir()
    (mine / "thesis.tex").write_text("precious")
    res = cli("quickstart", "--dir", str(mine), user=None)
    assert res.exit_code == 2 and "not made by quickstart" in res.error["message"]
    assert [p.name for p in mine.iterdir()] == ["thesis.tex"]


def test_quickstart_use_store_builds_in_the_given_store(cli, db_url):
    res = cli("quickstart", "--use-store", "--tenant-name", "tour", user=None)
    assert res.exit_code == 0, res.stderr
    assert "tour" in _tenants(db_url)
    assert res.json["database_url"] == db_url


def test_quickstart_human_output_lists_next_commands(cli):
    res = cli("quickstart", user=None, fmt="table")
    assert res.exit_code == 0, res.stderr
    assert "Try next:" in res.stdout and "report verify" in res.stdout
    assert "4. Signed evidence for the auditor" in res.stdout


def test_next_commands_work_with_a_configured_store(db_url, tmp_path, isolated_env, backend):
    """On main, with ``SHIFTY_DATABASE_URL`` set (to the person's real store), the suggested
    ``SHIFTY_HOME=<sandbox> shifty-ent -t quickstart --as olga data asset list`` went to that
    store, not the sandbox: exit 3 (no tenant quickstart) or 4 (--as refused)."""
    import shlex

    from tests.conftest import Cli
    from tests.shell import base_env, command_dir, run_bash

    if backend != "sqlite":
        import pytest

        pytest.skip("the configured store's kind does not change the hints")
    env = {"SHIFTY_DATABASE_URL": db_url}
    res = Cli(None)("quickstart", user=None, env=env)
    assert res.exit_code == 0, res.stderr
    hints = [c for c in res.json["next_commands"] if not c.startswith("open ")]
    assert len(hints) >= 6
    shell_env = {
        **base_env(isolated_env, command_dir(tmp_path)),
        "SHIFTY_DATABASE_URL": db_url,
    }
    for line in hints:
        done = run_bash(line + " >/dev/null", cwd=tmp_path, env=shell_env)
        assert done.returncode == 0, f"{line}\nexit {done.returncode}: {done.stderr}"
    assert "quickstart" not in _tenants(db_url)
    assert all(shlex.split(h) for h in hints)
