"""Benchmark: ``report audit verify`` with signed checkpoints against the same verify without them.

A SQLite store gets one tenant whose chain holds ``--events`` format 2 events (default 1,000,000),
inserted in bulk with hashes computed from docs/evidence.md, and ``--checkpoints`` signed
checkpoints (default 100, spread over the chain) in a directory witness. Both verifies run in
this process, interleaved, ``--repeat`` times each. Target: with checkpoints <= 1.2x without
(reading and checking 100 signatures is noise beside walking a million hashes).

    python bench/audit.py                      # 1,000,000 events
    python bench/audit.py --events 200000      # quicker
"""

from __future__ import annotations

import argparse
import hashlib
import json
import os
import random
import sqlite3
import statistics
import sys
import tempfile
import time
import uuid
from datetime import UTC, datetime, timedelta
from json.encoder import encode_basestring
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "src"))

USERS = ["alice", "olga", "lars", "audrey", "bob", "carol", "dave", "erin"]
ACTIONS = [("data.asset.read", "asset"), ("model.register", "model"), ("user.add", "user")]
INSERT = (
    "INSERT INTO audit_events (id, chain, seq, tenant_id, at, actor, action, target_type, "
    "target_id, details, prev_hash, hash, v) VALUES (?,?,?,?,?,?,?,?,?,?,?,?,2)"
)
# the format 2 hash input in RFC 8785 form for these events (ASCII strings, no floats): keys in
# order, no spaces; checked against rfc8785 for the first events
BODY = (
    '{"action":%s,"actor":%s,"at":"%s","chain":"%s","details":%s,"prev_hash":"%s","seq":%d,'
    '"target_id":"%s","target_type":"%s","tenant_id":"%s","v":2}'
)


def build(path: Path, events: int) -> tuple[str, str]:
    """A migrated, declared store with tenant ``bench`` (alice admin) and its chain."""
    from shifty_ent.core import audit, installation, store, tenancy

    url = f"sqlite:///{path}"
    engine = store.get_engine(url)
    store.upgrade(engine)
    with store.new_session(engine) as session:
        installation.record(session, mode="declared", created_by="alice")
        tenant = tenancy.create_tenant(session, name="bench", actor="alice")
        session.commit()
        seq, prev = audit.head_of(session, tenant.id)
        chain, tenant_hex = str(tenant.id), tenant.id.hex
    engine.dispose()
    import rfc8785

    rng = random.Random(7)
    at = datetime(2026, 1, 1, tzinfo=UTC)
    step = timedelta(seconds=7)
    sha, enc = hashlib.sha256, encode_basestring
    conn = sqlite3.connect(path)
    conn.execute("PRAGMA journal_mode=WAL")
    conn.execute("PRAGMA synchronous=OFF")
    batch: list[tuple[object, ...]] = []
    for n in range(events):
        seq += 1
        at += step
        action, ttype = ACTIONS[n % len(ACTIONS)]
        actor = USERS[n % len(USERS)]
        target = f"{rng.getrandbits(64):016x}"
        details = f'{{"n":{seq},"via":"bench"}}'
        at_iso = at.isoformat()
        raw = (
            BODY
            % (enc(action), enc(actor), at_iso, chain, details, prev, seq, target, ttype, chain)
        ).encode()
        if n < 100:
            body = json.loads(raw)
            assert rfc8785.dumps(body) == raw, "the bulk form diverged from RFC 8785"
        digest = sha(raw).hexdigest()
        batch.append(
            (
                uuid.UUID(int=rng.getrandbits(128)).hex,
                chain,
                seq,
                tenant_hex,
                at.replace(tzinfo=None).strftime("%Y-%m-%d %H:%M:%S.%f"),
                actor,
                action,
                ttype,
                target,
                details,
                prev,
                digest,
            )
        )
        prev = digest
        if len(batch) >= 50_000:
            conn.executemany(INSERT, batch)
            batch.clear()
    conn.executemany(INSERT, batch)
    conn.execute("UPDATE audit_heads SET seq=?, hash=? WHERE chain=?", (seq, prev, chain))
    conn.commit()
    conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    conn.close()
    return url, chain


def checkpoints(url: str, chain: str, witness: Path, count: int) -> None:
    """``count`` checkpoints of the chain at evenly spaced seqs, signed by the store's key."""
    from shifty_ent.core import checkpoint, store
    from shifty_ent.core.config import load_settings
    from shifty_ent.core.signing import load_or_create_key, register_key
    from shifty_ent.core.witness import open_witness

    settings = load_settings({"database_url": url})
    pair, _ = load_or_create_key(settings.signing_key_path)
    engine = store.get_engine(url)
    with store.new_session(engine) as session:
        register_key(session, pair, "alice")
        session.commit()
    conn = sqlite3.connect(url.removeprefix("sqlite:///"))
    (last,) = conn.execute("SELECT seq FROM audit_heads WHERE chain = ?", (chain,)).fetchone()
    target = open_witness(str(witness), settings)
    for i in range(1, count + 1):
        seq = max(1, last * i // count)
        (digest,) = conn.execute(
            "SELECT hash FROM audit_events WHERE chain = ? AND seq = ?", (chain, seq)
        ).fetchone()
        stmt = checkpoint.statement(chain, seq, digest, datetime.now(UTC), pair.fingerprint)
        body = json.dumps(checkpoint.envelope(pair, stmt), sort_keys=True).encode()
        target.write(chain, checkpoint.file_name(stmt), body)
    conn.close()


def verify(url: str, witness: Path | None) -> tuple[float, int]:
    from shifty_ent.core.config import load_settings
    from shifty_ent.core.context import open_context
    from shifty_ent.report.audit_verify import raise_if_broken, verify_chains

    settings = load_settings({"database_url": url, "tenant": "bench", "user": "alice"})
    t0 = time.perf_counter()
    with open_context(settings) as ctx:
        reports = verify_chains(ctx, witness=str(witness) if witness else None)
    elapsed = time.perf_counter() - t0
    raise_if_broken(reports)
    return elapsed, len(reports[0].checkpoints)


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawTextHelpFormatter)
    p.add_argument("--events", type=int, default=1_000_000)
    p.add_argument("--checkpoints", type=int, default=100)
    p.add_argument("--repeat", type=int, default=3)
    args = p.parse_args()
    with tempfile.TemporaryDirectory(prefix="shifty-bench-audit-") as tmp:
        os.environ["SHIFTY_HOME"] = tmp
        os.environ["SHIFTY_IDENTITY"] = "declared"
        db, witness = Path(tmp) / "state.db", Path(tmp) / "witness"
        t0 = time.perf_counter()
        url, chain = build(db, args.events)
        print(f"built {args.events:,} events in {time.perf_counter() - t0:.1f}s", file=sys.stderr)
        checkpoints(url, chain, witness, args.checkpoints)
        verify(url, None)  # warm the page cache and the imports
        plain, checked = [], []
        for _ in range(args.repeat):
            plain.append(verify(url, None)[0])
            seconds, n = verify(url, witness)
            assert n == args.checkpoints, n
            checked.append(seconds)
        a, b = statistics.median(plain), statistics.median(checked)
        print(
            f"report audit verify over {args.events:,} events: without checkpoints {a:.2f}s, "
            f"with {args.checkpoints} checkpoints {b:.2f}s (medians of {args.repeat}); "
            f"ratio {b / a:.3f} (target <= 1.2)"
        )
        if b / a > 1.2:
            raise SystemExit("ratio above 1.2")


if __name__ == "__main__":
    main()
