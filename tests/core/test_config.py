"""Settings precedence, SHIFTY_HOME, and masking of secrets."""

from __future__ import annotations

import json

from tests.conftest import Cli


def test_precedence_flag_env_file_default(isolated_env, monkeypatch):
    (isolated_env / "config.toml").write_text('tenant = "from-file"\noutput = "csv"\n')
    cli = Cli(None)
    shown = cli.ok("config", "show", user=None)
    assert shown["tenant"] == {"value": "from-file", "source": "file"}
    assert shown["output"]["source"] == "flag"
    monkeypatch.setenv("SHIFTY_TENANT", "from-env")
    assert cli.ok("config", "show")["tenant"] == {
        "value": "from-env",
        "source": "env:SHIFTY_TENANT",
    }
    assert cli.ok("config", "show", tenant="from-flag")["tenant"]["source"] == "flag"
    assert cli.ok("config", "show")["vastai_url"] == {
        "value": "https://console.vast.ai",
        "source": "default",
    }


def test_shifty_home_holds_every_local_file(isolated_env):
    shown = Cli(None).ok("config", "show")
    for key in ("config_file", "data_dir", "signing_key_path"):
        assert shown[key]["value"].startswith(str(isolated_env))
    assert shown["database_url"]["value"] == f"sqlite:///{isolated_env}/state.db"


def test_secrets_are_masked(isolated_env, monkeypatch):
    monkeypatch.setenv("VASTAI_API_KEY", "vk-super-secret-123456")
    monkeypatch.setenv("HF_TOKEN", "hf_abcdefghijklmnop")
    monkeypatch.setenv("SHIFTY_DATABASE_URL", "postgresql://bob:pa55word@db.example/x")
    res = Cli(None)("config", "show")
    assert "super-secret" not in res.stdout and "abcdefghijklmnop" not in res.stdout
    assert "pa55word" not in res.stdout
    shown = json.loads(res.stdout)
    assert shown["vastai_api_key"]["value"] == "(set)"
    assert shown["database_url"]["value"] == "postgresql://bob:****@db.example/x"
    table = Cli(None)("config", "show", fmt="table")
    assert "super-secret" not in table.stdout


def test_bad_config_file_is_one_line(isolated_env):
    (isolated_env / "config.toml").write_text("tenant = [unclosed\n")
    res = Cli(None)("config", "show", fmt=None)
    assert res.exit_code == 2
    assert len(res.stderr.strip().splitlines()) == 1


def test_clock_honours_shifty_now(monkeypatch):
    from shifty_ent.core import clock

    monkeypatch.setenv("SHIFTY_NOW", "2030-01-02T03:04:05Z")
    assert clock.now().isoformat() == "2030-01-02T03:04:05+00:00"
    monkeypatch.setenv("SHIFTY_NOW", "2030-01-02")
    assert clock.now().isoformat() == "2030-01-02T00:00:00+00:00"


def test_bad_shifty_now_is_invalid_input(cli, tenant):
    res = cli("user", "add", "bob", "--role", "labeler", tenant="acme", env={"SHIFTY_NOW": "soon"})
    assert res.exit_code == 2 and "SHIFTY_NOW" in res.error["message"]
