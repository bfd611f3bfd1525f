"""Output files: refused unless absent or (with --force) a regular file; written 0600 by rename.

Reproduction on main: ``report compliance --out /dev/null`` replaced the device node with a
regular file (``tmp.replace(path)``), ``--out`` through a symlink clobbered the link's target's
name, a FIFO target hung (``O_TRUNC`` open of a FIFO without a reader), an existing report was
silently overwritten, and ``config.toml`` was written with the umask's mode (0644 under umask 022).
"""

from __future__ import annotations

import contextlib
import os
import signal
import stat
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from shifty_ent.core import outfiles
from shifty_ent.core.errors import Conflict, InvalidInput


@contextlib.contextmanager
def umask(mask: int) -> Iterator[None]:
    old = os.umask(mask)
    try:
        yield
    finally:
        os.umask(old)


@contextlib.contextmanager
def no_hang(seconds: int = 20) -> Iterator[None]:
    """Turn a hang (a FIFO opened for writing with no reader) into a failure."""

    def _alarm(*_: Any) -> None:
        raise AssertionError("command hung")

    old = signal.signal(signal.SIGALRM, _alarm)
    signal.alarm(seconds)
    try:
        yield
    finally:
        signal.alarm(0)
        signal.signal(signal.SIGALRM, old)


def fingerprint(path: str | Path) -> tuple[int, int, int, int]:
    st = os.lstat(path)
    return (st.st_mode, st.st_ino, st.st_rdev, st.st_size)


# ---------------------------------------------------------------- the helper


def test_writes_0600_whatever_the_umask(tmp_path: Path) -> None:
    tmp_path = tmp_path / "w"
    tmp_path.mkdir()
    with umask(0):
        path = outfiles.write_file(tmp_path / "a.txt", b"hello")
    assert path.read_bytes() == b"hello"
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert [p.name for p in tmp_path.iterdir()] == ["a.txt"]  # no temporary file left


def test_private_dir_0700_for_created_dirs_only(tmp_path: Path) -> None:
    os.chmod(tmp_path, 0o755)
    with umask(0):
        outfiles.private_dir(tmp_path / "a" / "b")
    assert stat.S_IMODE((tmp_path / "a").stat().st_mode) == 0o700
    assert stat.S_IMODE((tmp_path / "a" / "b").stat().st_mode) == 0o700
    assert stat.S_IMODE(tmp_path.stat().st_mode) == 0o755  # existing: not ours to tighten


def test_existing_file_needs_force(tmp_path: Path) -> None:
    target = tmp_path / "r.md"
    target.write_bytes(b"old")
    with pytest.raises(Conflict, match="--force"):
        outfiles.write_file(target, b"new")
    assert target.read_bytes() == b"old"
    outfiles.write_file(target, b"new", force=True)
    assert target.read_bytes() == b"new"
    assert stat.S_IMODE(target.stat().st_mode) == 0o600


@pytest.mark.parametrize("force", [False, True])
def test_refuses_non_regular_targets(tmp_path: Path, force: bool) -> None:
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    victim = elsewhere / "victim"
    victim.write_bytes(b"precious")
    link = tmp_path / "link"
    link.symlink_to(victim)
    fifo = tmp_path / "fifo"
    os.mkfifo(fifo)
    folder = tmp_path / "dir"
    folder.mkdir()
    before = {p: fingerprint(p) for p in ("/dev/null", link, fifo, folder, victim)}
    with no_hang():
        for target in ("/dev/null", link, fifo, folder):
            with pytest.raises(InvalidInput, match=r"regular file|directory"):
                outfiles.write_file(Path(target), b"x", force=force)
    assert {p: fingerprint(p) for p in before} == before
    assert victim.read_bytes() == b"precious"


def test_bad_parents_and_names(tmp_path: Path) -> None:
    plain = tmp_path / "plain"
    plain.write_bytes(b"")
    with pytest.raises(InvalidInput, match="not a directory"):
        outfiles.write_file(plain / "x", b"")
    with pytest.raises(InvalidInput, match="does not exist"):
        outfiles.write_file(tmp_path / "missing" / "x", b"")
    with pytest.raises(InvalidInput, match="longer than 255"):
        outfiles.write_file(tmp_path / ("n" * 300), b"")
    with pytest.raises(InvalidInput, match="directory"):
        outfiles.write_file(Path(str(tmp_path) + "/"), b"")


def test_failed_write_leaves_nothing(tmp_path: Path) -> None:
    tmp_path = tmp_path / "w"
    tmp_path.mkdir()
    with pytest.raises(RuntimeError), outfiles.open_output(tmp_path / "r") as fh:
        fh.write(b"half")
        raise RuntimeError("boom")
    assert list(tmp_path.iterdir()) == []


def test_config_and_trust_files_are_0600(tmp_path: Path) -> None:
    from shifty_ent.core import config, trust

    with umask(0):
        settings = config.load_settings({})
        assert config.write_default_config(settings)
        assert stat.S_IMODE(settings.config_file.stat().st_mode) == 0o600
        trust._write(trust.trust_path(settings), {})
        assert stat.S_IMODE(trust.trust_path(settings).stat().st_mode) == 0o600


# ---------------------------------------------------------------- the commands


def one_line(res: Any) -> str:
    lines = res.stderr.strip().splitlines()
    assert len(lines) == 1, res.stderr
    return lines[0]


def report(cli: Any, out: str | Path, *extra: str) -> Any:
    args = ["report", "compliance", "--type", "access_audit", "--out", str(out), *extra]
    return cli(*args, user="audrey", tenant="acme", fmt=None)


def test_report_out_refuses_device_symlink_fifo(
    cli: Any, tenant: Any, tmp_path: Path, tmp_path_factory: pytest.TempPathFactory
) -> None:
    victim = tmp_path_factory.mktemp("outside") / "passwd"
    victim.write_bytes(b"root:x:0:0\n")
    link = tmp_path / "report.md"
    link.symlink_to(victim)
    fifo = tmp_path / "fifo.md"
    os.mkfifo(fifo)
    before = {p: fingerprint(p) for p in ("/dev/null", link, fifo, victim)}
    with no_hang():
        for target in ("/dev/null", link, fifo):
            for extra in ((), ("--force",)):
                res = report(cli, target, *extra)
                assert res.exit_code == 2, res.stderr
                assert "regular file" in one_line(res)
    assert {p: fingerprint(p) for p in before} == before
    assert victim.read_bytes() == b"root:x:0:0\n"
    assert not Path("/dev/null.sig").exists()


def test_report_out_existing_needs_force(cli: Any, tenant: Any, tmp_path: Path) -> None:
    out = tmp_path / "r.md"
    with umask(0):
        assert report(cli, out).exit_code == 0
    assert stat.S_IMODE(out.stat().st_mode) == 0o600
    assert stat.S_IMODE(Path(f"{out}.sig").stat().st_mode) == 0o600
    first = out.read_bytes()
    res = report(cli, out)
    assert res.exit_code == 5 and "--force" in one_line(res)
    assert out.read_bytes() == first
    assert report(cli, out, "--force").exit_code == 0
    res = report(cli, tmp_path / "r.md" / "x")
    assert res.exit_code == 2 and "not a directory" in one_line(res)
    res = report(cli, tmp_path / ("n" * 300))
    assert res.exit_code == 2 and "longer than" in one_line(res)


def test_data_export_out_refuses_device(cli: Any, tenant: Any, tmp_path: Path) -> None:
    before = fingerprint("/dev/null")
    res = cli("data", "export", "--out", "/dev/null", tenant="acme", fmt=None)
    assert res.exit_code == 2 and "character device" in one_line(res)
    assert fingerprint("/dev/null") == before
    out = tmp_path / "e.zip"
    cli.ok("data", "export", "--out", str(out), tenant="acme")
    assert cli("data", "export", "--out", str(out), tenant="acme").exit_code == 5
    cli.ok("data", "export", "--out", str(out), "--force", tenant="acme")
    assert stat.S_IMODE(out.stat().st_mode) == 0o600
