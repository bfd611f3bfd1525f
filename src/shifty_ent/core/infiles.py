"""Files read as input: regular files only, checked before they are opened, read in bounded chunks.

Why: opening a FIFO for reading blocks until a writer appears (``data asset ingest FIFO`` hung
forever), a character device such as ``/dev/zero`` never ends (``--payload @/dev/zero`` read
until memory ran out), and a large regular file was read whole into memory. Here a path that is
not a regular file (FIFO, socket, device) is refused with exit 2 before it is opened, the open
itself is non-blocking and re-checked on the descriptor (a path swapped in between is refused
too), and a read stops, refused, one chunk past its documented limit.

Limits (README, "Input limits"): ``--payload @FILE`` 1 MiB, ``arcade mission import FILE``
64 MiB, a certificate or report signature JSON 16 MiB.
"""

from __future__ import annotations

import os
import stat
from pathlib import Path

from shifty_ent.core.errors import InvalidInput

MiB = 1024 * 1024
PAYLOAD_MAX = 1 * MiB
MISSIONS_MAX = 64 * MiB
DOCUMENT_MAX = 16 * MiB  # a deletion certificate, a report signature, a checkpoint file
CHUNK = 1 * MiB

_OPEN_FLAGS = os.O_RDONLY | os.O_NONBLOCK | os.O_NOCTTY | os.O_CLOEXEC


def kind(mode: int) -> str:
    """What a non-regular file is, in words."""
    if stat.S_ISFIFO(mode):
        return "a FIFO"
    if stat.S_ISSOCK(mode):
        return "a socket"
    if stat.S_ISCHR(mode):
        return "a character device"
    if stat.S_ISBLK(mode):
        return "a block device"
    if stat.S_ISDIR(mode):
        return "a directory"
    return "not a regular file"


def refuse_special(path: str | os.PathLike[str], what: str, *, allow_dir: bool = False) -> None:
    """Refuse (exit 2) ``path`` when it exists and is neither a regular file nor, with
    ``allow_dir``, a directory. Symlinks are followed; a missing path is left to the caller."""
    try:
        st = os.stat(path)
    except (OSError, ValueError):
        return
    if stat.S_ISREG(st.st_mode) or (allow_dir and stat.S_ISDIR(st.st_mode)):
        return
    raise InvalidInput(f"{what} {os.fsdecode(path)} is {kind(st.st_mode)}, not a regular file")


def open_regular(path: str | os.PathLike[str], what: str, *, nofollow: bool = False) -> int:
    """A read-only descriptor of the regular file ``path``; refuses anything else (exit 2)
    without blocking. OSError (missing, unreadable) is left to the caller."""
    refuse_special(path, what)
    fd = os.open(path, _OPEN_FLAGS | (os.O_NOFOLLOW if nofollow else 0))
    try:
        st = os.fstat(fd)
        if not stat.S_ISREG(st.st_mode):
            raise InvalidInput(
                f"{what} {os.fsdecode(path)} is {kind(st.st_mode)}, not a regular file"
            )
        os.set_blocking(fd, True)
    except BaseException:
        os.close(fd)
        raise
    return fd


def read_bounded(path: str | os.PathLike[str], what: str, limit: int) -> bytes:
    """The bytes of the regular file ``path``, read in chunks; refused (exit 2) past ``limit``
    bytes. OSError (missing, unreadable) is left to the caller."""
    fd = open_regular(path, what)
    try:
        if os.fstat(fd).st_size > limit:
            raise InvalidInput(f"{what} {os.fsdecode(path)} is larger than {_size(limit)}")
        parts: list[bytes] = []
        total = 0
        while chunk := os.read(fd, min(CHUNK, limit + 1 - total)):
            parts.append(chunk)
            total += len(chunk)
            if total > limit:
                raise InvalidInput(f"{what} {os.fsdecode(path)} is larger than {_size(limit)}")
        return b"".join(parts)
    finally:
        os.close(fd)


def _size(limit: int) -> str:
    return f"{limit // MiB} MiB" if limit % MiB == 0 else f"{limit} bytes"


def is_regular(path: Path) -> bool:
    """Whether ``path`` (symlinks followed) is a regular file; never blocks, never raises."""
    try:
        return stat.S_ISREG(os.stat(path).st_mode)
    except (OSError, ValueError):
        return False
