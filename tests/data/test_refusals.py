"""Every refusal exits with its documented code and changes nothing: files, jobs, assets."""

from __future__ import annotations

import hashlib
import os
from pathlib import Path
from typing import Any

import pytest

from tests.data.conftest import make_file


def _digest(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def _no_jobs(cli: Any) -> None:
    assert cli.ok("data", "delete", "list", user="alice", tenant="acme") == []


def _asset_untouched(cli: Any, asset_id: str) -> None:
    shown = cli.ok("data", "asset", "show", asset_id, user="alice", tenant="acme")
    assert shown["status"] == "active" and shown["open_job_id"] is None


def _request(cli: Any, *args: str, user: str = "olga", method: str = "secure_overwrite") -> Any:
    return cli(
        "data",
        "delete",
        "request",
        *args,
        "--method",
        method,
        "--reason",
        "r",
        user=user,
        tenant="acme",
    )


def test_symlink_refused(cli: Any, tenant: Any, root: Path, register: Any) -> None:
    target = make_file(root / "real.csv")
    link = root / "link.csv"
    link.symlink_to(target)
    before = _digest(target)
    asset = register("via-link", link)
    res = _request(cli, asset["id"])
    assert res.exit_code == 4 and "symbolic link" in res.error["message"]
    assert link.is_symlink() and _digest(target) == before
    _no_jobs(cli)
    _asset_untouched(cli, asset["id"])


def test_symlinked_directory_component_refused(
    cli: Any, tenant: Any, root: Path, register: Any, tmp_path: Path
) -> None:
    outside = tmp_path / "outside"
    victim = make_file(outside / "victim.bin")
    before = _digest(victim)
    (root / "dir").symlink_to(outside, target_is_directory=True)
    asset = register("victim", root / "dir" / "victim.bin")
    res = _request(cli, asset["id"])
    assert res.exit_code == 4 and "symbolic link" in res.error["message"]
    assert _digest(victim) == before
    _no_jobs(cli)


def test_hard_link_refused(cli: Any, tenant: Any, root: Path, register: Any) -> None:
    f = make_file(root / "a.bin")
    os.link(f, root / "b.bin")
    before = _digest(f)
    asset = register("a", f)
    res = _request(cli, asset["id"])
    assert res.exit_code == 4 and "hard links" in res.error["message"]
    assert _digest(f) == before == _digest(root / "b.bin")
    _no_jobs(cli)
    _asset_untouched(cli, asset["id"])


def test_outside_root_refused(
    cli: Any, tenant: Any, root: Path, register: Any, tmp_path: Path
) -> None:
    f = make_file(tmp_path / "elsewhere" / "a.bin")
    before = _digest(f)
    asset = register("outside", f)
    res = _request(cli, asset["id"])
    assert res.exit_code == 4 and "outside the allowed data roots" in res.error["message"]
    make_file(tmp_path / "elsewhere" / "b.bin")
    traversal = register("dotdot", f"{root}/../elsewhere/b.bin")
    assert _request(cli, traversal["id"]).exit_code == 4
    assert _digest(f) == before
    _no_jobs(cli)


def test_no_roots_configured_refused(
    cli: Any, tenant: Any, register: Any, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # the retired global setting gives nothing back, with a warning
    monkeypatch.setenv("SHIFTY_DATA_ROOTS", str(tmp_path))
    f = make_file(tmp_path / "a.bin")
    asset = register("a", f)
    res = _request(cli, asset["id"])
    assert res.exit_code == 4 and "no allowed data roots" in res.error["message"]
    assert "SHIFTY_DATA_ROOTS" in res.stderr and "ignored" in res.stderr
    assert f.exists()


def test_fifo_and_socket_refused(cli: Any, tenant: Any, root: Path, register: Any) -> None:
    import socket

    fifo = root / "pipe"
    os.mkfifo(fifo)
    sock_path = root / "s.sock"
    sock = socket.socket(socket.AF_UNIX)
    sock.bind(str(sock_path))
    try:
        for name, path, word in (("pipe", fifo, "FIFO"), ("sock", sock_path, "socket")):
            # refused already at registration, before anything opens it (a FIFO would block)
            res = cli(
                "data", "asset", "register", name, "--type", "dataset",
                "--classification", "confidential", "--location", str(path),
                user="olga", tenant="acme",
            )  # fmt: skip
            assert res.exit_code == 2 and word in res.error["message"]
            assert path.exists()
    finally:
        sock.close()
    _no_jobs(cli)


def test_device_refused(
    cli: Any, tenant: Any, register: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A device is never a tenant's data: /dev cannot become a data root (exit 4), and a device
    node is refused at registration before anything opens it (exit 2)."""
    res = cli("tenant", "root", "add", "/dev", "-t", "acme")
    assert res.exit_code == 4 and "system directory" in res.error["message"]
    reg = cli(
        "data", "asset", "register", "null", "--type", "dataset",
        "--classification", "confidential", "--location", "/dev/null",
        user="olga", tenant="acme",
    )  # fmt: skip
    assert reg.exit_code in (2, 4), reg.stderr
    assert os.path.exists("/dev/null") and not os.path.isfile("/dev/null")
    _no_jobs(cli)


def test_legal_hold_refused_everywhere(cli: Any, tenant: Any, root: Path, register: Any) -> None:
    f = make_file(root / "held.bin")
    before = _digest(f)
    asset = register("held", f)
    cli.ok("data", "asset", "hold", asset["id"], "--reason", "case 42", user="olga", tenant="acme")
    res = _request(cli, asset["id"])
    assert res.exit_code == 4 and "legal hold" in res.error["message"]
    _no_jobs(cli)
    assert _digest(f) == before
    # a hold placed after approval stops the execution of that asset
    cli.ok("data", "asset", "release", asset["id"], user="alice", tenant="acme")
    job = _request(cli, asset["id"]).json
    cli.ok("data", "delete", "approve", job["id"], user="alice", tenant="acme")
    cli.ok("data", "asset", "hold", asset["id"], "--reason", "case 43", user="olga", tenant="acme")
    res = cli("data", "delete", "execute", job["id"], "--yes", user="olga", tenant="acme")
    assert res.exit_code == 5
    shown = cli.ok("data", "delete", "show", job["id"], user="alice", tenant="acme")
    assert shown["status"] == "failed" and shown["certificate_id"] is None
    assert "legal hold" in shown["items"][0]["error"]
    assert _digest(f) == before
    held = cli.ok("data", "asset", "show", asset["id"], user="alice", tenant="acme")
    assert held["status"] == "active" and held["legal_hold"] is True


def test_self_approval_refused(cli: Any, tenant: Any, root: Path, register: Any) -> None:
    f = make_file(root / "a.bin")
    asset = register("a", f)
    job = _request(cli, asset["id"], user="alice").json
    res = cli("data", "delete", "approve", job["id"], user="alice", tenant="acme")
    assert res.exit_code == 4 and "four-eyes" in res.error["message"]
    assert cli("data", "delete", "approve", job["id"], user="olga", tenant="acme").exit_code == 4
    res = cli("data", "delete", "execute", job["id"], "--yes", user="alice", tenant="acme")
    assert res.exit_code == 4 and "approval" in res.error["message"]
    shown = cli.ok("data", "delete", "show", job["id"], user="alice", tenant="acme")
    assert shown["status"] == "pending_approval" and shown["approved_by"] is None
    assert f.exists()


def test_crypto_erase_of_plain_file_refused(
    cli: Any, tenant: Any, root: Path, register: Any
) -> None:
    f = make_file(root / "plain.bin")
    before = _digest(f)
    asset = register("plain", f)
    res = _request(cli, asset["id"], method="cryptographic_erase")
    assert res.exit_code == 4 and "cryptographic_erase" in res.error["message"]
    assert _digest(f) == before
    _no_jobs(cli)
    _asset_untouched(cli, asset["id"])


def test_unknown_method_refused(cli: Any, tenant: Any, root: Path, register: Any) -> None:
    f = make_file(root / "a.bin")
    before = _digest(f)
    asset = register("a", f)
    res = _request(cli, asset["id"], method="gutmann")
    assert res.exit_code == 2 and "unknown deletion method" in res.error["message"]
    assert _digest(f) == before
    _no_jobs(cli)
    _asset_untouched(cli, asset["id"])


def test_labeler_cannot_request(cli: Any, tenant: Any, root: Path, register: Any) -> None:
    asset = register("a", make_file(root / "a.bin"))
    assert _request(cli, asset["id"], user="lars").exit_code == 4
    _no_jobs(cli)


def test_asset_in_open_job_conflicts(cli: Any, tenant: Any, root: Path, register: Any) -> None:
    asset = register("a", make_file(root / "a.bin"))
    assert _request(cli, asset["id"]).exit_code == 0
    res = _request(cli, asset["id"])
    assert res.exit_code == 5 and "already in deletion job" in res.error["message"]


def test_swapped_for_symlink_after_approval_is_not_followed(
    cli: Any, tenant: Any, root: Path, register: Any, tmp_path: Path
) -> None:
    f = make_file(root / "a.bin")
    victim = make_file(tmp_path / "victim.bin")
    before = _digest(victim)
    asset = register("a", f)
    job = _request(cli, asset["id"]).json
    cli.ok("data", "delete", "approve", job["id"], user="alice", tenant="acme")
    f.unlink()
    f.symlink_to(victim)
    res = cli("data", "delete", "execute", job["id"], "--yes", user="olga", tenant="acme")
    assert res.exit_code == 5
    assert _digest(victim) == before and f.is_symlink()
    shown = cli.ok("data", "delete", "show", job["id"], user="alice", tenant="acme")
    assert shown["status"] == "failed" and "symbolic link" in shown["items"][0]["error"]
    assert (
        cli.ok("data", "asset", "show", asset["id"], user="alice", tenant="acme")["status"]
        == "active"
    )
