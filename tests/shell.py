"""Run shell lines as a person types them, with ``shifty-ent`` on PATH (this checkout's code)."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

SRC = Path(__file__).resolve().parents[1] / "src"


def command_dir(where: Path) -> Path:
    """A directory holding a ``shifty-ent`` that runs this interpreter on this checkout."""
    bin_dir = where / "bin"
    bin_dir.mkdir(parents=True, exist_ok=True)
    script = bin_dir / "shifty-ent"
    script.write_text(f'#!/bin/sh\nPYTHONPATH={SRC} exec {sys.executable} -m shifty_ent "$@"\n')
    script.chmod(0o755)
    return bin_dir


def run_bash(
    script: str, *, cwd: Path, env: dict[str, str], timeout: int = 300
) -> subprocess.CompletedProcess[str]:
    """``bash -e -u -o pipefail`` on ``script``; ``env`` is the whole environment."""
    return subprocess.run(
        ["bash", "-euo", "pipefail", "-c", script],
        cwd=cwd,
        env=env,
        capture_output=True,
        text=True,
        timeout=timeout,
    )


def base_env(home: Path, bin_dir: Path) -> dict[str, str]:
    """A fresh account's environment: its own HOME, no shifty settings, the command on PATH."""
    return {
        "HOME": str(home),
        "PATH": f"{bin_dir}{os.pathsep}/usr/local/bin:/usr/bin:/bin",
        "LANG": "C.UTF-8",
        "NO_COLOR": "1",
    }
