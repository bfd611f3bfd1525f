"""Help speaks the user's words: no Python types, allowed values listed, examples that parse."""

from __future__ import annotations

import re
import shlex
from typing import Any

import pytest
from typer.testing import CliRunner

from shifty_ent.core import choices, helpfmt
from shifty_ent.devtools.reference import iter_commands

PY_TYPE = re.compile(r"<(bool|str|int|float|path|file|list\[[^\]]*\]|[a-z_]+\|[a-z_|]+)>")
BRACED = re.compile(r"\{[a-z_]+\}")
# options that take one of a fixed set of values wherever they appear
ENUM_OPTIONS = (
    "--method",
    "--classification",
    "--role",
    "--format",
    "--output",
    "--group-by",
    "--source",
    "--status",
    "--state",
    "--gpu-type",
    "--mission-type",
)
ENTRIES = list(iter_commands())


def _help(path: str) -> str:
    from shifty_ent.cli import app

    res = CliRunner().invoke(app, [*path.split(), "--help"], env={"COLUMNS": "120"})
    assert res.exit_code == 0, res.output
    return res.output


def _visible(entry: Any) -> list[Any]:
    return [p for p in entry.command.params if not getattr(p, "hidden", False)]


@pytest.mark.parametrize("entry", ENTRIES, ids=lambda e: e.path or "root")
def test_help_shows_no_python_type_and_lists_choices(entry):
    """Repro: ``user list --help`` showed ``--removed <bool>``, ``data policy create --help``
    showed ``{name}``, ``<list[str]>`` and no allowed values for --method/--classification."""
    text = _help(entry.path)
    assert not PY_TYPE.search(text), (entry.path, PY_TYPE.search(text))
    assert not BRACED.search(text), (entry.path, BRACED.search(text))
    for param in _visible(entry):
        values = choices.static_values(param)
        if any(o in ENUM_OPTIONS for o in param.opts):
            assert values, f"{entry.path} {param.opts}: an enum option without its values"
        for value in values or ():
            assert re.search(rf"(?<![\w-]){re.escape(value)}(?![\w-])", text), (
                entry.path,
                param.opts,
                value,
            )


def test_the_enum_check_is_not_vacuous():
    text = _help("data delete request")
    assert "One of: standard, secure_overwrite, cryptographic_erase, dod_5220, nist_800_88" in (
        " ".join(t.strip("│ ") for t in text.splitlines())
    )
    assert PY_TYPE.search("--json <bool>") and PY_TYPE.search("<list[str]>")
    assert PY_TYPE.search("<table|json|csv>") and BRACED.search("Usage: x {name}")


def _parse_example(words: list[str]) -> str:
    """Parse a command line as the app would (no command runs); return its command path."""
    import typer

    from shifty_ent.cli import app

    cmd: Any = typer.main.get_command(app)
    ctx = cmd.make_context("shifty-ent", list(words))
    path: list[str] = []
    while getattr(cmd, "commands", None) is not None or hasattr(cmd, "load"):
        args = [*ctx._protected_args, *ctx.args]
        name, sub, rest = cmd.resolve_command(ctx, args)
        path.append(name)
        cmd = sub.load() if hasattr(sub, "load") else sub
        ctx = cmd.make_context(name, rest, parent=ctx)
    return " ".join(path)


LEAVES = [e for e in ENTRIES if not e.is_group]


@pytest.mark.parametrize("entry", LEAVES, ids=lambda e: e.path)
def test_every_command_has_an_example_that_parses(entry, tmp_path, monkeypatch):
    """Every command shows ``Examples:``, and each example is a valid command line for it
    (files it reads exist here, as they would for the person running it)."""
    monkeypatch.chdir(tmp_path)
    examples = helpfmt.example_commands(entry.command)
    assert 1 <= len(examples) <= 3, entry.path
    assert "Examples:" in _help(entry.path)
    for line in examples:
        found = re.search(r"shifty-ent [^)|>]*", line)  # also inside $(...) or before > FILE
        assert found, line
        words = shlex.split(found.group(0))
        for word in words:
            if re.fullmatch(r"[\w.-]+\.(csv|json|jsonl|sig|md)", word):
                (tmp_path / word).write_text("{}\n")
        assert _parse_example(words[1:]) == entry.path, line


def test_examples_in_docstrings_leave_the_description():
    from shifty_ent.data.cli import delete_request  # noqa: F401 - the group is loaded below

    entry = next(e for e in ENTRIES if e.path == "data delete request")
    assert "Examples:" not in (entry.command.help or "")
    assert helpfmt.example_commands(entry.command)[1] == (
        "shifty-ent -t acme data delete request --subject customer-42 --method "
        "cryptographic_erase --reason 'GDPR Art. 17 request 4711'"
    )


def test_vocabularies_match_the_services():
    """The values help and completion show are the ones the services accept."""
    from shifty_ent.arcade import cli as arcade_cli
    from shifty_ent.arcade import leaderboard, mission_types
    from shifty_ent.core import tables as core_tables
    from shifty_ent.data import cli as data_cli
    from shifty_ent.data import tables as data_tables
    from shifty_ent.gpu import catalog
    from shifty_ent.gpu import cli as gpu_cli
    from shifty_ent.gpu import tables as gpu_tables
    from shifty_ent.model import cli as model_cli
    from shifty_ent.model import tables as model_tables
    from shifty_ent.model import versions
    from shifty_ent.report import cli as report_cli
    from shifty_ent.report import service as report_service

    assert choices.CLASSIFICATIONS == data_tables.CLASSIFICATIONS == versions.CLASSIFICATIONS
    assert choices.CLASSIFICATIONS == mission_types.CLASSIFICATIONS
    assert choices.DELETION_METHODS == data_tables.METHODS
    assert choices.ROLES == core_tables.ROLES
    assert tuple(catalog.GPU_TYPES) == choices.GPU_TYPES
    assert data_cli.ASSET_STATES == data_tables.ASSET_STATES
    assert data_cli.JOB_STATES == data_tables.JOB_STATES
    assert data_cli.WORKSPACE_TYPES == data_tables.WORKSPACE_TYPES
    assert model_cli.TRAIN_STATES == model_tables.JOB_STATES
    assert ("active", *gpu_tables.STATES) == gpu_cli.INSTANCE_STATES
    assert arcade_cli.MISSION_TYPES.values == tuple(mission_types.TYPES)
    assert tuple(arcade_cli.BOARDS.values) == leaderboard.BOARDS
    assert tuple(report_cli.REPORT_TYPES) == tuple(report_service.REPORT_TYPES)
