"""Open a local asset for erasure without ever following a link or leaving an allowed root.

The string path is only a lexical first filter. The real check walks from the allowed root's
file descriptor one component at a time with ``O_NOFOLLOW`` (``..``, symlinks, other devices
refused), ``lstat``s the leaf through its parent's descriptor, opens it with ``O_NOFOLLOW`` and
compares the inode of what was opened with what was looked at. Everything afterwards acts on
descriptors. Refusals raise :class:`~shifty_ent.core.errors.Refused` before anything changed.
"""

from __future__ import annotations

import contextlib
import errno
import os
import stat
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path

from shifty_ent.core.errors import Refused

DIR_FLAGS = os.O_RDONLY | os.O_DIRECTORY | os.O_NOFOLLOW | os.O_CLOEXEC
FILE_FLAGS = os.O_RDWR | os.O_NOFOLLOW | os.O_NONBLOCK | os.O_NOCTTY | os.O_CLOEXEC
COW_FILESYSTEMS = frozenset({"btrfs", "zfs", "bcachefs", "nilfs2", "f2fs", "apfs"})


@dataclass
class Target:
    """An opened local asset: the parent directory fd, the leaf name and the leaf fd."""

    path: Path
    root: Path
    parent_fd: int
    name: str
    fd: int | None
    st: os.stat_result | None
    fs_type: str
    _fds: list[int] = field(default_factory=list, repr=False)

    @property
    def exists(self) -> bool:
        return self.st is not None

    @property
    def is_dir(self) -> bool:
        return self.st is not None and stat.S_ISDIR(self.st.st_mode)

    @property
    def inode(self) -> str | None:
        return f"{self.st.st_dev}:{self.st.st_ino}" if self.st else None

    def close(self) -> None:
        for fd in reversed(self._fds):
            with contextlib.suppress(OSError):
                os.close(fd)
        self._fds.clear()

    def __enter__(self) -> Target:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


def allowed_roots(roots: Sequence[str | Path]) -> list[Path]:
    """The tenant's data roots on this host (``tenant root add``) that exist, fully resolved."""
    out: list[Path] = []
    for root in (Path(r) for r in roots):
        # the configured spelling and the resolved one both count (e.g. /tmp -> /private/tmp);
        # roots are trusted configuration, the paths below them are not
        for form in (Path(os.path.abspath(root)), Path(os.path.realpath(root))):
            if form.is_dir() and form not in out:
                out.append(form)
    return out


def within(path: Path, roots: Sequence[Path]) -> tuple[Path, list[str]]:
    """The root that lexically contains ``path`` and the components below it."""
    candidates = [Path(os.path.abspath(path))]
    for cand in candidates:
        for root in sorted(roots, key=lambda r: len(str(r)), reverse=True):
            try:
                rel = cand.relative_to(root)
            except ValueError:
                continue
            parts = list(rel.parts)
            if not parts:
                raise Refused(f"{path} is an allowed root itself; erase what is inside it instead")
            if any(p in ("", ".", "..") for p in parts):
                raise Refused(f"{path} contains '.' or '..' components")
            return root, parts
    if not roots:
        raise Refused(
            f"{path} cannot be erased: no allowed data roots are configured "
            "for this tenant on this host (an installation administrator adds one: "
            "'tenant root add PATH -t TENANT')"
        )
    raise Refused(f"{path} is outside the allowed data roots ({', '.join(map(str, roots))})")


def fs_type_of(path: Path) -> str:
    """File-system type of the mount holding ``path`` (from /proc/self/mountinfo)."""
    best, kind = "", "unknown"
    try:
        with open("/proc/self/mountinfo", encoding="utf-8", errors="replace") as fh:
            for line in fh:
                left, _, right = line.partition(" - ")
                fields = left.split()
                if len(fields) < 5 or not right:
                    continue
                mount = fields[4].replace("\\040", " ")
                target = str(path)
                if (target == mount or target.startswith(mount.rstrip("/") + "/")) and len(
                    mount
                ) >= len(best):
                    best, kind = mount, right.split()[0]
    except OSError:
        pass
    return kind


def open_target(path: Path, roots: Sequence[Path], *, must_exist: bool = False) -> Target:
    """Open ``path`` safely below one of ``roots`` (caller closes the returned Target).

    A missing leaf gives a Target with ``fd`` and ``st`` None (already gone); a missing parent
    directory likewise. Everything unsafe raises Refused.
    """
    root, parts = within(path, roots)
    fds: list[int] = []
    try:
        cur = os.open(os.path.realpath(root), DIR_FLAGS & ~os.O_NOFOLLOW)
        fds.append(cur)
        root_dev = os.fstat(cur).st_dev
        for part in parts[:-1]:
            try:
                nxt = os.open(part, DIR_FLAGS, dir_fd=cur)
            except FileNotFoundError:
                if must_exist:
                    raise Refused(f"{path} does not exist") from None
                return Target(path, root, cur, parts[-1], None, None, fs_type_of(root), fds)
            except OSError as exc:
                if exc.errno in (errno.ELOOP, errno.ENOTDIR):
                    raise Refused(
                        f"{path}: component {part!r} is a symbolic link or not a directory"
                    ) from None
                raise Refused(f"{path}: cannot open {part!r}: {exc.strerror}") from None
            fds.append(nxt)
            if os.fstat(nxt).st_dev != root_dev:
                raise Refused(f"{path}: {part!r} is on another file system than the root {root}")
            cur = nxt
        name = parts[-1]
        try:
            st = os.lstat(name, dir_fd=cur)
        except FileNotFoundError:
            if must_exist:
                raise Refused(f"{path} does not exist") from None
            return Target(path, root, cur, name, None, None, fs_type_of(root), fds)
        _refuse_kind(path, st)
        flags = DIR_FLAGS if stat.S_ISDIR(st.st_mode) else FILE_FLAGS
        try:
            fd = os.open(name, flags, dir_fd=cur)
        except OSError as exc:
            if exc.errno == errno.ELOOP:
                raise Refused(f"{path} is a symbolic link") from None
            raise Refused(f"{path}: cannot open for erasure: {exc.strerror}") from None
        fds.append(fd)
        fst = os.fstat(fd)
        if (fst.st_dev, fst.st_ino) != (st.st_dev, st.st_ino):
            raise Refused(f"{path} changed while it was being opened; nothing was erased")
        _refuse_kind(path, fst)
        if fst.st_dev != root_dev:
            raise Refused(f"{path} is on another file system than the root {root}")
        return Target(path, root, cur, name, fd, fst, fs_type_of(Path(root)), fds)
    except BaseException:
        for fd in reversed(fds):
            os.close(fd)
        raise


def _refuse_kind(path: Path, st: os.stat_result) -> None:
    mode = st.st_mode
    if stat.S_ISLNK(mode):
        raise Refused(f"{path} is a symbolic link; refusing to erase through it")
    if stat.S_ISCHR(mode) or stat.S_ISBLK(mode):
        raise Refused(f"{path} is a device; only regular files and directories can be erased")
    if stat.S_ISSOCK(mode):
        raise Refused(f"{path} is a socket; only regular files and directories can be erased")
    if stat.S_ISFIFO(mode):
        raise Refused(f"{path} is a FIFO; only regular files and directories can be erased")
    if stat.S_ISREG(mode) and st.st_nlink > 1:
        raise Refused(
            f"{path} has {st.st_nlink} hard links; overwriting it would destroy data other "
            "names still point to, and unlinking one name would not remove it"
        )
    if not (stat.S_ISREG(mode) or stat.S_ISDIR(mode)):
        raise Refused(f"{path} is not a regular file or directory")


@dataclass
class Entry:
    """One entry of a directory tree, relative to the tree's top (for erasure bottom-up)."""

    rel: tuple[str, ...]
    kind: str  # file | dir | symlink
    size: int


def scan_tree(dir_fd: int, display: Path) -> list[Entry]:
    """Every entry below an opened directory, children before parents; refuses unsafe entries."""
    out: list[Entry] = []

    def walk(fd: int, rel: tuple[str, ...]) -> None:
        with os.scandir(fd) as it:
            entries = sorted(it, key=lambda e: e.name)
        for entry in entries:
            st = entry.stat(follow_symlinks=False)
            sub = (*rel, entry.name)
            shown = display.joinpath(*sub)
            if stat.S_ISLNK(st.st_mode):
                out.append(Entry(sub, "symlink", 0))  # unlinked itself, never followed
                continue
            _refuse_kind(shown, st)
            if stat.S_ISDIR(st.st_mode):
                child = os.open(entry.name, DIR_FLAGS, dir_fd=fd)
                try:
                    if os.fstat(child).st_ino != st.st_ino:
                        raise Refused(f"{shown} changed during the scan; nothing was erased")
                    walk(child, sub)
                finally:
                    os.close(child)
                out.append(Entry(sub, "dir", 0))
            else:
                out.append(Entry(sub, "file", st.st_size))

    walk(dir_fd, ())
    return out


def open_parent(top_fd: int, rel: tuple[str, ...]) -> Iterator[int]:
    """Yield fds of the directories on ``rel[:-1]`` below ``top_fd`` (caller closes)."""
    cur = top_fd
    for part in rel[:-1]:
        cur = os.open(part, DIR_FLAGS, dir_fd=cur)
        yield cur
