"""A busy SQLite store: the wait is announced after 2 s and ends as exit 5 "store busy".

Reproduction on main (issue 17): with another process holding ``BEGIN IMMEDIATE`` on the store,
``shifty-ent tenant create x`` waited 30 s in silence and ended with exit 6 "cannot connect to
database ...: database is locked".
"""

from __future__ import annotations

import sqlite3
import threading
import time
from pathlib import Path
from typing import Any


def _hold(path: Path) -> sqlite3.Connection:
    holder = sqlite3.connect(path, isolation_level=None, check_same_thread=False)
    holder.execute("BEGIN IMMEDIATE")
    return holder


def test_busy_store_ends_as_exit_5(cli: Any, sqlite_file: Path) -> None:
    cli.ok("tenant", "create", "acme")
    holder = _hold(sqlite_file)
    try:
        started = time.monotonic()
        res = cli("tenant", "create", "other", env={"SHIFTY_BUSY_TIMEOUT": "0.5"})
        assert time.monotonic() - started < 10
    finally:
        holder.rollback()
        holder.close()
    assert res.exit_code == 5, (res.stdout, res.stderr)
    assert len(res.stderr.strip().splitlines()) == 1, res.stderr
    assert "store busy" in res.error["message"]
    names = [t["name"] for t in cli.ok("tenant", "list")]
    assert "other" not in names


def test_wait_announced_then_exit_5(cli: Any, sqlite_file: Path) -> None:
    cli.ok("tenant", "create", "acme")
    holder = _hold(sqlite_file)
    try:
        res = cli("tenant", "create", "other", env={"SHIFTY_BUSY_TIMEOUT": "2.5"})
    finally:
        holder.rollback()
        holder.close()
    assert res.exit_code == 5, (res.stdout, res.stderr)
    lines = res.stderr.strip().splitlines()
    assert "store busy, waiting up to 2.5 s" in lines[0] and "store busy" in lines[-1]


def test_lock_released_while_waiting(cli: Any, sqlite_file: Path) -> None:
    cli.ok("tenant", "create", "acme")
    holder = _hold(sqlite_file)
    release = threading.Timer(0.5, holder.rollback)
    release.start()
    try:
        created = cli.ok("tenant", "create", "other", env={"SHIFTY_BUSY_TIMEOUT": "20"})
    finally:
        release.join()
        holder.close()
    assert created["name"] == "other"


def test_bad_busy_timeout_refused(cli: Any, sqlite_file: Path) -> None:
    res = cli("tenant", "list", env={"SHIFTY_BUSY_TIMEOUT": "forever"})
    assert res.exit_code == 2 and "SHIFTY_BUSY_TIMEOUT" in res.error["message"]
