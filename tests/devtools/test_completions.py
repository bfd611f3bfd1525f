"""Shell completion of values: a real bash runs the generated script (issue 16).

Fixed values (formats, methods, GPU types ...) are embedded in the scripts: completing them
must start no process, which the tests check by giving bash a PATH that holds only logging
shims for ``shifty-ent`` and ``python``. Tenant and user names come from the store through
``shifty-ent completion values``; that test runs the real program behind the shim.
"""

from __future__ import annotations

import os
import shlex
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
from typer.testing import CliRunner

from shifty_ent.devtools.completions import SCRIPTS, script_for

ROOT = Path(__file__).resolve().parents[2]
BASH_SCRIPT = ROOT / "completions" / "shifty-ent.bash"
BASH = shutil.which("bash")
needs_bash = pytest.mark.skipif(BASH is None, reason="bash is not installed")
SRC = ROOT / "src"


def _shims(folder: Path, log: Path, real: bool = False) -> Path:
    """``shifty-ent``, ``python`` and ``python3`` that log each start; with ``real`` the
    ``shifty-ent`` one then runs the program from this checkout."""
    folder.mkdir(exist_ok=True)
    for name in ("shifty-ent", "python", "python3"):
        body = f'echo "{name} $*" >> {shlex.quote(str(log))}\n'
        if real and name == "shifty-ent":
            body += (
                f"PYTHONPATH={shlex.quote(str(SRC))} "
                f'exec {shlex.quote(sys.executable)} -m shifty_ent "$@"\n'
            )
        path = folder / name
        path.write_text(f"#!{BASH}\n{body}")
        path.chmod(0o755)
    return folder


def complete(words: list[str], *, cwd: Path, path: str, env: dict[str, str] | None = None):
    """COMPREPLY for the command line ``words`` (the last word is the one being completed)."""
    quoted = " ".join(shlex.quote(w) for w in words)
    probe = (
        f"source {shlex.quote(str(BASH_SCRIPT))}\n"
        f"COMP_WORDS=({quoted}); COMP_CWORD={len(words) - 1}\n"
        "_shifty_ent\n"
        'printf "%s\\n" "${COMPREPLY[@]}"\n'
    )
    run_env = {"PATH": path, "HOME": str(cwd), **(env or {})}
    proc = subprocess.run(
        [BASH, "--norc", "--noprofile", "-c", probe],
        capture_output=True,
        text=True,
        cwd=cwd,
        env=run_env,
        timeout=120,
    )
    assert proc.returncode == 0, proc.stderr
    return [line for line in proc.stdout.splitlines() if line], proc.stderr


STATIC = [
    (
        ["shifty-ent", "data", "delete", "request", "--method", ""],
        ["standard", "secure_overwrite", "cryptographic_erase", "dod_5220", "nist_800_88"],
    ),
    (["shifty-ent", "user", "list", "-o", ""], ["table", "json", "jsonl", "csv"]),
    (["shifty-ent", "-o", "j"], ["json", "jsonl"]),
    (["shifty-ent", "user", "list", "--output", "=", "j"], ["json", "jsonl"]),
    (["shifty-ent", "--db", "x", "gpu", "offers", "--type", "A1"], ["A100_40GB", "A100_80GB"]),
    (["shifty-ent", "data", "asset", "list", "-c", "p"], ["public", "pii", "phi"]),
    (
        ["shifty-ent", "user", "add", "bob", "--role", ""],
        ["admin", "operator", "labeler", "auditor"],
    ),
    (["shifty-ent", "report", "compliance", "--format", "h"], ["html"]),
    (["shifty-ent", "arcade", "leaderboard", "--type", "xp"], ["xp_all_time", "xp_weekly"]),
    (["shifty-ent", "completion", ""], ["bash", "fish", "values", "zsh", "--help"]),
]


@needs_bash
@pytest.mark.parametrize(("words", "expected"), STATIC, ids=lambda v: " ".join(v[1:]))
def test_static_values_complete_without_starting_a_process(tmp_path, words, expected):
    """Repro: ``--type <TAB>`` inserted ``--``, ``-o <TAB>`` offered commands; the values come
    now from the script itself: the only PATH entries are logging shims, and none runs."""
    log = tmp_path / "started.log"
    shims = _shims(tmp_path / "bin", log)
    got, stderr = complete(words, cwd=tmp_path, path=str(shims))
    assert got == expected
    assert stderr == ""
    assert not log.exists(), log.read_text()


@needs_bash
def test_the_process_count_is_not_vacuous(tmp_path):
    """A tenant completion does start ``shifty-ent``: the shim log sees it."""
    log = tmp_path / "started.log"
    shims = _shims(tmp_path / "bin", log)
    complete(["shifty-ent", "--db", "sqlite:///x.db", "-t", ""], cwd=tmp_path, path=str(shims))
    assert log.read_text().split() == [
        "shifty-ent",
        "--db",
        "sqlite:///x.db",
        "completion",
        "values",
        "tenant",
    ]


@needs_bash
@pytest.mark.parametrize(
    "words",
    [
        ["shifty-ent", "data", "export", "--out", ""],
        ["shifty-ent", "report", "costs", "--out", ""],
        ["shifty-ent", "report", "verify", ""],
        ["shifty-ent", "data", "asset", "ingest", ""],
    ],
    ids=lambda w: " ".join(w[1:-1]),
)
def test_path_values_complete_file_names(tmp_path, words):
    """Repro: ``--out <TAB>`` offered ``-`` (the option list) instead of files."""
    (tmp_path / "report.md").write_text("x")
    (tmp_path / "exports").mkdir()
    shims = _shims(tmp_path / "bin", tmp_path / "started.log")
    got, _ = complete(words, cwd=tmp_path, path=str(shims))
    assert {"report.md", "exports"} <= set(got)
    assert not any(g.startswith("-") for g in got)


@needs_bash
def test_options_and_commands_still_complete(tmp_path):
    shims = _shims(tmp_path / "bin", tmp_path / "started.log")
    got, _ = complete(["shifty-ent", "--db", "x", "tenant", ""], cwd=tmp_path, path=str(shims))
    assert got == ["create", "list", "root", "show", "--help"]
    got, _ = complete(
        ["shifty-ent", "data", "delete", "request", "--me"], cwd=tmp_path, path=str(shims)
    )
    assert got == ["--method"]


@needs_bash
@pytest.mark.slow
def test_tenants_and_users_come_from_the_store(tmp_path, cli, tenant, db_url):
    """``-t <TAB>`` lists the acting user's tenants and ``user remove <TAB>`` the tenant's
    users, read from the store named on the line (one Python start each)."""
    cli.ok("tenant", "create", "beta")
    log = tmp_path / "started.log"
    shims = _shims(tmp_path / "bin", log, real=True)
    path = f"{shims}{os.pathsep}{os.environ['PATH']}"
    env = {"SHIFTY_HOME": os.environ["SHIFTY_HOME"], "SHIFTY_IDENTITY": "declared"}
    got, _ = complete(
        ["shifty-ent", "--db", db_url, "--as", "alice", "user", "list", "-t", ""],
        cwd=tmp_path,
        path=path,
        env=env,
    )
    assert got == ["acme", "beta"]
    got, _ = complete(
        ["shifty-ent", "--db", db_url, "--as", "alice", "-t", "acme", "user", "remove", "l"],
        cwd=tmp_path,
        path=path,
        env=env,
    )
    assert got == ["lars"]
    assert len(log.read_text().splitlines()) == 2
    got, _ = complete(
        ["shifty-ent", "--db", db_url, "-t", "acme", "user", "remove", "lars", ""],
        cwd=tmp_path,
        path=path,
        env=env,
    )
    assert got == ["--help", "--yes", "-y"]  # USER is given: its options remain, no store read
    assert len(log.read_text().splitlines()) == 2


def test_completion_values_never_creates_a_store(tmp_path):
    """Completing on a machine without a store prints nothing and creates none."""
    from shifty_ent.cli import app

    db = tmp_path / "none.db"
    res = CliRunner().invoke(app, ["--db", f"sqlite:///{db}", "completion", "values", "tenant"])
    assert res.exit_code == 0 and res.stdout == ""
    assert not db.exists()


@pytest.mark.parametrize("shell", ["bash", "zsh", "fish"])
def test_completion_command_prints_the_checked_in_script(shell):
    """``shifty-ent completion SHELL`` gives wheel users the same script as completions/."""
    from shifty_ent.cli import app
    from shifty_ent.devtools.completions import SHELLS

    res = CliRunner().invoke(app, ["completion", shell])
    assert res.exit_code == 0, res.output
    assert res.stdout == (ROOT / "completions" / SHELLS[shell]).read_text()
    assert res.stdout == script_for(shell)


def test_fish_script_completes_values_files_and_store_names():
    """fish is not installed everywhere: the script text is checked (and run below if it is)."""
    text = SCRIPTS["shifty-ent.fish"]()
    assert "complete -c shifty-ent -s o -x -a 'table json jsonl csv'" in text
    assert "complete -c shifty-ent -l output -x -a 'table json jsonl csv'" in text
    assert (
        "complete -c shifty-ent -n 'test (__shifty_ent_path) = \"data delete request\"' "
        "-l method -x -a 'standard secure_overwrite cryptographic_erase dod_5220 nist_800_88'"
    ) in text
    assert (
        "complete -c shifty-ent -n 'test (__shifty_ent_path) = \"data export\"' -l out -r -F"
        in (text)
    )
    assert "complete -c shifty-ent -l tenant -x -a '(__shifty_ent_store tenant)'" in text
    assert "command shifty-ent $ctx completion values $argv[1]" in text


@pytest.mark.skipif(shutil.which("fish") is None, reason="fish is not installed")
def test_fish_completes_a_method(tmp_path):
    script = ROOT / "completions" / "shifty-ent.fish"
    out = subprocess.run(
        [
            "fish",
            "--no-config",
            "-c",
            f"source {script}; complete -C 'shifty-ent data delete request --method '",
        ],
        capture_output=True,
        text=True,
        check=True,
    )
    offered = {line.split("\t")[0] for line in out.stdout.splitlines()}
    assert offered == {
        "standard",
        "secure_overwrite",
        "cryptographic_erase",
        "dod_5220",
        "nist_800_88",
    }


def test_zsh_script_is_the_bash_table_through_bashcompinit():
    text = SCRIPTS["_shifty-ent"]()
    assert text.startswith("#compdef shifty-ent\n")
    assert "autoload -U +X bashcompinit && bashcompinit" in text
    assert SCRIPTS["shifty-ent.bash"]() in text


@pytest.mark.skipif(shutil.which("zsh") is None, reason="zsh is not installed")
def test_zsh_loads_the_script():
    script = ROOT / "completions" / "_shifty-ent"
    subprocess.run(
        ["zsh", "-f", "-c", f"autoload -U compinit; compinit -u; source {script}"],
        check=True,
        capture_output=True,
    )
