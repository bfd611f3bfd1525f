"""Erasure engine details: directory trees, verification failures, attestation, archive errors."""

from __future__ import annotations

import hashlib
import os
from pathlib import Path
from typing import Any

import pytest

from shifty_ent.data import overwrite
from tests.data.conftest import make_file


def _run_job(cli: Any, ref: str, method: str) -> Any:
    job = cli.ok(
        "data",
        "delete",
        "request",
        ref,
        "--method",
        method,
        "--reason",
        "r",
        user="olga",
        tenant="acme",
    )
    cli.ok("data", "delete", "approve", job["id"], user="alice", tenant="acme")
    return cli("data", "delete", "execute", job["id"], "--yes", user="olga", tenant="acme")


def test_pass_plans() -> None:
    assert [p.label for p in overwrite.plan("secure_overwrite")] == ["00", "ff", "random"]
    assert overwrite.plan("standard") == []
    assert [p.label for p in overwrite.plan("nist_800_88")] == ["random"]
    dod = overwrite.plan("dod_5220")
    assert [p.verify for p in dod] == [False, False, True, False, False, False, True]


def test_overwrite_really_overwrites(tmp_path: Path) -> None:
    f = tmp_path / "x.bin"
    f.write_bytes(b"PLAINTEXT" * 555_555)  # 4,999,995 bytes
    fd = os.open(f, os.O_RDWR)
    try:
        records = overwrite.overwrite_fd(fd, 4_999_995, overwrite.plan("secure_overwrite"))
    finally:
        os.close(fd)
    data = f.read_bytes()
    assert len(data) == 5_001_216  # rounded up to 4 KiB: the slack is overwritten too
    assert b"PLAINTEXT" not in data and data.count(0) < len(data) // 100  # random last pass
    assert records[-1]["verified"]


def test_verification_failure_fails_the_item(
    cli: Any, tenant: Any, root: Path, register: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    f = make_file(root / "a.bin", 300_000)
    asset = register("a", f)
    real = overwrite._pread_into

    def flaky(fd: int, view: memoryview, offset: int) -> None:
        real(fd, view, offset)
        view[7] ^= 0xFF  # the device returned something else

    monkeypatch.setattr(overwrite, "_pread_into", flaky)
    res = _run_job(cli, asset["id"], "secure_overwrite")
    assert res.exit_code == 5
    jobs = cli.ok("data", "delete", "list", user="alice", tenant="acme")
    shown = cli.ok("data", "delete", "show", jobs[0]["id"], user="alice", tenant="acme")
    assert shown["status"] == "failed" and "read-back differs" in shown["items"][0]["error"]
    assert shown["certificate_id"] is None
    # the data was touched but not proven gone: never reported deleted
    assert (
        cli.ok("data", "asset", "show", asset["id"], user="alice", tenant="acme")["status"]
        == "erase_failed"
    )


def test_directory_tree_erased_without_following_links(
    cli: Any, tenant: Any, root: Path, register: Any, tmp_path: Path
) -> None:
    outside = make_file(tmp_path / "outside.txt", 1000)
    before = hashlib.sha256(outside.read_bytes()).hexdigest()
    top = root / "run-7"
    make_file(top / "a.bin", 100_000)
    make_file(top / "sub" / "b.bin", 200_000)
    make_file(top / "sub" / "deeper" / "c.bin", 3)
    (top / "sub" / "link").symlink_to(outside)
    (top / "empty").mkdir()
    asset = register("run-7", top)
    assert asset["size_bytes"] == 300_003 and asset["sha256"]
    res = _run_job(cli, asset["id"], "dod_5220")
    assert res.exit_code == 0, res.stderr
    assert not top.exists() and list(root.iterdir()) == []
    assert hashlib.sha256(outside.read_bytes()).hexdigest() == before
    item = res.json["items"][0]
    assert item["result"]["files"] == 3 and item["sha256_before"] == asset["sha256"]
    assert "3 file(s)" in item["result"]["post_sanitization_state"]


def test_hard_link_inside_directory_refused(
    cli: Any, tenant: Any, root: Path, register: Any
) -> None:
    top = root / "d"
    f = make_file(top / "a.bin")
    os.link(f, root / "elsewhere.bin")
    asset = register("d", top)
    res = cli(
        "data",
        "delete",
        "request",
        asset["id"],
        "--method",
        "standard",
        "--reason",
        "r",
        user="olga",
        tenant="acme",
    )
    assert res.exit_code == 4 and "hard links" in res.error["message"]
    assert f.exists() and (root / "elsewhere.bin").exists()
    assert cli.ok("data", "delete", "list", user="alice", tenant="acme") == []


def test_other_scheme_is_attested_not_verified(cli: Any, tenant: Any) -> None:
    asset = cli.ok(
        "data",
        "asset",
        "register",
        "crm",
        "--type",
        "table",
        "--classification",
        "confidential",
        "--location",
        "https://crm.example/export/42",
        user="olga",
        tenant="acme",
    )
    res = _run_job(cli, asset["id"], "standard")
    assert res.exit_code == 0
    result = res.json["items"][0]["result"]
    assert (
        result["technique"] == "attestation" and result["verification"]["result"] == "not verified"
    )
    cert = cli.ok(
        "data", "certificate", "show", res.json["certificate_id"], user="audrey", tenant="acme"
    )
    assert "Nothing was erased or verified by this tool" in " ".join(
        cert["certificate"]["media"][0]["notes"]
    )


def test_archive_failure_leaves_asset_untouched(cli: Any, tenant: Any) -> None:
    cli.ok(
        "data",
        "policy",
        "create",
        "p",
        "--classification",
        "internal",
        "--retention-days",
        "1",
        "--auto-delete",
        "--archive-before-delete",
        user="olga",
        tenant="acme",
    )
    asset = cli.ok(
        "data",
        "asset",
        "register",
        "remote",
        "--type",
        "table",
        "--classification",
        "internal",
        "--location",
        "https://crm.example/x",
        user="olga",
        tenant="acme",
    )
    res = cli(
        "data", "sweep", user="olga", tenant="acme", env={"SHIFTY_NOW": "2099-01-01T00:00:00Z"}
    )
    assert res.exit_code == 5
    assert res.json["failures"][0]["step"] == "archive"
    shown = cli.ok("data", "asset", "show", asset["id"], user="alice", tenant="acme")
    assert shown["status"] == "active" and shown["open_job_id"] is None
    job = cli.ok("data", "delete", "list", user="alice", tenant="acme")[0]
    assert job["status"] == "failed" and "archive" in job["error"]


def test_cancel_frees_the_asset(cli: Any, tenant: Any, root: Path, register: Any) -> None:
    f = make_file(root / "a.bin")
    asset = register("a", f)
    job = cli.ok(
        "data",
        "delete",
        "request",
        asset["id"],
        "--method",
        "standard",
        "--reason",
        "r",
        user="olga",
        tenant="acme",
    )
    assert cli("data", "delete", "cancel", job["id"], user="lars", tenant="acme").exit_code == 4
    done = cli.ok(
        "data", "delete", "cancel", job["id"], "--reason", "wrong file", user="olga", tenant="acme"
    )
    assert done["status"] == "cancelled"
    assert (
        cli("data", "delete", "execute", job["id"], "--yes", user="olga", tenant="acme").exit_code
        == 5
    )
    assert f.exists()
    again = cli.ok(
        "data",
        "delete",
        "request",
        asset["id"],
        "--method",
        "standard",
        "--reason",
        "r",
        user="olga",
        tenant="acme",
    )
    assert again["status"] == "pending_approval"


def test_table_output_for_people(cli: Any, tenant: Any, root: Path, register: Any) -> None:
    asset = register("people", make_file(root / "p.bin"))
    res = cli("data", "asset", "list", user="alice", tenant="acme", fmt="table")
    assert res.exit_code == 0 and "people" in res.stdout and asset["id"][:8] in res.stdout
    assert asset["id"] not in res.stdout  # tables show short ids


@pytest.mark.parametrize("method", ["secure_overwrite", "nist_800_88"])
@pytest.mark.parametrize("size", [0, 1, 4095, 4_999_995, 8 * 1024 * 1024 + 1])
def test_first_pass_hashes_the_content_it_overwrites(
    tmp_path: Path, method: str, size: int
) -> None:
    """The pre-erasure SHA-256 is read in the first pass, block by block just before each block
    is overwritten: it must be the hash of exactly the file as it was (not of the 4 KiB
    rounding, not of what a pass wrote), and the read-back still covers the verified pass."""
    f = tmp_path / "x.bin"
    content = os.urandom(size)
    f.write_bytes(content)
    digest = hashlib.sha256()
    fd = os.open(f, os.O_RDWR)
    try:
        records = overwrite.overwrite_fd(fd, size, overwrite.plan(method), digest=digest)
    finally:
        os.close(fd)
    assert digest.hexdigest() == hashlib.sha256(content).hexdigest()
    if size:
        if size >= 64:
            assert content[:64] not in f.read_bytes()
        assert records[-1]["verified"] and records[-1]["pattern"] == "random"
        assert f.stat().st_size == -(-size // 4096) * 4096


def test_write_error_in_the_hashing_pass_leaves_the_asset_erase_failed(
    cli: Any, tenant: Any, root: Path, register: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A write error after the first pass overwrote a block (the pre-erasure hash not finished
    yet): the data was touched, so the asset is ``erase_failed``, never back to ``active``."""
    f = make_file(root / "a.bin", 9_000_000)
    asset = register("a", f)
    real, calls = overwrite._write_chunk, []

    def failing(fd: int, buf: Any, n: int, offset: int, direct: bool) -> bool:
        calls.append(offset)
        if len(calls) > 1:
            raise OSError(5, "Input/output error")
        return real(fd, buf, n, offset, direct)

    monkeypatch.setattr(overwrite, "_write_chunk", failing)
    res = _run_job(cli, asset["id"], "secure_overwrite")
    assert res.exit_code == 5
    shown = cli.ok("data", "asset", "show", asset["id"], user="alice", tenant="acme")
    assert shown["status"] == "erase_failed"
    jobs = cli.ok("data", "delete", "list", user="alice", tenant="acme")
    item = cli.ok("data", "delete", "show", jobs[0]["id"], user="alice", tenant="acme")["items"][0]
    assert item["status"] == "failed" and item["sha256_before"] is None
    assert "Input/output error" in item["error"]
