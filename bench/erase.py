"""Erasure speed: ``data delete execute`` end to end through the CLI vs ``shred -n 3 -u``.

The issue's bench. One scratch SQLite store (tenant ``acme``, a data root in the scratch
directory) and one file (default 512 MiB). Each run, interleaved so machine noise hits both
sides alike:

- ours: refill the file with fresh data (synced, page cache dropped), register it, request a
  ``secure_overwrite`` deletion (00, ff, random: three passes, like ``shred -n 3``) and approve
  it, then time ``shifty-ent data delete execute JOB`` as a separate process, exactly as a user
  runs it: start-up, the pre-erasure SHA-256, three passes with one fdatasync each, the full
  read-back of the random pass, truncate, rename, unlink, the signed certificate and the audit
  events. The whole request + approve + execute sequence is timed too;
- peer: refill the same way, then time ``shred -n 3 -u FILE`` (three passes, unlink, no
  verification, no hash).

Prints medians and ratios (target: shred's time / ours >= 2). ``--inner`` adds the old
in-process comparison of the overwrite passes alone (``overwrite_fd``) against ``shred -n N``
and ``dd``'s single sequential write.

    python bench/erase.py [--size 512] [--runs 3] [--dir DIR] [--inner] [--baseline ../main/src]
"""

from __future__ import annotations

import argparse
import hashlib
import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from cryptography.hazmat.primitives.ciphers import Cipher, algorithms, modes

SRC = Path(__file__).resolve().parents[1] / "src"
sys.path.insert(0, str(SRC))

MIB = 1024 * 1024


def refill(path: Path, size: int) -> str:
    """Fresh non-repeating content (AES-CTR), synced and dropped from the page cache, so every
    run starts from data on the device; returns its SHA-256."""
    enc = Cipher(algorithms.AES(os.urandom(32)), modes.CTR(os.urandom(16))).encryptor()
    zeros = bytes(4 * MIB)
    digest = hashlib.sha256()
    with open(path, "wb") as fh:
        left = size
        while left:
            chunk = enc.update(zeros[: min(left, len(zeros))])
            digest.update(chunk)
            fh.write(chunk)
            left -= len(chunk)
        fh.flush()
        os.fsync(fh.fileno())
        os.posix_fadvise(fh.fileno(), 0, 0, os.POSIX_FADV_DONTNEED)
    os.sync()
    return digest.hexdigest()


class Store:
    """A scratch store driven through the CLI in child processes, as a user would."""

    def __init__(self, tmp: Path, src: Path) -> None:
        tmp.mkdir()
        self.db = f"sqlite:///{tmp / 'store.db'}"
        home = tmp / "home"
        home.mkdir()
        self.env = {
            **{k: v for k, v in os.environ.items() if not k.startswith("SHIFTY_")},
            "SHIFTY_HOME": str(home),
            "SHIFTY_IDENTITY": "declared",  # one sandbox plays requester and approver
            "PYTHONPATH": str(src),
            "NO_COLOR": "1",
        }

    def cli(self, *args: str, user: str = "alice", tenant: str | None = "acme") -> object:
        argv = [sys.executable, "-m", "shifty_ent", "--db", self.db, "--as", user]
        argv += ["--tenant", tenant] if tenant else []
        argv += ["--output", "json", *args]
        done = subprocess.run(argv, env=self.env, capture_output=True, text=True)
        if done.returncode:
            sys.exit(f"{' '.join(args)}: exit {done.returncode}\n{done.stderr}")
        return json.loads(done.stdout) if done.stdout.strip() else None

    def setup(self, root: Path) -> None:
        self.cli("tenant", "create", "acme", tenant=None)
        self.cli("user", "add", "olga", "--role", "operator")
        self.cli("tenant", "root", "add", str(root), "-t", "acme", tenant=None)


def run_ours(store: Store, path: Path, size: int, n: int) -> tuple[float, float]:
    """(execute alone, request + approve + execute) in seconds, on freshly written data."""
    sha = refill(path, size)
    asset = store.cli(
        "data", "asset", "register", f"victim-{n}", "--type", "dataset",
        "--classification", "confidential", "--location", str(path), "--sha256", sha,
        user="olga",
    )  # fmt: skip
    assert isinstance(asset, dict)
    t_flow = time.perf_counter()
    job = store.cli(
        "data", "delete", "request", asset["id"], "--method", "secure_overwrite",
        "--reason", "bench", user="olga",
    )  # fmt: skip
    assert isinstance(job, dict)
    store.cli("data", "delete", "approve", job["id"], user="alice")
    t_exec = time.perf_counter()
    done = store.cli("data", "delete", "execute", job["id"], "--yes", user="olga")
    end = time.perf_counter()
    assert isinstance(done, dict) and done["status"] == "completed", done
    assert not path.exists()
    return end - t_exec, end - t_flow


def run_shred(path: Path, size: int, passes: int = 3) -> float:
    refill(path, size)
    t0 = time.perf_counter()
    subprocess.run(["shred", "-n", str(passes), "-u", str(path)], check=True)
    return time.perf_counter() - t0


# ------------------------------------------------------------------ --inner


def inner_ours(path: Path, method: str, *, verify: bool = True) -> float:
    from shifty_ent.data import overwrite

    passes = overwrite.plan(method)
    if not verify:
        for p in passes:
            p.verify = False
    fd = os.open(path, os.O_RDWR)
    try:
        t0 = time.perf_counter()
        overwrite.overwrite_fd(fd, os.fstat(fd).st_size, passes, digest=hashlib.sha256())
        return time.perf_counter() - t0
    finally:
        os.close(fd)


def inner_shred(path: Path, passes: int) -> float:
    t0 = time.perf_counter()
    subprocess.run(["shred", "-n", str(passes), str(path)], check=True)
    return time.perf_counter() - t0


def inner_dd(path: Path, size: int) -> float:
    t0 = time.perf_counter()
    subprocess.run(
        [
            "dd", "if=/dev/zero", f"of={path}", "bs=4M", f"count={size // (4 * MIB)}",
            "conv=fdatasync,notrunc", "status=none",
        ],
        check=True,
    )  # fmt: skip
    return time.perf_counter() - t0


def inner(path: Path, size: int, runs: int) -> None:
    """The overwrite passes alone, in-process, against shred without -u and dd's ceiling."""
    refill(path, size)
    dd = statistics.median(inner_dd(path, size) for _ in range(runs))
    dd_rate = size / MIB / dd
    print(f"dd   1 write + fdatasync            : {dd:7.2f} s  {dd_rate:8.0f} MiB/s (ceiling)")
    for method, passes in (("secure_overwrite", 3), ("dod_5220", 7)):
        ours_t, shred_t = [], []
        for _ in range(runs):
            refill(path, size)
            ours_t.append(inner_ours(path, method))
            refill(path, size)
            shred_t.append(inner_shred(path, passes))
        ours, shred = statistics.median(ours_t), statistics.median(shred_t)
        written = passes * size / MIB
        print(
            f"{method:16s} overwrite_fd {ours:7.2f} s ({written / ours:6.0f} MiB/s written, "
            f"incl. read-back); shred -n {passes} {shred:7.2f} s; ratio {shred / ours:.2f}x; "
            f"vs dd ceiling {written / ours / dd_rate:.2f}x"
        )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--size", type=int, default=512, help="file size in MiB (default 512)")
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--dir", type=Path, default=None, help="where to put the scratch files")
    parser.add_argument("--inner", action="store_true", help="also time overwrite_fd alone")
    parser.add_argument(
        "--baseline",
        type=Path,
        default=None,
        help="another checkout's src/ (e.g. main's) to time in the same interleaved runs",
    )
    args = parser.parse_args()
    size = args.size * MIB
    if shutil.which("shred") is None:
        sys.exit("GNU shred is not installed: nothing to compare against")
    with tempfile.TemporaryDirectory(prefix="shifty-bench-erase-", dir=args.dir) as name:
        tmp = Path(name)
        root = tmp / "root"
        root.mkdir()
        trees = {"ours": SRC, **({"baseline": args.baseline.resolve()} if args.baseline else {})}
        stores = {label: Store(tmp / label, src) for label, src in trees.items()}
        for store in stores.values():
            store.setup(root)
        path = root / "victim.bin"
        print(f"file {args.size} MiB in {tmp}; {args.runs} interleaved run(s) each, medians")
        execs: dict[str, list[float]] = {label: [] for label in trees}
        flows: dict[str, list[float]] = {label: [] for label in trees}
        shreds: list[float] = []
        for n in range(args.runs):
            line = [f"  run {n + 1}:"]
            for label, store in stores.items():
                t_exec, t_flow = run_ours(store, path, size, n)
                execs[label].append(t_exec)
                flows[label].append(t_flow)
                line.append(f"{label} execute {t_exec:5.2f} s (whole flow {t_flow:5.2f} s),")
            shreds.append(run_shred(path, size))
            print(" ".join(line), f"shred -n 3 -u {shreds[-1]:5.2f} s", flush=True)
        sh = statistics.median(shreds)
        print(f"shred -n 3 -u: {sh:6.2f} s")
        for label, src in trees.items():
            ex, fl = statistics.median(execs[label]), statistics.median(flows[label])
            print(
                f"{label} ({src}): data delete execute (secure_overwrite, 3 passes) {ex:6.2f} s, "
                f"request + approve + execute {fl:6.2f} s; shred / execute = {sh / ex:.2f}x "
                f"(target >= 2x), shred / whole flow = {sh / fl:.2f}x"
            )
        if args.inner:
            inner(root / "inner.bin", size, args.runs)


if __name__ == "__main__":
    main()
