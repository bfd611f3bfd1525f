"""Progress on stderr whenever stderr is a terminal, even with stdout piped; silent otherwise.

The commands run in a child process whose stderr is a pseudo-terminal and whose stdout is a
pipe, as when a person runs ``shifty-ent ... | jq`` in a terminal.
"""

from __future__ import annotations

import fcntl
import os
import struct
import subprocess
import sys
import termios
import threading
from pathlib import Path
from typing import Any

import pytest

from tests.data.conftest import make_file

MiB = 1024 * 1024


def _run(
    db_url: str, *args: str, tty: bool, env: dict[str, str] | None = None
) -> tuple[int, str, str]:
    """Run the CLI; stderr on a pseudo-terminal when ``tty``. Returns (exit, stdout, stderr)."""
    cmd = [sys.executable, "-m", "shifty_ent", "--db", db_url, "--as", "olga", "-t", "acme"]
    full_env = {**os.environ, **(env or {})}
    if not tty:
        done = subprocess.run(
            [*cmd, *args], env=full_env, capture_output=True, text=True, timeout=120
        )
        return done.returncode, done.stdout, done.stderr
    master, slave = os.openpty()
    fcntl.ioctl(slave, termios.TIOCSWINSZ, struct.pack("HHHH", 40, 160, 0, 0))
    proc = subprocess.Popen(
        [*cmd, *args],
        env=full_env,
        stdin=subprocess.DEVNULL,
        stdout=subprocess.PIPE,
        stderr=slave,
    )
    os.close(slave)
    chunks: list[bytes] = []

    def drain() -> None:
        while True:
            try:
                data = os.read(master, 65536)
            except OSError:  # EIO: the child closed the terminal
                return
            if not data:
                return
            chunks.append(data)

    reader = threading.Thread(target=drain, daemon=True)
    reader.start()
    out, _ = proc.communicate(timeout=120)
    reader.join(timeout=10)
    os.close(master)
    return proc.returncode, out.decode(), b"".join(chunks).decode(errors="replace")


def _approved_job(cli: Any, asset_id: str, method: str) -> str:
    job = cli.ok(
        "data", "delete", "request", asset_id, "--method", method, "--reason", "r",
        user="olga", tenant="acme",
    )  # fmt: skip
    cli.ok("data", "delete", "approve", job["id"], user="alice", tenant="acme")
    return str(job["id"])


@pytest.fixture
def sqlite_only(backend: str) -> None:
    if backend != "sqlite":
        pytest.skip("what a terminal shows does not depend on the store")


def test_erase_shows_total_pass_and_eta_on_a_terminal_with_stdout_piped(
    sqlite_only: None, cli: Any, db_url: str, tenant: Any, root: Path, register: Any
) -> None:
    """On main, ``data delete execute J | cat`` with a dod_5220 job on an 8 MiB file showed
    nothing (the bar went to stdout's console, which is a pipe); on a terminal it showed
    ``7.3/? GB``-style counts with no total and no pass number."""
    f = make_file(root / "big.bin", 8 * MiB)
    asset = register("big", f)
    job = _approved_job(cli, asset["id"], "dod_5220")
    code, out, err = _run(db_url, "-o", "json", "data", "delete", "execute", job, "--yes", tty=True)
    assert code == 0, err
    assert '"completed"' in out and "\r" not in out  # stdout stays clean JSON
    assert "pass 3/7" in err and "pass 7/7" in err
    assert "/56.0 MiB" in err  # 8 MiB x 7 passes: the total is known from the start
    assert "ETA 0:" in err and ("MiB/s" in err or "GiB/s" in err)
    assert "/?" not in err


def test_erase_is_silent_when_stderr_is_not_a_terminal_or_quiet(
    sqlite_only: None, cli: Any, db_url: str, tenant: Any, root: Path, register: Any
) -> None:
    """Piped stderr (cron, CI) and ``--quiet`` get no progress text at all."""
    first = register("a", make_file(root / "a.bin", 2 * MiB))
    second = register("b", make_file(root / "b.bin", 2 * MiB))
    job = _approved_job(cli, first["id"], "secure_overwrite")
    code, _, err = _run(db_url, "-o", "json", "data", "delete", "execute", job, "--yes", tty=False)
    assert code == 0 and "pass" not in err and "ETA" not in err
    job = _approved_job(cli, second["id"], "secure_overwrite")
    code, _, err = _run(
        db_url, "-q", "-o", "json", "data", "delete", "execute", job, "--yes", tty=True
    )
    assert code == 0 and "pass" not in err and "ETA" not in err


def test_sweep_shows_each_asset_it_erases(
    sqlite_only: None, cli: Any, db_url: str, tenant: Any, root: Path, register: Any
) -> None:
    """On main ``data sweep`` printed no progress at all; now each asset it erases gets a
    numbered line with its pass count and total."""
    cli.ok(
        "data", "policy", "create", "short", "-c", "internal", "--retention-days", "1",
        "--auto-delete", "--method", "secure_overwrite", user="olga", tenant="acme",
    )  # fmt: skip
    for name in ("one", "two"):
        register(name, make_file(root / f"{name}.bin", MiB), "internal", "--policy", "short")
    later = {"SHIFTY_NOW": "2099-01-01T00:00:00+00:00"}
    code, out, err = _run(db_url, "-o", "json", "data", "sweep", tty=True, env=later)
    assert code == 0, err
    assert "[1/2] asset one" in err and "[2/2] asset two" in err
    assert "pass 3/3" in err and "/3.0 MiB" in err
    assert '"deleted"' in out
