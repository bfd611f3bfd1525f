"""Root output options after the command, and typo suggestions for groups (issue 16)."""

from __future__ import annotations

import csv
import io
import json

import pytest

CREATE_CLASSIFY_ERROR = ("arcade", "mission", "create", "--type", "classify_error", "--payload")


def test_json_after_the_command(cli, tenant):
    """Repro: ``shifty-ent -t acme user list --json`` said "No such option: --json" (exit 2)."""
    res = cli("user", "list", "--json", tenant="acme", fmt=None)
    assert res.exit_code == 0, res.stderr
    assert {u["user"] for u in json.loads(res.stdout)} == {"alice", "olga", "lars", "audrey"}


@pytest.mark.parametrize(
    "flag", [["-o", "json"], ["--output", "json"], ["-ojson"], ["--output=json"]]
)
def test_output_after_the_command(cli, tenant, flag):
    """Repro: ``shifty-ent -t acme user list -o json`` failed with "No such option: -o"."""
    res = cli("user", "list", *flag, tenant="acme", fmt=None)
    assert res.exit_code == 0, res.stderr
    assert len(json.loads(res.stdout)) == 4


def test_tenant_and_csv_after_a_nested_command(cli, tenant):
    """Repro: ``shifty-ent data asset list -t acme -o csv`` failed with "No such option: -t"."""
    cli.ok(
        "data",
        "asset",
        "register",
        "notes",
        "--type",
        "file",
        "--classification",
        "internal",
        "--location",
        "s3://bucket/notes.txt",
        tenant="acme",
    )
    res = cli("data", "asset", "list", "-t", "acme", "-o", "csv", fmt=None)
    assert res.exit_code == 0, res.stderr
    rows = list(csv.DictReader(io.StringIO(res.stdout)))
    assert [r["name"] for r in rows] == ["notes"]


def test_option_after_the_command_wins_over_the_one_before(cli, tenant):
    res = cli("user", "list", "-o", "jsonl", tenant="acme", fmt="csv")
    assert res.exit_code == 0, res.stderr
    assert len([json.loads(line) for line in res.stdout.splitlines()]) == 4


def test_quiet_and_errors_as_json_after_the_command(cli, tenant):
    """A failure with ``-o json`` after the command is still one JSON line on stderr."""
    res = cli("user", "remove", "nobody", "--yes", "-o", "json", "-q", tenant="acme", fmt=None)
    assert res.exit_code == 3
    assert res.error["type"] == "not_found"


def test_quiet_after_the_command_silences_messages(cli, tenant):
    """``data policy delete P -q`` prints no "deleted policy" line on stderr."""
    for name, cls in (("p1", "pii"), ("p2", "phi")):
        cli.ok("data", "policy", "create", name, "-c", cls, "--retention-days", "3", tenant="acme")
    loud = cli("data", "policy", "delete", "p1", "--yes", tenant="acme")
    assert loud.exit_code == 0 and "deleted policy p1" in loud.stderr
    quiet = cli("data", "policy", "delete", "p2", "--yes", "-q", tenant="acme")
    assert quiet.exit_code == 0 and quiet.stderr == ""
    assert json.loads(quiet.stdout)["name"] == "p2"


def test_option_values_that_look_like_options_are_kept(cli, tenant):
    """``--payload "-o json"`` and ``--reason -o`` are values, not output options."""
    res = cli(*CREATE_CLASSIFY_ERROR, "-o json", tenant="acme", fmt=None)
    assert res.exit_code == 2
    assert "--payload is not valid JSON" in res.stderr
    cli.ok(
        "data",
        "asset",
        "register",
        "a1",
        "--type",
        "file",
        "--classification",
        "internal",
        "--location",
        "s3://bucket/a1",
        tenant="acme",
    )
    held = cli("data", "asset", "hold", "a1", "--reason", "-o", tenant="acme", fmt="json")
    assert held.exit_code == 0, held.stderr
    assert json.loads(held.stdout)["legal_hold"] is True


def test_a_command_own_option_of_the_same_name_wins(cli, tenant):
    """``tenant root list --tenant X`` has its own --tenant: it is that command's option."""
    res = cli("tenant", "root", "list", "--tenant", "acme", tenant=None)
    assert res.exit_code == 0, res.stderr
    assert json.loads(res.stdout) == []


def test_after_double_dash_nothing_is_an_option(cli, tenant):
    """``user remove -- --json`` names a user '--json': a plain error, not a JSON one."""
    res = cli("user", "remove", "--yes", "--", "--json", tenant="acme", fmt=None)
    assert res.exit_code == 3
    assert res.stderr == "error: user '--json' not found in tenant 'acme'\n"


def test_top_level_typo_suggests_the_group(cli):
    """Repro: ``shifty-ent tenat`` said only "No such command 'tenat'." (subcommands suggest)."""
    res = cli("tenat", fmt=None, user=None)
    assert res.exit_code == 2
    assert res.stderr.startswith("error: No such command 'tenat'. Did you mean 'tenant'?")
    sub = cli("user", "lis", fmt=None, user=None)
    assert sub.exit_code == 2 and "Did you mean 'list'?" in sub.stderr
