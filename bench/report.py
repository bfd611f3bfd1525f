"""Benchmark: ``report compliance --type access_audit`` over many audit events on SQLite.

Peer: one SQL scan of the same events (``SELECT`` every column of the tenant's chain in sequence
order through the sqlite3 module, fetching every row). Target: the report (which verifies every
hash of the chain, classifies the events and writes a signed file) takes at most 3x the scan, with
flat memory: the report runs in a fresh child process and prints its peak RSS and, in a second
run under tracemalloc, its peak Python allocation; a run at a tenth of the size shows the peak
does not grow with the number of events.

    python bench/report.py                  # 200,000 events (a couple of minutes here)
    python bench/report.py --events 50000
    python bench/report.py --full           # 1,000,000 events, the issue's size
"""

from __future__ import annotations

import argparse
import json
import os
import random
import resource
import sqlite3
import subprocess
import sys
import tempfile
import time
import uuid
from datetime import UTC, datetime, timedelta
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "src"))

ACTIONS = [
    ("data.asset.read", "asset", "pii"),
    ("data.asset.read", "asset", "phi"),
    ("data.asset.read", "asset", "confidential"),
    ("data.asset.register", "asset", "restricted"),
    ("data.asset.hold", "asset", None),
    ("data.export", "export", "pii"),
    ("gpu.instance.provision", "gpu_instance", None),
    ("arcade.mission.complete", "mission", None),
    ("model.register", "model", None),
    ("data.asset.read", "asset", "public"),
]
USERS = ["alice", "olga", "lars", "audrey", "bob", "carol", "dave", "erin"]
# format 2 rows (docs/evidence.md): the hash covers tenant_id and v too
INSERT_V2 = (
    "INSERT INTO audit_events (id, chain, seq, tenant_id, at, actor, action, target_type, "
    "target_id, details, prev_hash, hash, v) VALUES (?,?,?,?,?,?,?,?,?,?,?,?,2)"
)


def build_db(path: Path, events: int, seed: int = 7) -> tuple[str, datetime, datetime]:
    """A migrated store with one tenant whose chain holds ``events`` valid events."""
    from shifty_ent.core import audit, store, tenancy
    from shifty_ent.core.canonical import canonical_json, compact_json

    _dumps = json.JSONEncoder(ensure_ascii=False, separators=(",", ":"), sort_keys=True).encode

    url = f"sqlite:///{path}"
    engine = store.get_engine(url)
    store.upgrade(engine)
    with store.new_session(engine) as session:
        tenant = tenancy.create_tenant(session, name="bench", actor="alice")
        session.commit()
        tenant_id = tenant.id
        seq0, prev = audit.head_of(session, tenant_id)
    engine.dispose()
    chain = str(tenant_id)
    rng = random.Random(seed)
    start = datetime(2026, 1, 1, tzinfo=UTC)
    step = timedelta(seconds=max(1, 300 * 86400 // max(events, 1)))
    conn = sqlite3.connect(path)
    conn.execute("PRAGMA journal_mode=WAL")
    conn.execute("PRAGMA synchronous=OFF")
    batch = []
    at = start
    seq = seq0
    checked = 0
    for _ in range(events):
        seq += 1
        at += step
        action, ttype, cls = rng.choice(ACTIONS)
        details = {"via": "bench", "name": f"asset-{seq:08d}.parquet", "size_bytes": seq * 7}
        if cls:
            details["classification"] = cls
        body = {
            "chain": chain,
            "seq": seq,
            "at": at.isoformat(),
            "actor": rng.choice(USERS),
            "action": action,
            "target_type": ttype,
            "target_id": str(uuid.UUID(int=rng.getrandbits(128))),
            "details": details,
            "prev_hash": prev,
            "tenant_id": chain,
            "v": 2,
        }
        raw = _dumps(body).encode()
        if checked < 200:  # the fast form must equal RFC 8785 for these events
            assert raw == canonical_json(body), "fast canonical form diverged"
            checked += 1
        import hashlib

        digest = hashlib.sha256(raw).hexdigest()
        batch.append(
            (
                uuid.uuid4().hex,
                chain,
                seq,
                tenant_id.hex,
                at.replace(tzinfo=None).strftime("%Y-%m-%d %H:%M:%S.%f"),
                body["actor"],
                action,
                ttype,
                body["target_id"],
                compact_json(details),  # as the store writes JSON columns
                prev,
                digest,
            )
        )
        prev = digest
        if len(batch) >= 20000:
            conn.executemany(INSERT_V2, batch)
            batch.clear()
    if batch:
        conn.executemany(INSERT_V2, batch)
    conn.execute("UPDATE audit_heads SET seq=?, hash=? WHERE chain=?", (seq, prev, chain))
    conn.commit()
    conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    conn.close()
    return chain, start, at + step


def scan(path: Path, chain: str) -> dict[str, float]:
    """The peer: one SQL scan of the chain's events, every row fetched into Python."""
    t0 = time.perf_counter()
    conn = sqlite3.connect(path)
    cur = conn.execute(
        "SELECT seq, at, actor, action, target_type, target_id, details, prev_hash, hash "
        "FROM audit_events WHERE chain = ? ORDER BY seq",
        (chain,),
    )
    n = 0
    while rows := cur.fetchmany(10000):
        n += len(rows)
    conn.close()
    return {"seconds": time.perf_counter() - t0, "rows": n}


def orm_scan(path: Path, chain: str) -> dict[str, float]:
    """Context: the same events read through the ORM in keyset pages (core.audit.iter_events)."""
    from shifty_ent.core import audit, store

    engine = store.get_engine(f"sqlite:///{path}")
    t0 = time.perf_counter()
    with store.new_session(engine) as session:
        n = sum(1 for _ in audit.iter_events(session, chain))
    return {"seconds": time.perf_counter() - t0, "rows": n}


def core_verify(path: Path, chain: str) -> dict[str, float]:
    """Context: ``report audit verify`` (the same chain walk, without classifying or rendering)."""
    import uuid as _uuid

    from shifty_ent.core import audit, store

    engine = store.get_engine(f"sqlite:///{path}")
    t0 = time.perf_counter()
    with store.new_session(engine) as session:
        rep = audit.verify(session, _uuid.UUID(chain))
    assert rep.ok
    return {"seconds": time.perf_counter() - t0, "rows": rep.events}


def report(path: Path, fmt: str, out: Path, start: str, end: str, trace: bool) -> dict:
    """Run the report as the CLI would (in this process), returning time and memory."""
    if trace:
        import tracemalloc

        tracemalloc.start()
    from shifty_ent.core.config import load_settings
    from shifty_ent.core.context import open_context
    from shifty_ent.report.service import generate

    settings = load_settings(
        {"database_url": f"sqlite:///{path}", "tenant": "bench", "user": "alice"}
    )
    t0 = time.perf_counter()
    with open_context(settings) as ctx:
        rep = generate(ctx, "access_audit", start=start, end=end, fmt=fmt, out=out, force=True)
        rows = rep.row_count
    seconds = time.perf_counter() - t0
    result = {
        "seconds": seconds,
        "rows": rows,
        "bytes": out.stat().st_size,
        "maxrss_mib": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024,
        # the processes that walked parts of the chain (none below the parallel threshold)
        "workers_maxrss_mib": resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024,
    }
    if trace:
        import tracemalloc

        result["traced_peak_mib"] = tracemalloc.get_traced_memory()[1] / 2**20
    return result


def child(args: list[str]) -> dict:
    proc = subprocess.run(
        [sys.executable, __file__, "--child", *args], capture_output=True, text=True, check=False
    )
    if proc.returncode != 0:
        raise SystemExit(proc.stderr)
    return json.loads(proc.stdout.strip().splitlines()[-1])


def main() -> None:
    # a scratch store that plays several people: a declared-identity sandbox
    os.environ["SHIFTY_IDENTITY"] = "declared"
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawTextHelpFormatter)
    p.add_argument("--events", type=int, default=200_000)
    p.add_argument("--full", action="store_true", help="1,000,000 events")
    p.add_argument("--format", default="json", choices=["md", "html", "json", "csv"])
    p.add_argument("--repeat", type=int, default=3, help="timed runs of each (median)")
    p.add_argument("--child", nargs="*")
    args = p.parse_args()
    if args.child is not None:
        kind, db, *rest = args.child
        if kind in ("scan", "orm_scan", "core_verify"):
            fn = {"scan": scan, "orm_scan": orm_scan, "core_verify": core_verify}[kind]
            print(json.dumps(fn(Path(db), rest[0])))
        else:
            fmt, out, start, end, trace = rest
            print(json.dumps(report(Path(db), fmt, Path(out), start, end, trace == "1")))
        return
    events = 1_000_000 if args.full else args.events
    with tempfile.TemporaryDirectory(prefix="shifty-bench-") as tmp:
        home = Path(tmp)
        os.environ["SHIFTY_HOME"] = str(home)
        results = {}
        for label, n in (("small", max(1, events // 10)), ("full", events)):
            db = home / f"{label}.db"
            t0 = time.perf_counter()
            chain, start, end = build_db(db, n)
            print(f"built {n:,} events in {time.perf_counter() - t0:.1f}s", file=sys.stderr)
            rng = (start.isoformat(), end.isoformat())
            out = home / f"{label}.{args.format}"
            scans = sorted(child(["scan", str(db), chain])["seconds"] for _ in range(args.repeat))
            reps = [
                child(["report", str(db), args.format, str(out), *rng, "0"])
                for _ in range(args.repeat)
            ]
            reps.sort(key=lambda r: r["seconds"])
            traced = child(["report", str(db), args.format, str(out), *rng, "1"])
            orm = child(["orm_scan", str(db), chain])["seconds"]
            core = child(["core_verify", str(db), chain])["seconds"] if label == "small" else None
            results[label] = {
                "events": n,
                "scan_s": scans[len(scans) // 2],
                "report_s": reps[len(reps) // 2]["seconds"],
                "rows": reps[0]["rows"],
                "file_mib": reps[0]["bytes"] / 2**20,
                "maxrss_mib": max(r["maxrss_mib"] for r in reps),
                "workers_maxrss_mib": max(r["workers_maxrss_mib"] for r in reps),
                "traced_peak_mib": traced["traced_peak_mib"],
                "orm_scan_s": orm,
                "core_verify_s": core,
            }
        for label in ("small", "full"):
            r = results[label]
            print(
                f"{label:5} events={r['events']:>9,} rows={r['rows']:>9,} "
                f"scan={r['scan_s']:.2f}s report({args.format})={r['report_s']:.2f}s "
                f"ratio={r['report_s'] / r['scan_s']:.2f}x (target <= 3x) "
                f"file={r['file_mib']:.1f}MiB peak_rss={r['maxrss_mib']:.0f}MiB "
                f"(each worker <= {r['workers_maxrss_mib']:.0f}MiB) "
                f"traced_peak={r['traced_peak_mib']:.1f}MiB"
            )
            context = f"      context: ORM keyset scan={r['orm_scan_s']:.2f}s " + (
                f"({r['report_s'] / r['orm_scan_s']:.2f}x)"
            )
            if r["core_verify_s"]:
                context += (
                    f"; 'report audit verify' (chain walk only)={r['core_verify_s']:.2f}s "
                    f"({r['report_s'] / r['core_verify_s']:.2f}x)"
                )
            print(context)
        grow = results["full"]["traced_peak_mib"] / max(results["small"]["traced_peak_mib"], 1e-9)
        print(
            f"memory: traced peak at {results['full']['events']:,} events is {grow:.2f}x the peak "
            f"at {results['small']['events']:,} (flat means ~1x)"
        )


if __name__ == "__main__":
    main()
