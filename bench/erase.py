"""Overwrite throughput: shifty-ent's erasure passes vs GNU shred, and the disk's ceiling.

For ``secure_overwrite`` (3 passes) and ``dod_5220`` (7 passes) on one file (default 256 MiB;
``--full`` for the issue's 512 MiB, or ``--size MIB``), each run refills the file with fresh
data and syncs, then times

- ours: ``overwrite_fd`` exactly as ``data delete execute`` runs it (AES-CTR keystream, 4 MiB
  aligned buffers, O_DIRECT, one fdatasync per pass, full read-back verification of the random
  passes; the verification reads are included in our time, shred verifies nothing),
- peer: ``shred -n N FILE`` (same pass count, no -z, no -u),
- ceiling: ``dd if=/dev/zero of=FILE bs=4M conv=fdatasync`` (one sequential write),

and prints medians, MiB/s written and the ratios (target: ours >= 2x shred's speed).

    python bench/erase.py [--size 256 | --full] [--runs 3] [--dir DIR]
"""

from __future__ import annotations

import argparse
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "src"))

from cryptography.hazmat.primitives.ciphers import Cipher, algorithms, modes

MIB = 1024 * 1024


def refill(path: Path, size: int) -> None:
    """Fresh non-repeating content (AES-CTR), synced, so every run starts from real data."""
    enc = Cipher(algorithms.AES(os.urandom(32)), modes.CTR(os.urandom(16))).encryptor()
    zeros = bytes(4 * MIB)
    with open(path, "wb") as fh:
        left = size
        while left:
            n = min(left, len(zeros))
            fh.write(enc.update(zeros[:n]))
            left -= n
        fh.flush()
        os.fsync(fh.fileno())
    os.sync()


def run_ours(path: Path, method: str, *, verify: bool = True) -> float:
    from shifty_ent.data import overwrite

    passes = overwrite.plan(method)
    if not verify:
        for p in passes:
            p.verify = False
    fd = os.open(path, os.O_RDWR)
    try:
        t0 = time.perf_counter()
        overwrite.overwrite_fd(fd, os.fstat(fd).st_size, passes)
        return time.perf_counter() - t0
    finally:
        os.close(fd)


def run_shred(path: Path, passes: int) -> float:
    t0 = time.perf_counter()
    subprocess.run(["shred", "-n", str(passes), str(path)], check=True)
    return time.perf_counter() - t0


def run_dd(path: Path, size: int) -> float:
    t0 = time.perf_counter()
    subprocess.run(
        [
            "dd",
            "if=/dev/zero",
            f"of={path}",
            "bs=4M",
            f"count={size // (4 * MIB)}",
            "conv=fdatasync,notrunc",
            "status=none",
        ],
        check=True,
    )
    return time.perf_counter() - t0


def main() -> None:
    # a scratch store that plays several people: a declared-identity sandbox
    os.environ["SHIFTY_IDENTITY"] = "declared"
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--size", type=int, default=256, help="file size in MiB (default 256)")
    parser.add_argument("--full", action="store_true", help="512 MiB, as in the issue")
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--dir", type=Path, default=None, help="where to put the scratch file")
    args = parser.parse_args()
    size = (512 if args.full else args.size) * MIB
    size -= size % (4 * MIB)
    if shutil.which("shred") is None:
        sys.exit("GNU shred is not installed: nothing to compare against")
    with tempfile.TemporaryDirectory(prefix="shifty-bench-erase-", dir=args.dir) as tmp:
        path = Path(tmp) / "victim.bin"
        refill(path, size)
        dd = statistics.median(run_dd(path, size) for _ in range(args.runs))
        dd_rate = size / MIB / dd
        print(f"file {size // MIB} MiB in {tmp}; {args.runs} run(s) each, medians")
        print(f"dd   1 write + fdatasync            : {dd:7.2f} s  {dd_rate:8.0f} MiB/s (ceiling)")
        for method, passes in (("secure_overwrite", 3), ("dod_5220", 7)):
            ours_t, shred_t, bare_t = [], [], []
            for _ in range(args.runs):
                refill(path, size)
                ours_t.append(run_ours(path, method))
                refill(path, size)
                shred_t.append(run_shred(path, passes))
                refill(path, size)
                bare_t.append(run_ours(path, method, verify=False))
            ours, shred = statistics.median(ours_t), statistics.median(shred_t)
            bare = statistics.median(bare_t)
            written = passes * size / MIB
            print(
                f"{method:16s} ours : {ours:7.2f} s  {written / ours:8.0f} MiB/s written "
                f"(incl. read-back verify)"
            )
            print(
                f"{method:16s} ours writes only (no read-back, like shred): {bare:7.2f} s  "
                f"{written / bare:8.0f} MiB/s written"
            )
            print(
                f"{method:16s} shred -n {passes}: {shred:7.2f} s  "
                f"{written / shred:8.0f} MiB/s written"
            )
            print(
                f"{method:16s} ratio ours vs shred: {shred / ours:.2f}x faster (target >= 2x; "
                f"writes only: {shred / bare:.2f}x); ours per-pass rate vs dd ceiling: "
                f"{written / ours / dd_rate:.2f}x (writes only: {written / bare / dd_rate:.2f}x)"
            )


if __name__ == "__main__":
    main()
