"""Registration limits: hashing bounded, directory walks bounded and iterative, odd names safe,
system trees refused.

Reproduction on main (issue 17): ``data asset register`` of a 16 TiB sparse file hashed
terabytes of zeros; of a tree 1100 directories deep ended in RecursionError (``os.walk``
recurses on Python 3.11); of a directory holding a file named ``b"caf\\xe9"`` it ended in an
unexpected UnicodeEncodeError (exit 1); ``--location /usr`` was measured (walking the whole tree).
"""

from __future__ import annotations

import hashlib
import os
from pathlib import Path
from typing import Any

from shifty_ent.data import assets


def _register(cli: Any, name: str, location: Path | str, *extra: str) -> Any:
    return cli(
        "data", "asset", "register", name, "--type", "dataset", "--classification", "internal",
        "--location", str(location), *extra, user="olga", tenant="acme",
    )  # fmt: skip


def _one_line(res: Any, code: int, needle: str) -> None:
    assert res.exit_code == code, (res.exit_code, res.stdout, res.stderr)
    assert len(res.stderr.strip().splitlines()) == 1, res.stderr
    assert needle in res.error["message"], res.error


def test_large_sparse_file_needs_no_hash(cli: Any, tenant: Any, root: Path) -> None:
    big = root / "sparse.img"
    with open(big, "wb") as fh:
        fh.truncate(assets.HASH_MAX + 1)  # takes no disk
    _one_line(_register(cli, "big", big), 2, "--no-hash")
    assert cli.ok("data", "asset", "list", user="olga", tenant="acme") == []
    res = _register(cli, "big", big, "--no-hash")
    assert res.exit_code == 0, res.stderr
    assert res.json["size_bytes"] == assets.HASH_MAX + 1 and res.json["sha256"] is None


def test_max_files(cli: Any, tenant: Any, root: Path) -> None:
    tree = root / "many"
    tree.mkdir()
    for i in range(5):
        (tree / f"f{i}").write_bytes(b"x")
    _one_line(_register(cli, "many", tree, "--max-files", "4"), 2, "more than 4 files")
    assert _register(cli, "many", tree, "--max-files", "5").exit_code == 0


def test_deep_tree_refused_without_recursion_error(cli: Any, tenant: Any, root: Path) -> None:
    deep = str(root / "deep")
    levels = [deep + "/d" * i for i in range(1101)]  # os.makedirs recurses: one by one
    for level in levels:
        os.mkdir(level)
    try:
        _one_line(_register(cli, "deep", deep), 2, "directories deep")
    finally:
        for level in reversed(levels):
            os.rmdir(level)
    shallow = root / "shallow" / "a" / "b"
    shallow.mkdir(parents=True)
    (shallow / "f").write_bytes(b"x")
    assert _register(cli, "shallow", root / "shallow").exit_code == 0


def test_non_utf8_names_recorded(cli: Any, tenant: Any, root: Path) -> None:
    tree = root / "odd"
    tree.mkdir()
    fd = os.open(os.path.join(os.fsencode(tree), b"caf\xe9.txt"), os.O_WRONLY | os.O_CREAT, 0o600)
    os.write(fd, b"hello")
    os.close(fd)
    (tree / "plain.txt").write_bytes(b"x")
    res = _register(cli, "odd", tree)
    assert res.exit_code == 0, (res.stdout, res.stderr)
    expected = hashlib.sha256()
    for name, body in sorted([(b"caf\xe9.txt", b"hello"), (b"plain.txt", b"x")]):
        expected.update(name + b"\0" + hashlib.sha256(body).hexdigest().encode() + b"\n")
    assert res.json["sha256"] == expected.hexdigest() and res.json["size_bytes"] == 6


def test_directory_digest_unchanged_for_utf8_names(tmp_path: Path) -> None:
    tree = tmp_path / "t"
    (tree / "sub").mkdir(parents=True)
    (tree / "sub" / "é.txt").write_bytes(b"1")
    (tree / "z.txt").write_bytes(b"22")
    expected = hashlib.sha256()
    for rel, body in sorted([("sub/é.txt", b"1"), ("z.txt", b"22")]):
        expected.update(rel.encode() + b"\0" + hashlib.sha256(body).hexdigest().encode() + b"\n")
    assert assets.measure_local(tree) == (3, expected.hexdigest())


def test_system_roots_refused(cli: Any, tenant: Any) -> None:
    for path in ("/", "/usr", "/etc", "/proc", "/sys", "/dev", "/boot", "/var", "/home", "/usr/"):
        _one_line(_register(cli, "sys", path), 4, "system directory")
    assert cli.ok("data", "asset", "list", user="olga", tenant="acme") == []
