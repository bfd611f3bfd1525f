"""Describe the medium a file lives on, and what an in-place overwrite can reach there.

The mount holding a path is read from ``/proc/self/mountinfo`` (file system type, mount and
super-block options, source device, ``major:minor``); the device's model and serial come from
``/sys/dev/block/MAJ:MIN`` (the partition's disk) when present. Both paths are module variables
so tests can feed crafted text.

What a file-level overwrite reaches depends on the file system:

- journalled data (ext3/ext4 ``data=journal``): every write goes through the journal first, so
  the old content and each pass stay in the journal: not sanitized;
- copy-on-write or log-structured (btrfs, zfs, bcachefs, nilfs2, f2fs, apfs): overwrites land
  in new blocks: not sanitized;
- network file systems (nfs, cifs/smb, sshfs, 9p, ceph, ...): the server's storage, snapshots and
  caches are out of reach: not sanitized;
- memory file systems (tmpfs, ramfs): the overwrite reaches the pages in RAM; pages swapped out
  earlier may remain in swap: Clear, with that reason;
- anything else: Clear at best (journals of metadata, SSD wear levelling, backups).
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any

MOUNTINFO = "/proc/self/mountinfo"
SYS_DEV_BLOCK = "/sys/dev/block"

COW = frozenset({"btrfs", "zfs", "bcachefs", "nilfs2", "f2fs", "apfs"})
NETWORK = frozenset(
    {
        "nfs",
        "nfs4",
        "cifs",
        "smb3",
        "smbfs",
        "fuse.sshfs",
        "sshfs",
        "9p",
        "ceph",
        "glusterfs",
        "fuse.glusterfs",
        "fuse.s3fs",
        "fuse.rclone",
        "afs",
        "ncpfs",
        "davfs",
        "fuse.davfs",
        "lustre",
        "gpfs",
        "beegfs",
        "virtiofs",
    }
)
MEMORY = frozenset({"tmpfs", "ramfs", "devtmpfs", "hugetlbfs", "shm"})


@dataclass(frozen=True)
class Mount:
    mount_id: str
    major_minor: str
    root: str
    mount_point: str
    mount_options: tuple[str, ...]
    fs_type: str
    source: str
    super_options: tuple[str, ...]

    @property
    def options(self) -> tuple[str, ...]:
        return self.mount_options + tuple(
            o for o in self.super_options if o not in self.mount_options
        )


def _unescape(value: str) -> str:
    """mountinfo escapes space, tab, newline and backslash as octal (``\\040``)."""
    out, i = [], 0
    while i < len(value):
        code = value[i + 1 : i + 4]
        if value[i] == "\\" and len(code) == 3 and all(c in "01234567" for c in code):
            out.append(chr(int(code, 8)))
            i += 4
        else:
            out.append(value[i])
            i += 1
    return "".join(out)


def parse_mountinfo(text: str) -> list[Mount]:
    """Parse ``/proc/self/mountinfo`` text (proc(5)); malformed lines are skipped."""
    mounts = []
    for line in text.splitlines():
        left, sep, right = line.partition(" - ")
        fields, tail = left.split(), right.split()
        if not sep or len(fields) < 6 or len(tail) < 2:
            continue
        mounts.append(
            Mount(
                mount_id=fields[0],
                major_minor=fields[2],
                root=_unescape(fields[3]),
                mount_point=_unescape(fields[4]),
                mount_options=tuple(fields[5].split(",")),
                fs_type=tail[0],
                source=_unescape(tail[1]),
                super_options=tuple(tail[2].split(",")) if len(tail) > 2 else (),
            )
        )
    return mounts


def mount_of(path: str | Path, text: str | None = None) -> Mount | None:
    """The mount holding ``path`` (the last, longest matching mount point: later mounts hide
    earlier ones)."""
    if text is None:
        try:
            with open(MOUNTINFO, encoding="utf-8", errors="replace") as fh:
                text = fh.read()
        except OSError:
            return None
    target = os.path.abspath(str(path))
    best: Mount | None = None
    for m in parse_mountinfo(text):
        mp = m.mount_point
        if (target == mp or target.startswith(mp.rstrip("/") + "/")) and (
            best is None or len(mp) >= len(best.mount_point)
        ):
            best = m
    return best


def _read(path: Path) -> str | None:
    try:
        return path.read_text(encoding="utf-8", errors="replace").strip() or None
    except OSError:
        return None


def device_info(major_minor: str, sys_dev_block: str | None = None) -> dict[str, Any]:
    """Model, serial and rotational flag of the block device ``major:minor`` (its disk, for a
    partition), from sysfs; empty where the device has none (virtual, network, memory)."""
    base = Path(sys_dev_block or SYS_DEV_BLOCK) / major_minor
    if not base.exists():
        return {}
    try:
        node = base.resolve()
    except OSError:
        return {}
    disk = node if (node / "device").exists() else node.parent
    info: dict[str, Any] = {"block_device": disk.name}
    for key, rel in (
        ("model", "device/model"),
        ("vendor", "device/vendor"),
        ("serial", "device/serial"),
        ("wwid", "device/wwid"),
        ("rotational", "queue/rotational"),
    ):
        value = _read(disk / rel)
        if value is not None:
            info[key] = value == "1" if key == "rotational" else value
    return info


def describe(
    path: str | Path, *, text: str | None = None, sys_dev_block: str | None = None
) -> dict[str, Any]:
    """The medium holding ``path``, for a certificate item."""
    m = mount_of(path, text)
    if m is None:
        return {"fs_type": "unknown", "class": "unknown", "source": None}
    kind = classify(m)
    out: dict[str, Any] = {
        "fs_type": m.fs_type,
        "class": kind,
        "mount_point": m.mount_point,
        "source": m.source,
        "major_minor": m.major_minor,
        "mount_options": list(m.options),
    }
    if kind not in ("network", "memory"):
        out.update(device_info(m.major_minor, sys_dev_block))
    return out


def classify(m: Mount) -> str:
    fs = m.fs_type
    if fs in COW:
        return "copy-on-write"
    if fs in NETWORK or fs.startswith("fuse.sshfs"):
        return "network"
    if fs in MEMORY:
        return "memory"
    if "data=journal" in m.options:
        return "journalled-data"
    return "local"


def overwrite_reach(medium: dict[str, Any]) -> tuple[str, str | None]:
    """(NIST category an in-place overwrite can reach, why it is downgraded or None)."""
    kind, fs = medium.get("class"), medium.get("fs_type")
    if kind == "journalled-data":
        return "none", (
            f"Not sanitized: the file system ({fs}) is mounted with data=journal, so the old "
            "content and every overwrite pass were written to the journal first and may remain "
            "there."
        )
    if kind == "copy-on-write":
        return "none", (
            f"Not sanitized: the file system ({fs}) is copy-on-write or log-structured: "
            "overwrites land in new blocks and the old ones may survive, so this erasure counts "
            "as unlink only. Use a vault asset and cryptographic_erase."
        )
    if kind == "network":
        return "none", (
            f"Not sanitized: the file system ({fs}, from {medium.get('source')}) is a network "
            "file system; the server's disks, snapshots, caches and its own file system layout "
            "are out of this tool's reach."
        )
    if kind == "memory":
        return "Clear", (
            f"Clear: the file system ({fs}) lives in memory; the overwrite reached the pages in "
            "RAM, but pages swapped out earlier may remain on the swap device."
        )
    return "Clear", None
