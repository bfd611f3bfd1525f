"""Commands that only read open an embedded store read-only.

Reproduction on main (issue 17): with another process holding the SQLite write lock,
``shifty-ent tenant list`` waited for it and ended as exit 5 "store busy"; with the store on a
read-only file system, ``tenant list`` failed with exit 6 ("attempt to write a readonly database"
while taking the write lock).
"""

from __future__ import annotations

import os
import shutil
import sqlite3
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from shifty_ent.core import store


def _register(cli: Any, name: str, classification: str) -> None:
    """An S3 asset of acme: a row to list, with nothing on this host's disk."""
    cli.ok(
        "data", "asset", "register", name, "--type", "file", "-c", classification,
        "--location", f"s3://b/{name}", "--size", "1024", tenant="acme",
    )  # fmt: skip


def test_readers_do_not_wait_for_a_writer(cli: Any, sqlite_file: Path) -> None:
    cli.ok("tenant", "create", "acme")
    _register(cli, "notes", "internal")
    holder = sqlite3.connect(sqlite_file, isolation_level=None, check_same_thread=False)
    holder.execute("BEGIN IMMEDIATE")
    holder.execute("UPDATE tenants SET name = name")
    try:
        started = time.monotonic()
        env = {"SHIFTY_BUSY_TIMEOUT": "3"}
        tenants = cli("tenant", "list", env=env)
        assets = cli("data", "asset", "list", env=env, tenant="acme")
        took = time.monotonic() - started
        # a writer still waits for the lock, and says so
        writer = cli("tenant", "create", "other", env={"SHIFTY_BUSY_TIMEOUT": "0.3"})
    finally:
        holder.rollback()
        holder.close()
    assert tenants.exit_code == 0, tenants.stderr
    assert [t["name"] for t in tenants.json] == ["acme"]
    assert assets.exit_code == 0, assets.stderr
    assert [a["name"] for a in assets.json] == ["notes"]
    assert took < 2.5, f"readers waited {took:.1f} s for the write lock"
    assert "store busy" not in tenants.stderr + assets.stderr
    assert writer.exit_code == 5, writer.stderr


def test_a_reader_cannot_write(sqlite_file: Path) -> None:
    """The read-only engine refuses writes itself: a command filed as a reader by mistake fails
    loudly instead of taking the lock."""
    engine = store.get_reader(f"sqlite:///{sqlite_file}")
    assert engine is not None
    with (
        engine.connect() as conn,
        pytest.raises(Exception, match=r"readonly|read-only|query_only|attempt to write"),
    ):
        conn.exec_driver_sql("UPDATE tenants SET name = name")


@pytest.fixture
def read_only_mount(tmp_path: Path) -> Iterator[Path]:
    if os.geteuid() != 0 or shutil.which("mount") is None:
        pytest.skip("mounting a read-only file system needs root (CI runs as root)")
    mnt = tmp_path / "ro"
    mnt.mkdir()
    done = subprocess.run(
        ["mount", "-t", "tmpfs", "-o", "size=64m", "tmpfs", str(mnt)], capture_output=True
    )
    if done.returncode != 0:
        pytest.skip(f"cannot mount tmpfs here: {done.stderr.decode().strip()}")
    try:
        yield mnt
    finally:
        subprocess.run(["umount", "-l", str(mnt)], check=False)


def test_read_commands_work_on_a_read_only_file_system(
    cli: Any, sqlite_file: Path, read_only_mount: Path
) -> None:
    cli.ok("tenant", "create", "acme")
    _register(cli, "notes", "internal")
    _register(cli, "ledger", "pii")
    store.get_engine.cache_clear()
    copy = read_only_mount / "state.db"
    src, dst = sqlite3.connect(sqlite_file), sqlite3.connect(copy)
    src.backup(dst)
    src.close()
    dst.close()
    subprocess.run(["mount", "-o", "remount,ro", str(read_only_mount)], check=True)
    url = f"sqlite:///{copy}"
    ro = type(cli)(url)
    tenants = ro("tenant", "list")
    assert tenants.exit_code == 0, tenants.stderr
    assert [t["name"] for t in tenants.json] == ["acme"]
    shown = ro("data", "asset", "list", "--classification", "internal", tenant="acme")
    assert shown.exit_code == 0, shown.stderr
    assert [a["name"] for a in shown.json] == ["notes"]
    # reading a classified record must be audited: impossible here, so refused, in one line
    for argv in (("data", "asset", "show", "ledger"), ("data", "asset", "list")):
        secret = ro(*argv, tenant="acme")
        assert secret.exit_code == 4, secret.stderr
        assert "read-only file system" in secret.error["message"]
    # a write is one clear line, not a traceback
    refused = ro("tenant", "create", "other")
    assert refused.exit_code not in (0, 1), refused.stderr
    assert len(refused.stderr.strip().splitlines()) == 1, refused.stderr
    assert "Traceback" not in refused.stderr
