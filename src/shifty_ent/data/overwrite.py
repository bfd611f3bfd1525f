"""In-place overwrite passes on an open file descriptor, with read-back verification.

Speed recipe (see docs/data.md): page-aligned 4 MiB buffers, static patterns built once per
pass, random passes from an AES-256-CTR keystream generated in place with ``update_into``
(several GB/s, unlike ``os.urandom``), positional writes, ``O_DIRECT`` where the file system
allows it, and exactly one ``fdatasync`` per pass. The pre-erasure SHA-256 is taken inside the
first pass (block i read and hashed just before it is overwritten, block i+1 read while block i
is written), never as a read pass of its own. Verified passes are read back from the device:
under ``O_DIRECT`` each block right after its write, compared with the buffer written; with
buffered writes after the pass's ``fdatasync`` with the page cache dropped, the keystream
regenerated from the pass's key and nonce (kept only in memory).

Fault injection for crash tests: ``SHIFTY_FAULT_KILL_AFTER_PASS=N`` makes the process SIGKILL
itself right after the N-th completed pass (counted across the whole process);
``SHIFTY_FAULT_KILL_AT=renamed`` right after a file was renamed to its random name,
``SHIFTY_FAULT_KILL_AT=hashing`` once the first block of a pass that is also computing the
pre-erasure hash has been overwritten.
"""

from __future__ import annotations

import ctypes
import errno
import mmap
import os
import secrets
import signal
from collections.abc import Callable
from concurrent.futures import Future, ThreadPoolExecutor
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
        # the file's blocks as they were, read just before being overwritten (pre-erasure hash)
        self.originals = [mmap.mmap(-1, BUF) for _ in range(2)]
        self.read = mmap.mmap(-1, BUF)
        self.expect = mmap.mmap(-1, BUF + ALIGN)
        self.zeros = bytes(BUF)
        self._refs = {
            id(m): ctypes.c_char.from_buffer(m) for m in (self.read, self.expect, *self.outs)
        }

    def _addr(self, m: mmap.mmap) -> int:
        return ctypes.addressof(self._refs[id(m)])

    def same(self, n: int) -> bool:
        """Whether the read-back buffer matches the regenerated expectation."""
        return self.same_as(self.expect, n)

    def same_as(self, written: mmap.mmap, n: int) -> bool:
        """Whether the read-back buffer matches ``written`` (the buffer the pass wrote)."""
        return _memcmp(self._addr(self.read), self._addr(written), n) == 0

    def close(self) -> None:
        self._refs.clear()  # release the exports before closing the maps
        for m in (*self.outs, *self.originals, self.read, self.expect):
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
    digest: Any = None,
) -> list[dict[str, Any]]:
    """Run ``passes[start_pass:]`` over ``size`` bytes (rounded up to 4 KiB) of ``fd``.

    ``digest`` (a :mod:`hashlib` object), when given, is fed the first ``size`` bytes of the
    file as they are before erasure: the first pass run reads each block just before it
    overwrites it, so the pre-erasure hash costs no read pass of its own. Once that pass
    returns (``on_pass`` is called after its fdatasync) the digest is complete; a pass that
    raises or is killed leaves it incomplete and the file partly overwritten.

    Returns one record per pass run: pattern, bytes written, verification result. Raises
    :class:`VerificationFailed` when a read-back differs.
    """
    length = aligned(size)
    results: list[dict[str, Any]] = []
    if length == 0:
        return results  # an empty file: ``digest`` already holds the hash of nothing
    use_direct = _set_direct(fd, True) if direct else False
    bufs = _Buffers()
    io = _Io()
    try:
        for index in range(start_pass, len(passes)):
            p = passes[index]
            if on_pass_start:
                on_pass_start(index + 1)
            if p.pattern is None:
                p.key, p.nonce = secrets.token_bytes(32), secrets.token_bytes(16)
            else:
                for buf in bufs.outs:
                    _fill_static(buf, p.pattern)
            hashing = digest if index == start_pass else None
            run = _PassRun(fd, length, p, bufs, io, use_direct, hashing, size)
            use_direct = run.go(on_bytes)
            os.fdatasync(fd)
            record: dict[str, Any] = {
                "pass": index + 1,
                "pattern": p.label,
                "bytes": length,
                "o_direct": use_direct,
            }
            if p.verify and run.verified_inline:
                record["readback_o_direct"] = True
                record["verified"] = (
                    "full read-back from the device matched: each block read with O_DIRECT "
                    "(bypassing the page cache) right after it was written"
                )
            elif p.verify:
                _verify(fd, length, p, bufs, use_direct, io.reader)
                record["readback_o_direct"] = False
                record["verified"] = (
                    "full read-back from the device matched: page cache dropped after the "
                    "pass's fdatasync, then every block read and compared"
                )
            results.append(record)
            if on_pass:
                on_pass(index + 1, record)
            _fault_check()
    finally:
        io.close()
        bufs.close()
        if use_direct:
            _set_direct(fd, False)
    return results


class _Io:
    """One writer and one reader thread: block i+1 is read (to hash it) and block i-1 read back
    (to verify it) while block i is written, and the main thread hashes or fills meanwhile
    (hashlib and the AES keystream release the GIL on large buffers)."""

    def __init__(self) -> None:
        self.writer = ThreadPoolExecutor(max_workers=1, thread_name_prefix="shifty-overwrite")
        self.reader = ThreadPoolExecutor(max_workers=1, thread_name_prefix="shifty-readback")

    def close(self) -> None:
        self.writer.shutdown(wait=True)
        self.reader.shutdown(wait=True)


class _PassRun:
    """One pass over the file, block by block, with the optional fused pre-erasure hash and,
    while O_DIRECT is in use, the read-back of each block right after its write."""

    def __init__(
        self,
        fd: int,
        length: int,
        p: Pass,
        bufs: _Buffers,
        io: _Io,
        direct: bool,
        digest: Any,
        size: int,
    ) -> None:
        self.fd, self.length, self.p, self.bufs, self.io = fd, length, p, bufs, io
        self.direct, self.digest, self.size = direct, digest, size
        # inline read-back is a read from the device only while writes bypass the page cache
        self.verified_inline = p.verify and direct
        self.enc = _keystream(p) if p.pattern is None else None
        self.pending_check: tuple[Future[None], int, int, int] | None = None
        self.pending_read: Future[int] | None = None

    def go(self, on_bytes: Callable[[int], None] | None) -> bool:
        """Write the pass; returns whether O_DIRECT is still in use."""
        fd, length, bufs, io = self.fd, self.length, self.bufs, self.io
        blocks = -(-length // BUF)
        reading = self.digest is not None
        if reading:
            self.direct = self._first_read()
        pending: Future[bool] | None = None
        got = 0
        for i in range(blocks):
            offset = i * BUF
            n = min(BUF, length - offset)
            out = bufs.outs[i % 2]
            self._finish_check(i - 2)  # ``out`` held block i-2: its read-back must be done
            if self.enc is not None:
                self.enc.update_into(bufs.zeros[:n], out)
            if self.pending_read is not None:
                got = self.pending_read.result()  # block i as it was: read before its write
                self.pending_read = None
            if pending is not None:
                self.direct = pending.result()
                self._start_check(i - 1)
                if i == 1 and self.digest is not None:
                    fault_point("hashing")  # block 0 overwritten, the digest still incomplete
            pending = io.writer.submit(_write_chunk, fd, out, n, offset, self.direct)
            if self.digest is not None:
                if i + 1 < blocks:
                    nxt = min(BUF, length - offset - BUF)
                    self.pending_read = io.reader.submit(
                        _read_some, fd, bufs.originals[(i + 1) % 2], nxt, offset + BUF
                    )
                take = max(0, min(got, self.size - offset))
                if take:
                    with memoryview(bufs.originals[i % 2]) as view:
                        self.digest.update(view[:take])
            if on_bytes:
                on_bytes(n)
        if pending is not None:
            self.direct = pending.result()
        self._finish_check(blocks - 2)
        self._start_check(blocks - 1)
        self._finish_check(blocks - 1)
        if self.verified_inline and not self.direct:
            self.verified_inline = False  # a write fell back to buffered I/O: verify after sync
        return self.direct

    def _first_read(self) -> bool:
        """Read block 0 before anything is written: where the file system refuses O_DIRECT
        reads, fall back to buffered I/O for the whole pass while nothing is in flight."""
        n = min(BUF, self.length)
        try:
            got = _read_some(self.fd, self.bufs.originals[0], n, 0)
        except OSError as exc:
            if not self.direct or exc.errno != errno.EINVAL:
                raise
            _set_direct(self.fd, False)
            self.direct, self.verified_inline = False, False
            got = _read_some(self.fd, self.bufs.originals[0], n, 0)
        done: Future[int] = Future()
        done.set_result(got)
        self.pending_read = done
        return self.direct

    def _start_check(self, block: int) -> None:
        if not self.verified_inline or block < 0:
            return
        if not self.direct:  # written buffered: a read now could come from the page cache
            self.verified_inline = False
            return
        offset = block * BUF
        n = min(BUF, self.length - offset)
        future = self.io.reader.submit(_read_chunk, self.fd, self.bufs.read, n, offset)
        self.pending_check = (future, block, offset, n)

    def _finish_check(self, block: int) -> None:
        if self.pending_check is None or self.pending_check[1] != block:
            return
        future, _, offset, n = self.pending_check
        self.pending_check = None
        future.result()
        if not self.bufs.same_as(self.bufs.outs[block % 2], n):
            raise VerificationFailed(
                f"pass {self.p.label}: read-back differs in the block at offset {offset}"
            )


def _read_some(fd: int, buf: mmap.mmap, n: int, offset: int) -> int:
    """Read up to ``n`` bytes at ``offset`` into ``buf``; fewer only at the end of the file."""
    view = memoryview(buf)[:n]
    got = 0
    try:
        while got < n:
            r = os.preadv(fd, [view[got:]], offset + got)
            if r <= 0:
                break
            got += r
    finally:
        view.release()
    return got


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
