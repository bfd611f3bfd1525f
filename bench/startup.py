"""Startup cost of the CLI, measured against named peers in the same run.

1. ``shifty-ent --help`` against ``hf --help`` (huggingface_hub's CLI, installed as our
   dependency): target ratio <= 0.4.
2. ``shifty-ent --json tenant list`` on an embedded SQLite store against
   ``python -c "import sqlmodel"``: the floor a database command cannot go under.
3. SQL statements (round trips) per command, counted in-process, on SQLite and, when
   ``SHIFTY_TEST_POSTGRES_URL`` names a server, on a scratch PostgreSQL database: knowing who acts
   (the identity mode and ``session_user``) must not add a round trip.

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
        env = {**os.environ, "SHIFTY_HOME": home, "NO_COLOR": "1"}
        for key in ("SHIFTY_DATABASE_URL", "DATABASE_URL", "SHIFTY_TENANT", "SHIFTY_USER"):
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
        statements(Path(home) / "state.db")


COMMANDS = (("tenant", "list"), ("-t", "bench", "user", "list"))


def _count(url: str, argv: tuple[str, ...]) -> int:
    """Statements one in-process command sends to the store (its engine is already warm)."""
    from sqlalchemy import event
    from sqlalchemy.engine import Engine
    from typer.main import get_command

    from shifty_ent.cli import app

    seen: list[str] = []

    def count(_conn: object, _cur: object, statement: str, *_: object) -> None:
        seen.append(statement)

    import contextlib
    import io

    command = get_command(app)
    args = ["--db", url, "-o", "json", *argv]
    with contextlib.redirect_stdout(io.StringIO()):
        command.main(args=args, prog_name="shifty-ent", standalone_mode=False)  # warm
        event.listen(Engine, "before_cursor_execute", count)
        try:
            command.main(args=args, prog_name="shifty-ent", standalone_mode=False)
        finally:
            event.remove(Engine, "before_cursor_execute", count)
    return len(seen)


def statements(sqlite_file: Path) -> None:
    urls = {"sqlite": f"sqlite:///{sqlite_file}"}
    pg = os.environ.get("SHIFTY_TEST_POSTGRES_URL")
    scratch = None
    if pg:
        import uuid

        import psycopg

        from shifty_ent.core import store

        scratch = f"shifty_bench_{uuid.uuid4().hex[:8]}"
        plain = store.normalize_url(pg).replace("postgresql+psycopg://", "postgresql://")
        with psycopg.connect(plain, autocommit=True) as conn:
            conn.execute(f'CREATE DATABASE "{scratch}"')
        base = pg.rsplit("/", 1)[0]
        urls["postgresql"] = f"{base}/{scratch}"
        import contextlib
        import io

        from typer.main import get_command

        from shifty_ent.cli import app

        for argv in (("init",), ("tenant", "create", "bench")):
            with contextlib.redirect_stdout(io.StringIO()):
                get_command(app).main(
                    args=["--db", urls["postgresql"], "-o", "json", *argv],
                    prog_name="shifty-ent",
                    standalone_mode=False,
                )
    try:
        for name, url in urls.items():
            for argv in COMMANDS:
                label = " ".join(argv)
                print(f"statements {name:10} {label:22} {_count(url, argv)}")
    finally:
        if scratch:
            from shifty_ent.core import store

            store.get_engine.cache_clear()
            with psycopg.connect(plain, autocommit=True) as conn:
                conn.execute(f'DROP DATABASE IF EXISTS "{scratch}" WITH (FORCE)')


if __name__ == "__main__":
    main()
