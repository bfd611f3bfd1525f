"""Every file the tool writes goes through here: checked target, temporary file, rename.

Why: ``--out`` used to be opened with ``O_TRUNC`` or renamed over blindly, so ``--out /dev/null``
replaced the device node with a regular file and, as root, ``--out /etc/passwd`` destroyed the
password file. Here a target must be absent, or a regular file when ``force`` is given; anything
else (a device, FIFO, socket, directory or symlink) is refused before anything is opened, so a
FIFO cannot make the command hang. The bytes go to a temporary file in the target's directory,
created ``0600`` whatever the umask, and only a complete file is renamed into place (linked,
without ``force``, so a file that appeared meanwhile is never replaced).

Kept free of heavy imports: options and the kernel use it.
"""

from __future__ import annotations

import errno
import os
import stat
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import BinaryIO

from shifty_ent.core.errors import Conflict, ExternalServiceError, InvalidInput, ShiftyError

FILE_MODE = 0o600
DIR_MODE = 0o700
NAME_MAX = 255
KINDS = {
    stat.S_IFCHR: "a character device",
    stat.S_IFBLK: "a block device",
    stat.S_IFIFO: "a FIFO",
    stat.S_IFSOCK: "a socket",
    stat.S_IFDIR: "a directory",
    stat.S_IFLNK: "a symbolic link",
}
FULL = (errno.ENOSPC, errno.EDQUOT, errno.EFBIG)


def kind_of(mode: int) -> str:
    """``a FIFO``, ``a directory``, ...: what a non-regular file is, for one-line refusals."""
    return KINDS.get(stat.S_IFMT(mode), "not a regular file")


def os_error(exc: OSError, path: Path | str, what: str = "write") -> ShiftyError:
    """A documented error for an OS failure: a full disk or quota is exit 6, the rest exit 2."""
    reason = exc.strerror or str(exc)
    if exc.errno in FULL:
        return ExternalServiceError(f"cannot {what} {path}: {reason} (free space and rerun)")
    return InvalidInput(f"cannot {what} {path}: {reason}")


def check_target(path: Path, *, force: bool = False, flag: str = "--out") -> Path:
    """The absolute path to write, or a refusal: nothing is created or opened here.

    A missing parent, a parent that is not a directory or a too-long name is exit 2; a target that
    is not a regular file is exit 2; an existing regular file without ``force`` is exit 5.
    """
    raw = str(path)
    if not raw or "\x00" in raw:
        raise InvalidInput(f"{flag}: not a usable file name")
    target = Path(os.path.abspath(os.path.expanduser(raw)))
    label = f"{flag} {raw}" if flag else raw
    if raw.endswith(os.sep) or target.name in ("", ".", ".."):
        raise InvalidInput(f"{label}: name a file, not a directory")
    if len(os.fsencode(target.name)) > NAME_MAX:
        raise InvalidInput(f"{label}: file name longer than {NAME_MAX} bytes")
    try:
        parent = os.stat(target.parent)
    except OSError as exc:
        if exc.errno == errno.ENOENT:
            raise InvalidInput(f"{label}: directory {target.parent} does not exist") from None
        if exc.errno == errno.ENOTDIR:
            raise InvalidInput(f"{label}: {target.parent} is not a directory") from None
        raise os_error(exc, target, "write") from None
    if not stat.S_ISDIR(parent.st_mode):
        raise InvalidInput(f"{label}: {target.parent} is not a directory")
    try:
        st = os.lstat(target)
    except FileNotFoundError:
        return target
    except OSError as exc:
        raise os_error(exc, target, "write") from None
    if not stat.S_ISREG(st.st_mode):
        raise InvalidInput(f"{label} is {kind_of(st.st_mode)}; name a regular file")
    if not force:
        raise _exists(flag, Path(raw))
    return target


def _exists(flag: str, target: Path) -> Conflict:
    return Conflict(f"{flag} {target} already exists; pass --force to replace it")


def _temp(folder: Path) -> tuple[int, Path]:
    tmp = folder / f".shifty-{uuid.uuid4().hex[:12]}.tmp"
    flags = os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW | os.O_CLOEXEC
    fd = os.open(tmp, flags, FILE_MODE)
    os.fchmod(fd, FILE_MODE)  # the umask only narrows; this makes it exact
    return fd, tmp


def _install(tmp: Path, target: Path, *, force: bool, flag: str) -> None:
    """Move the finished ``tmp`` to ``target``; without ``force`` never over an existing file."""
    if not force:
        try:
            os.link(tmp, target)
        except FileExistsError:
            raise _exists(flag, target) from None
        except OSError as exc:
            if exc.errno not in (errno.EPERM, errno.ENOTSUP, errno.EXDEV, errno.EMLINK):
                raise
            if os.path.lexists(target):
                raise _exists(flag, target) from None
            os.replace(tmp, target)
            return
        os.unlink(tmp)
        return
    try:
        st = os.lstat(target)
    except FileNotFoundError:
        pass
    else:
        if not stat.S_ISREG(st.st_mode):
            raise InvalidInput(f"{flag} {target} is {kind_of(st.st_mode)}; name a regular file")
    os.replace(tmp, target)


def _sync_dir(folder: Path) -> None:
    try:
        fd = os.open(folder, os.O_RDONLY | os.O_DIRECTORY | os.O_CLOEXEC)
    except OSError:
        return
    try:
        os.fsync(fd)
    except OSError:
        pass
    finally:
        os.close(fd)


@contextmanager
def open_output(path: Path, *, force: bool = False, flag: str = "--out") -> Iterator[BinaryIO]:
    """A binary file whose content appears at ``path`` only when the block ends without error."""
    target = check_target(path, force=force, flag=flag)
    try:
        fd, tmp = _temp(target.parent)
    except OSError as exc:
        raise os_error(exc, target) from None
    try:
        with os.fdopen(fd, "w+b") as fh:
            yield fh
            fh.flush()
            os.fsync(fh.fileno())
        _install(tmp, target, force=force, flag=flag)
    except OSError as exc:
        tmp.unlink(missing_ok=True)
        raise os_error(exc, target) from None
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise
    _sync_dir(target.parent)


def write_file(path: Path, data: bytes, *, force: bool = False, flag: str = "--out") -> Path:
    """Write ``data`` to ``path`` through :func:`open_output`; returns the absolute path."""
    with open_output(path, force=force, flag=flag) as fh:
        fh.write(data)
    return Path(os.path.abspath(os.path.expanduser(str(path))))


def private_dir(path: Path) -> Path:
    """Create ``path`` and missing parents as ``0700`` whatever the umask; existing ones are left
    as they are (a shared parent is not ours to tighten). Refuses a non-directory in the way."""
    missing: list[Path] = []
    cur = Path(os.path.abspath(os.path.expanduser(str(path))))
    while not os.path.lexists(cur):
        missing.append(cur)
        cur = cur.parent
    if not cur.is_dir():
        raise InvalidInput(f"{cur} is not a directory")
    for folder in reversed(missing):
        try:
            os.mkdir(folder, DIR_MODE)
        except FileExistsError:
            continue
        except OSError as exc:
            raise os_error(exc, folder, "create directory") from None
        os.chmod(folder, DIR_MODE)
    return Path(os.path.abspath(os.path.expanduser(str(path))))
