"""The README's first steps run as written on a fresh machine."""

from __future__ import annotations

import re
from pathlib import Path

from tests.shell import base_env, command_dir, run_bash

README = Path(__file__).resolve().parents[1] / "README.md"


def first_steps() -> str:
    """The shell block under "## First steps", as printed in the README."""
    text = README.read_text()
    section = text.split("\n## First steps\n", 1)[1].split("\n## ", 1)[0]
    match = re.search(r"```bash\n(.*?)```", section, re.S)
    assert match, "the First steps section has no bash block"
    return match.group(1)


def test_readme_first_steps_run_as_written(tmp_path: Path) -> None:
    """The steps, in a new HOME with nothing configured. On main ``tenant create --data-root
    DIR`` needed DIR to exist already (``/srv/acme`` in the README failed with exit 2); a missing
    root is now created with mode 0700, and every line of the block exits 0."""
    home = tmp_path / "home"
    home.mkdir()
    env = base_env(home, command_dir(tmp_path))
    steps = first_steps()
    assert "shifty-ent init" in steps and "--data-root" in steps
    done = run_bash(steps, cwd=home, env=env)
    assert done.returncode == 0, f"stdout:\n{done.stdout}\nstderr:\n{done.stderr}"
    roots = re.findall(r"--data-root\s+(\S+)", steps)
    for raw in roots:
        path = Path(raw.replace("~", str(home), 1))
        assert path.is_dir() and (path.stat().st_mode & 0o777) == 0o700


def test_data_root_is_created_when_missing(tmp_path: Path) -> None:
    """On main ``tenant create acme --data-root ~/acme-data`` without a ``mkdir`` first failed
    with "data root ... is not an existing directory" (exit 2)."""
    home = tmp_path / "home"
    home.mkdir()
    env = base_env(home, command_dir(tmp_path))
    done = run_bash(
        "shifty-ent init >/dev/null\n"
        "shifty-ent -o json tenant create acme --data-root ~/data/acme\n",
        cwd=home,
        env=env,
    )
    assert done.returncode == 0, done.stderr
    created = home / "data" / "acme"
    assert created.is_dir() and (created.stat().st_mode & 0o777) == 0o700
    assert f"created the data root directory {created} (mode 0700)" in done.stderr
    # a path through a symbolic link is still refused, and nothing is created behind it
    (home / "link").symlink_to(home / "data")
    done = run_bash("shifty-ent tenant create other --data-root ~/link/other", cwd=home, env=env)
    assert done.returncode == 2 and "symbolic link" in done.stderr
    assert not (home / "data" / "other").exists()
