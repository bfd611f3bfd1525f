"""Input files: anything not a regular file is refused before it is opened, reads are bounded.

Reproduction on main (issue 17): ``mkfifo f; shifty-ent data asset ingest f --name x
--classification phi`` blocked forever in ``open()``; ``arcade mission create --payload
@/dev/zero`` read until memory ran out; a 2 GiB sparse ``missions.jsonl`` was read whole.
"""

from __future__ import annotations

import os
import signal
import socket
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from shifty_ent.core import infiles


@pytest.fixture(autouse=True)
def no_hang() -> Iterator[None]:
    """A hang fails the test instead of blocking the run."""

    def _fail(*_: Any) -> None:
        raise TimeoutError("the command blocked on its input")

    old = signal.signal(signal.SIGALRM, _fail)
    signal.alarm(20)
    yield
    signal.alarm(0)
    signal.signal(signal.SIGALRM, old)


@pytest.fixture
def fifo(root: Path) -> Path:
    path = root / "pipe"
    os.mkfifo(path)
    return path


def _refused(res: Any, needle: str = "not a regular file") -> None:
    assert res.exit_code == 2, (res.exit_code, res.stdout, res.stderr)
    assert not isinstance(res.exception, TimeoutError)
    assert len(res.stderr.strip().splitlines()) == 1, res.stderr
    assert needle in res.error["message"], res.error


def _commands(path: str) -> list[tuple[str, ...]]:
    return [
        ("data", "asset", "ingest", path, "--name", "x", "--classification", "phi"),
        ("data", "asset", "register", "x", "--type", "d", "--classification", "phi",
         "--location", path),
        ("arcade", "mission", "import", path),
        ("arcade", "mission", "create", "--type", "label_test_output", "--payload", f"@{path}"),
    ]  # fmt: skip


def test_fifo_refused_everywhere(cli: Any, tenant: Any, fifo: Path) -> None:
    for argv in _commands(str(fifo)):
        _refused(cli(*argv, user="olga", tenant="acme"))
    for argv in (("data", "certificate", "verify", str(fifo)), ("report", "verify", str(fifo))):
        _refused(cli(*argv, user=None))
    assert cli.ok("data", "asset", "list", user="olga", tenant="acme") == []


def test_socket_and_devices_refused(cli: Any, tenant: Any, root: Path) -> None:
    sock_path = root / "sock"
    sock = socket.socket(socket.AF_UNIX)
    sock.bind(str(sock_path))
    try:
        for path in (str(sock_path), "/dev/zero", "/dev/null"):
            for argv in _commands(path):
                _refused(cli(*argv, user="olga", tenant="acme"))
    finally:
        sock.close()


def test_large_sparse_inputs_refused_quickly(cli: Any, tenant: Any, tmp_path: Path) -> None:
    big = tmp_path / "big.jsonl"
    with open(big, "wb") as fh:
        fh.truncate(2 * 1024**3)  # sparse: takes no disk
    for argv in (
        ("arcade", "mission", "import", str(big)),
        ("arcade", "mission", "create", "--type", "label_test_output", "--payload", f"@{big}"),
    ):
        _refused(cli(*argv, user="olga", tenant="acme"), "larger than")
    _refused(cli("data", "certificate", "verify", str(big), user=None), "larger than")


def test_read_bounded_stops_past_the_limit(tmp_path: Path) -> None:
    path = tmp_path / "f"
    path.write_bytes(b"x" * 10)
    assert infiles.read_bounded(path, "f", 10) == b"x" * 10
    with pytest.raises(infiles.InvalidInput, match="larger than"):
        infiles.read_bounded(path, "f", 9)
    with pytest.raises(FileNotFoundError):
        infiles.read_bounded(tmp_path / "missing", "f", 9)
