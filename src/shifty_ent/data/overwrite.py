"""In-place overwrite passes on an open file descriptor, with read-back verification.

Speed recipe (see docs/data.md and reference §2.3): one page-aligned 4 MiB buffer per role,
static patterns built once per pass, random passes from an AES-256-CTR keystream generated in
place with ``update_into`` (several GB/s, unlike ``os.urandom``), positional writes, ``O_DIRECT``
where the file system allows it, and exactly one ``fdatasync`` per pass. Random passes are
verified by regenerating the keystream from the pass's key and nonce (kept only in memory).

Fault injection for crash tests: ``SHIFTY_FAULT_KILL_AFTER_PASS=N`` makes the process SIGKILL
itself right after the N-th completed pass (counted across the whole process);
``SHIFTY_FAULT_KILL_AT=renamed`` right after a file was renamed to its random name.
"""

from __future__ import annotations

import ctypes
import errno
import mmap
import os
import secrets
import signal
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import Any

from cryptography.hazmat.primitives.ciphers import Cipher, algorithms, modes

BUF = 4 * 1024 * 1024
ALIGN = 4096
FAULT_ENV = "SHIFTY_FAULT_KILL_AFTER_PASS"
FAULT_AT_ENV = "SHIFTY_FAULT_KILL_AT"
_passes_in_process = 0


class VerificationFailed(Exception):
    """A read-back did not match what the pass wrote."""


@dataclass
class Pass:
    pattern: int | None  # a byte value, or None for AES-CTR random
    verify: bool = False
    key: bytes = field(default=b"", repr=False)
    nonce: bytes = field(default=b"", repr=False)

    @property
    def label(self) -> str:
        return "random" if self.pattern is None else f"{self.pattern:02x}"


def plan(method: str) -> list[Pass]:
    """The passes of an overwrite method (empty for ``standard``)."""
    rnd = lambda verify=False: Pass(None, verify)  # noqa: E731
    if method == "secure_overwrite":  # DoD "E": c, ~c, random; verify the last pass
        return [Pass(0x00), Pass(0xFF), rnd(True)]
    if method == "dod_5220":  # ECE: E (c1, ~c1, rand) + C (c2) + E (c3, ~c3, rand)
        c1, c2, c3 = (secrets.randbelow(256) for _ in range(3))
        return [
            Pass(c1),
            Pass(c1 ^ 0xFF),
            rnd(True),
            Pass(c2),
            Pass(c3),
            Pass(c3 ^ 0xFF),
            rnd(True),
        ]
    if method in ("nist_800_88", "cryptographic_erase"):  # Clear: one random pass, verified
        return [rnd(True)]
    return []


def _fault_check() -> None:
    global _passes_in_process
    _passes_in_process += 1
    limit = os.environ.get(FAULT_ENV)
    if limit and limit.isdigit() and _passes_in_process >= int(limit):
        os.kill(os.getpid(), signal.SIGKILL)


def fault_point(name: str) -> None:
    """Crash-test hook: SIGKILL this process at a named point when asked to."""
    if os.environ.get(FAULT_AT_ENV) == name:
        os.kill(os.getpid(), signal.SIGKILL)


def _set_direct(fd: int, on: bool) -> bool:
    flag = getattr(os, "O_DIRECT", 0)
    if not flag:
        return False
    import fcntl

    try:
        cur = fcntl.fcntl(fd, fcntl.F_GETFL)
        fcntl.fcntl(fd, fcntl.F_SETFL, (cur | flag) if on else (cur & ~flag))
    except OSError:
        return False
    return on


def _libc_memcmp() -> Any:
    libc = ctypes.CDLL(None)
    fn = libc.memcmp
    fn.restype = ctypes.c_int
    fn.argtypes = [ctypes.c_void_p, ctypes.c_void_p, ctypes.c_size_t]
    return fn


_memcmp = _libc_memcmp()


class _Buffers:
    """Page-aligned buffers; read-back is compared with libc memcmp (no copies: slicing an
    mmap or comparing memoryviews copies or unpacks per byte and ran ~100x slower)."""

    def __init__(self) -> None:
        # two output buffers: one is filled while a worker thread writes the other
        self.outs = [mmap.mmap(-1, BUF + ALIGN) for _ in range(2)]  # + update_into slack
        self.read = mmap.mmap(-1, BUF)
        self.expect = mmap.mmap(-1, BUF + ALIGN)
        self.zeros = bytes(BUF)
        self._read_ref = ctypes.c_char.from_buffer(self.read)
        self._expect_ref = ctypes.c_char.from_buffer(self.expect)

    def same(self, n: int) -> bool:
        return _memcmp(ctypes.addressof(self._read_ref), ctypes.addressof(self._expect_ref), n) == 0

    def close(self) -> None:
        del self._read_ref, self._expect_ref  # release the exports before closing the maps
        for m in (*self.outs, self.read, self.expect):
            m.close()


def _keystream(p: Pass) -> Any:
    return Cipher(algorithms.AES(p.key), modes.CTR(p.nonce)).encryptor()


def _fill_static(buf: mmap.mmap, byte: int) -> None:
    buf.seek(0)
    buf.write(bytes([byte]) * BUF)


def _pwrite_all(fd: int, view: memoryview, offset: int) -> None:
    while len(view):
        n = os.pwrite(fd, view, offset)
        if n <= 0:
            raise OSError("short write")
        view, offset = view[n:], offset + n


def _pread_into(fd: int, view: memoryview, offset: int) -> None:
    got = 0
    while got < len(view):
        n = os.preadv(fd, [view[got:]], offset + got)
        if n <= 0:
            raise VerificationFailed(f"read-back ended early at offset {offset + got}")
        got += n


def aligned(size: int) -> int:
    """The bytes one pass writes over a file of ``size`` bytes (whole 4 KiB blocks)."""
    return -(-size // ALIGN) * ALIGN


def overwrite_fd(
    fd: int,
    size: int,
    passes: list[Pass],
    *,
    start_pass: int = 0,
    on_pass: Callable[[int, dict[str, Any]], None] | None = None,
    on_bytes: Callable[[int], None] | None = None,
    on_pass_start: Callable[[int], None] | None = None,
    direct: bool = True,
) -> list[dict[str, Any]]:
    """Run ``passes[start_pass:]`` over ``size`` bytes (rounded up to 4 KiB) of ``fd``.

    Returns one record per pass run: pattern, bytes written, verification result. Raises
    :class:`VerificationFailed` when a read-back differs.
    """
    length = aligned(size)
    results: list[dict[str, Any]] = []
    if length == 0:
        return results
    use_direct = _set_direct(fd, True) if direct else False
    bufs = _Buffers()
    writer = ThreadPoolExecutor(max_workers=1, thread_name_prefix="shifty-overwrite")
    try:
        for index in range(start_pass, len(passes)):
            p = passes[index]
            if on_pass_start:
                on_pass_start(index + 1)
            if p.pattern is None:
                p.key, p.nonce = secrets.token_bytes(32), secrets.token_bytes(16)
                enc = _keystream(p)
            else:
                for buf in bufs.outs:
                    _fill_static(buf, p.pattern)
            offset, chunk, pending = 0, 0, None
            while offset < length:
                n = min(BUF, length - offset)
                buf = bufs.outs[chunk % 2]
                if p.pattern is None:  # fill while the other buffer is being written
                    enc.update_into(bufs.zeros[:n], buf)
                if pending is not None:
                    use_direct = pending.result()
                pending = writer.submit(_write_chunk, fd, buf, n, offset, use_direct)
                offset, chunk = offset + n, chunk + 1
                if on_bytes:
                    on_bytes(n)
            if pending is not None:
                use_direct = pending.result()
            os.fdatasync(fd)
            record: dict[str, Any] = {
                "pass": index + 1,
                "pattern": p.label,
                "bytes": length,
                "o_direct": use_direct,
            }
            if p.verify:
                _verify(fd, length, p, bufs, use_direct, writer)
                record["verified"] = "full read-back from the device matched"
            results.append(record)
            if on_pass:
                on_pass(index + 1, record)
            _fault_check()
    finally:
        writer.shutdown(wait=True)
        bufs.close()
        if use_direct:
            _set_direct(fd, False)
    return results


def _write_chunk(fd: int, buf: mmap.mmap, n: int, offset: int, direct: bool) -> bool:
    """Write ``buf[:n]`` at ``offset``; falls back to buffered I/O where O_DIRECT is refused.

    Returns whether O_DIRECT is still in use.
    """
    view = memoryview(buf)[:n]
    try:
        try:
            _pwrite_all(fd, view, offset)
        except OSError as exc:
            if not direct or exc.errno != errno.EINVAL:
                raise
            direct = _set_direct(fd, False)
            _pwrite_all(fd, view, offset)
    finally:
        view.release()
    return direct


def _verify(
    fd: int, length: int, p: Pass, bufs: _Buffers, direct: bool, reader: ThreadPoolExecutor
) -> None:
    """Read the pass back from the device and compare it with what was written.

    The page cache is dropped first (POSIX_FADV_DONTNEED after the pass's fdatasync), so the
    reads come from the device; they are buffered reads so that kernel readahead keeps the
    device busy (O_DIRECT reads of one 4 MiB block at a time measured ~2x slower here). The
    expected keystream is regenerated while the block is being read.
    """
    if direct:
        _set_direct(fd, False)
    os.posix_fadvise(fd, 0, 0, os.POSIX_FADV_DONTNEED)
    os.posix_fadvise(fd, 0, 0, os.POSIX_FADV_SEQUENTIAL)
    if p.pattern is None:
        enc = _keystream(p)
    else:
        _fill_static(bufs.expect, p.pattern)
    offset = 0
    try:
        while offset < length:
            n = min(BUF, length - offset)
            pending = reader.submit(_read_chunk, fd, bufs.read, n, offset)
            if p.pattern is None:
                enc.update_into(bufs.zeros[:n], bufs.expect)
            pending.result()
            if not bufs.same(n):
                raise VerificationFailed(
                    f"pass {p.label}: read-back differs in the block at offset {offset}"
                )
            offset += n
    finally:
        os.posix_fadvise(fd, 0, 0, os.POSIX_FADV_DONTNEED)
        if direct:
            _set_direct(fd, True)


def _read_chunk(fd: int, buf: mmap.mmap, n: int, offset: int) -> None:
    view = memoryview(buf)[:n]
    try:
        _pread_into(fd, view, offset)
    finally:
        view.release()
