"""Sweep selection phase vs one indexed SQL query, on SQLite.

Builds a migrated SQLite store with N assets (default 100,000), 1% of them expired under an
auto-delete policy, then times

- ours: ``shifty_ent.data.sweep.select_due`` (what ``data sweep`` runs to find due assets),
- peer: one bare ``sqlite3`` query on the same index selecting the expired rows,

and prints the medians and their ratio (target: ours <= 2x the peer).

    python bench/sweep.py [--assets 100000] [--expired-pct 1] [--runs 15]
"""

from __future__ import annotations

import argparse
import os
import sqlite3
import statistics
import sys
import tempfile
import time
import uuid
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "src"))


def build(db: Path, n: int, pct: float) -> tuple[str, datetime]:
    from sqlalchemy import insert

    from shifty_ent.core import store
    from shifty_ent.core.config import load_settings
    from shifty_ent.core.context import open_context
    from shifty_ent.core.tenancy import create_tenant
    from shifty_ent.data.policies import create_policy
    from shifty_ent.data.tables import Asset

    url = f"sqlite:///{db}"
    store.upgrade(store.get_engine(url))
    settings = load_settings({"database_url": url, "user": "bench"})
    with open_context(settings, tenant="none") as ctx:
        tenant = create_tenant(ctx.session, name="bench", actor="bench")
    settings = load_settings({"database_url": url, "user": "bench", "tenant": "bench"})
    now = datetime.now(UTC)
    with open_context(settings) as ctx:
        policy = create_policy(
            ctx, name="p", classifications=["internal"], retention_days=30, auto_delete=True
        )
        expired_every = int(100 / pct)
        rows = []
        for i in range(n):
            created = now - timedelta(days=40 if i % expired_every == 0 else 1, seconds=i)
            rows.append(
                {
                    "id": uuid.uuid4(),
                    "tenant_id": tenant.id,
                    "name": f"asset-{i}",
                    "type": "dataset",
                    "classification": "internal",
                    "location": f"s3://bucket/k/{i}",
                    "scheme": "s3",
                    "size_bytes": 1000 + i,
                    "policy_id": policy.id,
                    "policy_explicit": False,
                    "subjects": [],
                    "status": "active",
                    "legal_hold": False,
                    "created_at": created,
                    "created_by": "bench",
                    "expires_at": created + timedelta(days=30),
                }
            )
        for start in range(0, n, 5000):
            ctx.session.execute(insert(Asset), rows[start : start + 5000])
    with sqlite3.connect(db) as conn:
        conn.execute("ANALYZE")
        conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    return tenant.id.hex, now


def _raw(value: object) -> object:
    """A bound value as SQLite stores it (UUID hex, naive UTC timestamp)."""
    if isinstance(value, uuid.UUID):
        return value.hex
    if isinstance(value, datetime):
        return value.astimezone(UTC).replace(tzinfo=None).isoformat(sep=" ")
    return value


def measure(db: Path, tenant_hex: str, now: datetime, runs: int) -> dict[str, Any]:
    """Interleave ours and the peers run by run, so machine load hits all of them alike."""
    from shifty_ent.core.config import load_settings
    from shifty_ent.core.context import open_context
    from shifty_ent.data.sweep import due_statement, select_due

    settings = load_settings(
        {"database_url": f"sqlite:///{db}", "user": "bench", "tenant": "bench"}
    )
    where = "WHERE tenant_id = ? AND status = 'active' AND expires_at <= ? ORDER BY expires_at"
    stamp = now.replace(tzinfo=None).isoformat(sep=" ")
    peer = sqlite3.connect(db)
    out: dict[str, Any] = {"ours": [], "peer_id": [], "peer_all": []}
    with open_context(settings) as ctx:
        compiled = due_statement(ctx.tenant_id, now).compile(ctx.engine)
        raw = ctx.session.connection().exec_driver_sql(
            "EXPLAIN QUERY PLAN " + str(compiled),
            tuple(_raw(compiled.construct_params()[k]) for k in compiled.positiontup or ()),
        )
        out["ours_plan"] = " | ".join(r[-1] for r in raw)
        out["peer_plan"] = " | ".join(
            r[-1]
            for r in peer.execute(
                f"EXPLAIN QUERY PLAN SELECT id FROM data_assets {where}", (tenant_hex, stamp)
            )
        )
        jobs = {
            "ours": lambda: len(select_due(ctx, now)),
            "peer_id": lambda: len(
                peer.execute(f"SELECT id FROM data_assets {where}", (tenant_hex, stamp)).fetchall()
            ),
            "peer_all": lambda: len(
                peer.execute(f"SELECT * FROM data_assets {where}", (tenant_hex, stamp)).fetchall()
            ),
        }
        for fn in jobs.values():  # warm page cache and statement caches
            fn()
        for _ in range(runs):
            for name, fn in jobs.items():
                t0 = time.perf_counter()
                out[f"{name}_rows"] = fn()
                out[name].append(time.perf_counter() - t0)
    peer.close()
    for name in jobs:
        out[name] = statistics.median(out[name])
    return out


def main() -> None:
    # a scratch store that plays several people: a declared-identity sandbox
    os.environ["SHIFTY_IDENTITY"] = "declared"
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--assets", type=int, default=100_000)
    parser.add_argument("--expired-pct", type=float, default=1.0)
    parser.add_argument("--runs", type=int, default=15)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="shifty-bench-sweep-") as tmp:
        os.environ["SHIFTY_HOME"] = tmp
        db = Path(tmp) / "bench.db"
        t0 = time.perf_counter()
        tenant_hex, now = build(db, args.assets, args.expired_pct)
        print(
            f"built {args.assets:,} assets ({args.expired_pct}% expired) in "
            f"{time.perf_counter() - t0:.1f}s"
        )
        m = measure(db, tenant_hex, now, args.runs)
    print(f"ours plan: {m['ours_plan']}")
    print(f"peer plan: {m['peer_plan']}")
    print(f"peer  SELECT * (sqlite3, same index)  : {m['peer_all'] * 1000:8.2f} ms")
    print(f"peer  SELECT id (sqlite3, same index) : {m['peer_id'] * 1000:8.2f} ms")
    print(f"ours  sweep selection (select_due)    : {m['ours'] * 1000:8.2f} ms")
    print(f"rows: ours {m['ours_rows']}, peer {m['peer_id_rows']} (medians of {args.runs} runs)")
    print(
        f"ratio ours/peer(SELECT *) = {m['ours'] / m['peer_all']:.2f}x, "
        f"ours/peer(SELECT id) = {m['ours'] / m['peer_id']:.2f}x  (target <= 2.00x)"
    )


if __name__ == "__main__":
    main()
