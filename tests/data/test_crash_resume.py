"""Kill ``execute`` mid-way (a real SIGKILL of a real process), then resume: one certificate."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from tests.conftest import approved_job
from tests.data.conftest import make_file


def _run(db_url: str, *args: str, extra_env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, **extra_env}
    return subprocess.run(
        [
            sys.executable,
            "-m",
            "shifty_ent",
            "--db",
            db_url,
            "--as",
            "olga",
            "--tenant",
            "acme",
            "-o",
            "json",
            *args,
        ],
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )


@pytest.mark.slow
@pytest.mark.parametrize(
    ("method", "fault"),
    [
        ("secure_overwrite", {"SHIFTY_FAULT_KILL_AFTER_PASS": "2"}),
        ("dod_5220", {"SHIFTY_FAULT_KILL_AFTER_PASS": "5"}),
        ("secure_overwrite", {"SHIFTY_FAULT_KILL_AT": "renamed"}),
    ],
)
def test_killed_execute_resumes_with_one_certificate(
    cli: Any,
    db_url: str,
    tenant: Any,
    root: Path,
    register: Any,
    method: str,
    fault: dict[str, str],
) -> None:
    f = make_file(root / "big.bin", 3_000_000)
    original = f.read_bytes()
    asset = register("big", f)
    job = approved_job(cli, asset["id"], method, "r")

    killed = _run(db_url, "data", "delete", "execute", job["id"], "--yes", extra_env=fault)
    assert killed.returncode == -9, killed.stderr

    mid = cli.ok("data", "delete", "show", job["id"], user="alice", tenant="acme")
    assert mid["status"] == "running" and mid["certificate_id"] is None
    shown = cli.ok("data", "asset", "show", asset["id"], user="alice", tenant="acme")
    assert shown["status"] == "erasing"  # never "deleted" while anything is readable
    leftovers = list(root.iterdir())
    assert len(leftovers) == 1 and leftovers[0].read_bytes() != original

    resumed = _run(db_url, "data", "delete", "execute", job["id"], "--yes", extra_env={})
    assert resumed.returncode == 0, resumed.stderr
    assert list(root.iterdir()) == []
    done = cli.ok("data", "delete", "show", job["id"], user="alice", tenant="acme")
    assert done["status"] == "completed" and done["attempts"] == 2
    certs = cli.ok("data", "certificate", "list", user="alice", tenant="acme")
    assert [c["job_id"] for c in certs] == [job["id"]]
    assert (
        cli.ok("data", "asset", "show", asset["id"], user="alice", tenant="acme")["status"]
        == "deleted"
    )
    # a third run neither erases nor certifies again
    again = cli("data", "delete", "execute", job["id"], "--yes", user="olga", tenant="acme")
    assert again.exit_code == 5 and "already completed" in again.error["message"]
    assert len(cli.ok("data", "certificate", "list", user="alice", tenant="acme")) == 1


def test_live_executor_is_not_taken_over(
    cli: Any, db_url: str, tenant: Any, root: Path, register: Any, make_context: Any
) -> None:
    """A job marked running by a live process on this host is not executed a second time."""
    from sqlalchemy import update

    from shifty_ent.data.tables import DeletionJob

    asset = register("a", make_file(root / "a.bin"))
    job = approved_job(cli, asset["id"], "standard", "r")
    import socket
    from datetime import UTC, datetime, timedelta

    with make_context(tenant="acme") as ctx:
        ctx.session.execute(
            update(DeletionJob).values(
                status="running",
                claim_token="t",
                claimed_by=f"{socket.gethostname()}:{os.getppid()}:x",
                lease_expires_at=datetime.now(UTC) + timedelta(minutes=5),
            )
        )
    res = cli("data", "delete", "execute", job["id"], "--yes", user="olga", tenant="acme")
    assert res.exit_code == 5 and "already running" in res.error["message"]
    assert (root / "a.bin").exists()


@pytest.mark.parametrize("swap", ["moved", "replaced"])
def test_resume_refuses_a_file_moved_or_replaced_after_the_crash(
    cli: Any, tenant: Any, root: Path, register: Any, make_context: Any, swap: str
) -> None:
    """Issue 14.3: kill the erasure after it recorded the inode, move the file away, rerun.

    On main the rerun found nothing at the path, took it for its own finished unlink and
    certified "overwrite + unlink (completed before restart)" while the moved file held every
    original byte; a replacement file at the path was likewise not proven to be the one started
    on. The crash state (job running under a dead executor, item running with the inode
    recorded, no rename committed) is written directly.
    """
    import socket
    from datetime import UTC, datetime, timedelta

    from sqlalchemy import update

    from shifty_ent.data.tables import Asset, DeletionItem, DeletionJob

    f = make_file(root / "victim.bin", 50_000)
    original = f.read_bytes()
    st = f.stat()
    asset = register("victim", f)
    job = approved_job(cli, asset["id"], "secure_overwrite", "r")
    with make_context(tenant="acme") as ctx:
        ctx.session.execute(
            update(DeletionJob).values(
                status="running",
                claim_token="dead",
                claimed_by=f"{socket.gethostname()}:999999999:olga",
                lease_expires_at=datetime.now(UTC) - timedelta(minutes=5),
                attempts=1,
            )
        )
        ctx.session.execute(
            update(DeletionItem).values(
                status="running", inode=f"{st.st_dev}:{st.st_ino}", started_at=datetime.now(UTC)
            )
        )
        ctx.session.execute(update(Asset).values(status="erasing"))
    elsewhere = root / "elsewhere"
    elsewhere.mkdir()
    f.rename(elsewhere / "victim.bin")
    if swap == "replaced":
        f.write_bytes(b"a different file")
    res = cli("data", "delete", "execute", job["id"], "--yes", user="olga", tenant="acme")
    assert res.exit_code == 5 and "inode" in res.error["message"]
    shown = cli.ok("data", "delete", "show", job["id"], user="alice", tenant="acme")
    item = shown["items"][0]
    assert shown["status"] == "failed" and shown["certificate_id"] is None
    assert item["status"] == "failed" and "inode" in item["error"]
    assert (elsewhere / "victim.bin").read_bytes() == original
    if swap == "replaced":
        assert f.read_bytes() == b"a different file"  # not touched either


def test_killed_while_hashing_in_the_first_pass_never_claims_a_measured_hash(
    cli: Any, db_url: str, tenant: Any, root: Path, register: Any
) -> None:
    """The pre-erasure SHA-256 is computed in the first pass (each block read just before it is
    overwritten). Kill the executor after that pass overwrote its first block, rerun: the
    resumed run cannot hash the original any more. It must neither hash the half-overwritten
    file and flag it "content changed", nor present the registered hash as measured: the
    certificate says the hash was not measured, and why; the asset was erasing, never active.
    """
    f = make_file(root / "big.bin", 9_000_000)  # three 4 MiB blocks
    original = f.read_bytes()
    asset = register("big", f)
    job = approved_job(cli, asset["id"], "secure_overwrite", "r")

    killed = _run(
        db_url,
        "data",
        "delete",
        "execute",
        job["id"],
        "--yes",
        extra_env={"SHIFTY_FAULT_KILL_AT": "hashing"},
    )
    assert killed.returncode == -9, killed.stderr
    left = f.read_bytes()
    assert left[: 4 << 20] == bytes(4 << 20) and left[4 << 20 :] == original[4 << 20 :]
    mid = cli.ok("data", "delete", "show", job["id"], user="alice", tenant="acme")
    assert mid["items"][0]["sha256_before"] is None
    assert (
        cli.ok("data", "asset", "show", asset["id"], user="alice", tenant="acme")["status"]
        == "erasing"
    )

    resumed = _run(db_url, "data", "delete", "execute", job["id"], "--yes", extra_env={})
    assert resumed.returncode == 0, resumed.stderr
    assert list(root.iterdir()) == []
    done = cli.ok("data", "delete", "show", job["id"], user="alice", tenant="acme")
    cert = cli.ok(
        "data", "certificate", "show", done["certificate_id"], user="audrey", tenant="acme"
    )["certificate"]["media"][0]
    assert cert["sha256_before"] is None and cert["sha256_source"].startswith("not measured")
    assert cert["content_changed"] is False and cert["sha256_registered"] == asset["sha256"]
    assert any("interrupted during pass 1" in n for n in cert["notes"])
    assert cert["nist_category"] == "Clear" and cert["passes_completed"] == 3
