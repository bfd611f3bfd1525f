"""Issue 14.3: each certificate item describes its medium, and media where an in-place overwrite
cannot reach the old content downgrade the claim.

Reproduce on main: on ext4 mounted with data=journal, erase a file with secure_overwrite: every
pass (and the original) went through the journal, yet the certificate said Clear and named only
the file system type. Network (nfs, cifs, sshfs) and memory (tmpfs) mounts were not told apart
from a local disk either.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
from pathlib import Path
from typing import Any

import pytest

from shifty_ent.data import medium, pathsafety
from tests.data.conftest import make_file

MOUNTINFO = r"""22 1 8:2 / / rw,relatime shared:1 - ext4 /dev/sda2 rw,errors=remount-ro
30 22 8:3 / /srv/journal rw,noatime shared:2 - ext4 /dev/sda3 rw,data=journal
31 22 0:40 / /srv/cow rw,relatime shared:3 - btrfs /dev/sdb1 rw,ssd,space_cache=v2,subvolid=5
32 22 0:41 / /srv/nfs rw,relatime shared:4 - nfs4 fileserver:/export rw,vers=4.2,sec=sys
33 22 0:42 / /srv/ssh rw,nosuid,nodev shared:5 - fuse.sshfs me@host:/data rw,user_id=0
34 22 0:43 / /srv/ram rw,nosuid,nodev shared:6 - tmpfs tmpfs rw,size=1024k
35 22 0:44 / /srv/smb rw,relatime shared:7 - cifs //nas/share rw,vers=3.1.1
36 30 8:3 /inner /srv/journal/with\040space rw shared:8 - ext4 /dev/sda3 rw,data=ordered
garbage line without separator
"""


@pytest.mark.parametrize(
    ("path", "fs", "kind", "category"),
    [
        ("/home/x/file", "ext4", "local", "Clear"),
        ("/srv/journal/a/b.bin", "ext4", "journalled-data", "none"),
        ("/srv/journal/with space/f", "ext4", "local", "Clear"),
        ("/srv/cow/f", "btrfs", "copy-on-write", "none"),
        ("/srv/nfs/f", "nfs4", "network", "none"),
        ("/srv/ssh/f", "fuse.sshfs", "network", "none"),
        ("/srv/smb/f", "cifs", "network", "none"),
        ("/srv/ram/f", "tmpfs", "memory", "Clear"),
    ],
)
def test_crafted_mountinfo_is_classified(
    path: str, fs: str, kind: str, category: str, tmp_path: Path
) -> None:
    med = medium.describe(path, text=MOUNTINFO, sys_dev_block=str(tmp_path / "nosys"))
    assert med["fs_type"] == fs and med["class"] == kind
    got, reason = medium.overwrite_reach(med)
    assert got == category
    if kind != "local":
        assert reason and fs in reason
    else:
        assert reason is None


def test_device_model_and_serial_come_from_sysfs(tmp_path: Path) -> None:
    disk = tmp_path / "devices" / "sda"
    (disk / "device").mkdir(parents=True)
    (disk / "device" / "model").write_text("Samsung SSD 870\n")
    (disk / "device" / "serial").write_text("S5XYZ123\n")
    (disk / "queue").mkdir()
    (disk / "queue" / "rotational").write_text("0\n")
    (disk / "sda2").mkdir()
    (tmp_path / "dev" / "block").mkdir(parents=True)
    os.symlink(disk / "sda2", tmp_path / "dev" / "block" / "8:2")
    med = medium.describe("/x", text=MOUNTINFO, sys_dev_block=str(tmp_path / "dev" / "block"))
    assert med["model"] == "Samsung SSD 870" and med["serial"] == "S5XYZ123"
    assert med["rotational"] is False and med["block_device"] == "sda"
    assert med["source"] == "/dev/sda2" and "errors=remount-ro" in med["mount_options"]


def test_real_medium_of_the_test_dir(tmp_path: Path) -> None:
    med = medium.describe(tmp_path)
    assert med["fs_type"] == pathsafety.fs_type_of(tmp_path)
    assert (
        str(tmp_path).startswith(med["mount_point"].rstrip("/") + "/")
        or str(tmp_path) == med["mount_point"]
    )
    assert med["class"] in ("local", "journalled-data", "copy-on-write", "network", "memory")


def _cert(cli: Any, asset_id: str, out: Path, method: str = "secure_overwrite") -> Any:
    job = cli.ok(
        "data", "delete", "request", asset_id, "--method", method, "--reason", "r",
        user="olga", tenant="acme",
    )  # fmt: skip
    cli.ok("data", "delete", "approve", job["id"], user="alice", tenant="acme")
    done = cli.ok("data", "delete", "execute", job["id"], "--yes", user="olga", tenant="acme")
    cli.ok(
        "data", "certificate", "export", done["certificate_id"], "--out", str(out),
        user="audrey", tenant="acme",
    )  # fmt: skip
    return json.loads(out.read_text())["certificate"]["media"][0]


def test_certificate_describes_the_medium_and_downgrades_journalled_data(
    cli: Any, tenant: Any, root: Path, register: Any, tmp_path: Path, monkeypatch: Any
) -> None:
    real = _cert(cli, register("plain", make_file(root / "p.bin"))["id"], tmp_path / "1")
    assert real["medium"]["fs_type"] == real["fs_type"]
    assert real["medium"]["mount_point"]
    # the same directory, seen through a mountinfo that says ext4 data=journal
    crafted = tmp_path / "mountinfo"
    crafted.write_text(
        f"22 1 8:2 / / rw - ext4 /dev/sda2 rw\n"
        f"40 22 8:5 / {root} rw,noatime - ext4 /dev/sda5 rw,data=journal\n"
    )
    monkeypatch.setattr(medium, "MOUNTINFO", str(crafted))
    media = _cert(cli, register("j", make_file(root / "j.bin"))["id"], tmp_path / "2")
    assert media["medium"]["class"] == "journalled-data"
    assert "data=journal" in media["medium"]["mount_options"]
    assert media["nist_category"] == "none"
    assert any(n.startswith("Not sanitized") and "data=journal" in n for n in media["notes"])
    assert "not sanitized" in media["post_sanitization_state"]


def test_loop_mounted_ext4_with_journalled_data(tmp_path: Path) -> None:
    """A real ext4 data=journal loop mount of a scratch image in tmp (root, as CI runs): the
    medium is read from the kernel's own mountinfo. The loop device is released on unmount
    (``mount -o loop`` sets autoclear); machines without loop devices skip with the reason."""
    if os.geteuid() != 0 or not shutil.which("losetup") or not shutil.which("mkfs.ext4"):
        pytest.skip("losetup/mkfs.ext4 or root unavailable")
    img, mnt = tmp_path / "fs.img", tmp_path / "mnt"
    mnt.mkdir()
    with img.open("wb") as fh:
        fh.truncate(16 * 1024 * 1024)
    if subprocess.run(["mkfs.ext4", "-q", "-F", str(img)], capture_output=True).returncode:
        pytest.skip("mkfs.ext4 failed")
    mounted = subprocess.run(
        ["mount", "-o", "loop,data=journal", str(img), str(mnt)], capture_output=True
    )
    if mounted.returncode:
        pytest.skip(f"loop mount unavailable: {mounted.stderr.decode().strip()}")
    try:
        med = medium.describe(mnt)
        assert med["fs_type"] == "ext4" and med["class"] == "journalled-data"
    finally:
        subprocess.run(["umount", str(mnt)], capture_output=True)


def _loop_ext4(tmp_path: Path, data_mode: str) -> tuple[Path, Path]:
    """A fresh 64 MiB ext4 image loop-mounted with ``data=<data_mode>``; skips with the reason
    where this machine cannot (not root, no losetup or mkfs.ext4, no loop device)."""
    if os.geteuid() != 0:
        pytest.skip("needs root to loop-mount an ext4 image")
    for tool in ("losetup", "mkfs.ext4", "mount", "umount"):
        if not shutil.which(tool):
            pytest.skip(f"{tool} is not installed")
    img, mnt = tmp_path / f"{data_mode}.img", tmp_path / f"mnt-{data_mode}"
    mnt.mkdir()
    with img.open("wb") as fh:
        fh.truncate(64 * 1024 * 1024)
    made = subprocess.run(["mkfs.ext4", "-q", "-F", str(img)], capture_output=True)
    if made.returncode:
        pytest.skip(f"mkfs.ext4 failed: {made.stderr.decode().strip()}")
    mounted = subprocess.run(
        ["mount", "-o", f"loop,data={data_mode}", str(img), str(mnt)], capture_output=True
    )
    if mounted.returncode:
        pytest.skip(f"loop mount unavailable: {mounted.stderr.decode().strip()}")
    return img, mnt


@pytest.mark.parametrize("data_mode", ["ordered", "journal"])
def test_raw_image_scan_agrees_with_the_certificate(
    cli: Any, tenant: Any, tmp_path: Path, data_mode: str
) -> None:
    """Issue 14.3, the raw-disk scan: on ext4 with ``data=journal`` every overwrite method left
    100% of the content in the journal, certified Clear.

    Reproduce: loop-mount an ext4 image, write a file made of a random marker, sync, register it,
    erase it with ``secure_overwrite`` through the CLI, sync, unmount, then search the image's
    raw bytes for the marker. With the default ``data=ordered`` the overwrite reached the only
    copy: the marker is gone and the certificate says Clear. With ``data=journal`` the marker
    survives in the journal, so the certificate must say not sanitized, never Clear.
    """
    img, mnt = _loop_ext4(tmp_path, data_mode)
    marker = os.urandom(32)
    try:
        cli.ok("tenant", "root", "add", str(mnt), "-t", "acme")
        victim = mnt / "records.bin"
        victim.write_bytes(marker * (256 * 1024 // len(marker)))
        os.sync()
        asset = cli.ok(
            "data", "asset", "register", "records", "--type", "dataset",
            "--classification", "confidential", "--location", str(victim),
            user="olga", tenant="acme",
        )  # fmt: skip
        media = _cert(cli, asset["id"], tmp_path / "cert.json")
        assert not victim.exists()
        os.sync()
    finally:
        subprocess.run(["umount", str(mnt)], capture_output=True, check=True)
    raw = img.read_bytes()
    found = raw.count(marker)
    assert media["medium"]["fs_type"] == "ext4"
    if data_mode == "ordered":
        assert media["medium"]["class"] == "local"
        assert media["nist_category"] == "Clear"
        assert found == 0, f"{found} copies of the marker left on the raw image"
    else:
        assert media["medium"]["class"] == "journalled-data"
        assert media["nist_category"] == "none"
        assert "not sanitized" in media["post_sanitization_state"]
        # what the journal kept is exactly what the certificate declines to claim
        assert found > 0, "data=journal kept no copy: the downgrade would be overcautious"
