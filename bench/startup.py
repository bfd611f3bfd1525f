"""Startup cost of the CLI, measured against named peers in the same run.

1. ``shifty-ent --help`` against ``hf --help`` (huggingface_hub's CLI, installed as our
   dependency): target ratio <= 0.4.
2. ``shifty-ent --json tenant list`` on an embedded SQLite store against
   ``python -c "import sqlmodel"``: the floor a database command cannot go under.

Runs are interleaved (A, B, A, B, ...) so machine noise hits both sides alike; medians are
compared. Usage: python bench/startup.py [--runs N]
"""

from __future__ import annotations

import argparse
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path


def _exe(name: str) -> str:
    local = Path(sys.executable).with_name(name)
    found = str(local) if local.exists() else shutil.which(name)
    if not found:
        sys.exit(f"{name} is not installed next to {sys.executable}")
    return found


def _time(cmd: list[str], env: dict[str, str]) -> float:
    start = time.perf_counter()
    subprocess.run(cmd, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, check=True)
    return time.perf_counter() - start


def paired(a: list[str], b: list[str], runs: int, env: dict[str, str]) -> tuple[float, float]:
    _time(a, env), _time(b, env)  # warm the page cache and .pyc files
    ta, tb = [], []
    for _ in range(runs):
        ta.append(_time(a, env))
        tb.append(_time(b, env))
    return statistics.median(ta), statistics.median(tb)


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--runs", type=int, default=15)
    args = parser.parse_args()
    shifty, hf = _exe("shifty-ent"), _exe("hf")
    with tempfile.TemporaryDirectory() as home:
        env = {**os.environ, "SHIFTY_HOME": home, "SHIFTY_USER": "bench", "NO_COLOR": "1"}
        for key in ("SHIFTY_DATABASE_URL", "DATABASE_URL", "SHIFTY_TENANT"):
            env.pop(key, None)
        subprocess.run(
            [shifty, "--json", "tenant", "create", "bench"],
            env=env,
            check=True,
            stdout=subprocess.DEVNULL,
        )
        ours, peer = paired([shifty, "--help"], [hf, "--help"], args.runs, env)
        print(f"shifty-ent --help      median {ours * 1000:7.1f} ms")
        print(f"hf --help              median {peer * 1000:7.1f} ms")
        print(f"ratio shifty-ent/hf    {ours / peer:.2f}   (target <= 0.40)")
        listing, floor = paired(
            [shifty, "--json", "tenant", "list"],
            [sys.executable, "-c", "import sqlmodel"],
            args.runs,
            env,
        )
        print(f"tenant list --json     median {listing * 1000:7.1f} ms")
        print(f"import sqlmodel        median {floor * 1000:7.1f} ms")
        print(f"ratio list/import      {listing / floor:.2f}   (the floor is 1.00)")


if __name__ == "__main__":
    main()
