"""docs/commands.md: generated from the --help texts, complete, deterministic, and current."""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

from shifty_ent.devtools.reference import iter_commands, render

ROOT = Path(__file__).resolve().parents[2]
DOC = ROOT / "docs" / "commands.md"


def _sections(text: str) -> dict[str, str]:
    """Heading path ('' for the root) -> that section's text."""
    out: dict[str, str] = {}
    parts = re.split(r"^#{2,4} `shifty-ent ?([^`]*)`$", text, flags=re.M)
    for i in range(1, len(parts), 2):
        out[parts[i]] = parts[i + 1]
    return out


def test_reference_is_current():
    assert DOC.exists(), "missing docs/commands.md; run python -m shifty_ent.devtools.reference"
    assert DOC.read_text(encoding="utf-8") == render(), (
        "docs/commands.md is stale; run: python -m shifty_ent.devtools.reference docs/commands.md"
    )


def test_every_command_option_and_argument_is_documented():
    sections = _sections(render())
    entries = list(iter_commands())
    assert list(sections) == [e.path for e in entries]
    assert {"gpu provision", "data delete request", "report audit verify"} <= set(sections)
    for entry in entries:
        body = sections[entry.path]
        for param in entry.command.params:
            if getattr(param, "hidden", False):
                continue
            decl = param.get_help_record(entry.context)[0]
            assert f"- `{decl}`" in body, (entry.path, decl)
        if entry.is_group:
            for name in entry.command.list_commands(entry.context):
                assert f"- `{name}`" in body, (entry.path, name)


def test_section_shows_usage_help_and_defaults():
    body = _sections(render())["gpu provision"]
    assert "```text\nUsage: shifty-ent gpu provision [OPTIONS]\n```" in body
    assert "Rent the cheapest offer" in body
    assert "- `--max-price USD`: Ceiling per hour, GPU + storage share. `[required]`" in body
    assert re.search(r"- `--disk GB`: .*`\[default: 50; x>=1\]`", body)
    request = _sections(render())["data delete request"]
    assert "Usage: shifty-ent data delete request [OPTIONS] [ASSETS]..." in request
    assert "Arguments:" in request and "Options:" in request


@pytest.mark.slow
def test_module_writes_the_same_text_whatever_the_terminal(tmp_path):
    """Two runs in different terminals (width, colour, user) write identical files."""
    outputs = []
    for i, extra in enumerate(
        (
            {"COLUMNS": "40", "FORCE_COLOR": "1", "TERM": "xterm-256color", "USER": "zed"},
            {"COLUMNS": "250", "NO_COLOR": "1", "TERM": "dumb", "USER": "amy"},
        )
    ):
        out = tmp_path / f"run{i}" / "commands.md"
        env = {k: v for k, v in os.environ.items() if k not in ("NO_COLOR", "FORCE_COLOR")}
        proc = subprocess.run(
            [sys.executable, "-m", "shifty_ent.devtools.reference", str(out)],
            capture_output=True,
            text=True,
            env={**env, **extra},
            check=True,
        )
        assert proc.stdout.strip() == str(out)
        outputs.append(out.read_text(encoding="utf-8"))
    assert outputs[0] == outputs[1]
    assert "\x1b[" not in outputs[0]  # no colour codes
    assert "## `shifty-ent gpu`" in outputs[0]
