"""Startup cost, lazy groups, the installed entry point, and generated completions."""

from __future__ import annotations

import importlib
import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from shifty_ent import __version__
from shifty_ent.cli import GROUPS

ROOT = Path(__file__).resolve().parents[2]
HEAVY = ("sqlalchemy", "sqlmodel", "httpx", "huggingface_hub", "alembic", "torch", "boto3")


@pytest.mark.slow
def test_help_imports_no_heavy_module():
    code = (
        "import sys, json\n"
        "from shifty_ent.cli import main\n"
        "sys.argv = ['shifty-ent', '--help']\n"
        "try:\n    main()\nexcept SystemExit:\n    pass\n"
        "print(json.dumps(sorted(m for m in sys.modules)), file=sys.stderr)\n"
    )
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    modules = json.loads(proc.stderr.strip().splitlines()[-1])
    loaded = [m for m in modules if m.split(".")[0] in HEAVY]
    assert loaded == []
    for name, (_, help_text) in GROUPS.items():
        assert name in proc.stdout and help_text[:30] in proc.stdout


@pytest.mark.parametrize("name", sorted(GROUPS))
def test_every_lazy_group_imports(name):
    import typer

    module_name, attr = GROUPS[name][0].split(":")
    obj = getattr(importlib.import_module(module_name), attr)
    assert isinstance(obj, typer.Typer)
    command = typer.main.get_command(obj)
    assert command.get_short_help_str() or command.help


def _installed() -> str:
    exe = Path(sys.executable).with_name("shifty-ent")
    found = str(exe) if exe.exists() else shutil.which("shifty-ent")
    if not found:
        pytest.skip("shifty-ent entry point is not installed")
    return found


@pytest.mark.slow
def test_installed_entry_point_smoke(tmp_path):
    exe = _installed()
    env = {**os.environ, "SHIFTY_HOME": str(tmp_path), "SHIFTY_USER": "ci"}
    env.pop("SHIFTY_DATABASE_URL", None)
    env.pop("DATABASE_URL", None)
    out = subprocess.run([exe, "--version"], capture_output=True, text=True, env=env)
    assert out.returncode == 0 and out.stdout.strip() == f"shifty-ent {__version__}"
    made = subprocess.run(
        [exe, "--json", "tenant", "create", "smoke"], capture_output=True, text=True, env=env
    )
    assert made.returncode == 0, made.stderr
    assert json.loads(made.stdout)["created_by"] == "ci"
    listed = subprocess.run(
        [exe, "--json", "tenant", "list"], capture_output=True, text=True, env=env
    )
    assert [t["name"] for t in json.loads(listed.stdout)] == ["smoke"]
    bad = subprocess.run(
        [exe, "-t", "nope", "user", "list"], capture_output=True, text=True, env=env
    )
    assert bad.returncode == 3 and bad.stderr == "error: tenant 'nope' not found\n"
    module = subprocess.run(
        [sys.executable, "-m", "shifty_ent", "--version"], capture_output=True, text=True, env=env
    )
    assert module.stdout.strip() == f"shifty-ent {__version__}"


def test_completions_are_current():
    from shifty_ent.devtools.completions import SCRIPTS

    for name, make in SCRIPTS.items():
        path = ROOT / "completions" / name
        assert path.exists(), f"missing {path}; run python -m shifty_ent.devtools.completions"
        assert path.read_text() == make(), (
            f"{path} is stale; run: python -m shifty_ent.devtools.completions completions"
        )


@pytest.mark.slow
def test_bash_completion_completes_subcommands(tmp_path):
    bash = shutil.which("bash")
    if not bash:
        pytest.skip("no bash")
    script = ROOT / "completions" / "shifty-ent.bash"
    probe = (
        f"source {script}; COMP_WORDS=(shifty-ent --db x tenant ''); COMP_CWORD=4; "
        "_shifty_ent; echo ${COMPREPLY[@]}"
    )
    out = subprocess.run([bash, "-c", probe], capture_output=True, text=True, check=True)
    assert out.stdout.split() == ["create", "list", "root", "show", "--help"]
