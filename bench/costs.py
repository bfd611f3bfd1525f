"""bench/costs.py: ``gpu costs`` (the service path) against one hand-written SQL aggregate.

Fills a fresh SQLite store with ledger rows (default 200,000; ``--full`` for the issue's
1,000,000), then times, for each ``--group-by`` (instance, day, type):

- service: ``shifty_ent.gpu.costs.cost_rows`` inside an open Context (what ``gpu costs`` runs,
  minus process start-up), Decimal money and all;
- peer:    the same aggregate as one hand-written SQL statement on a raw ``sqlite3`` connection.

Prints the best of ``--repeat`` interleaved runs and the ratio service/peer (target: at most 1.5x).

    python bench/costs.py [--rows N | --full] [--repeat 5]
"""

from __future__ import annotations

import argparse
import os
import random
import sqlite3
import statistics
import sys
import tempfile
import time
import uuid
from datetime import UTC, datetime, timedelta
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "src"))

PEER_SQL = {
    "instance": "instance_id",
    "day": "day",
    "type": "gpu_type",
}


def fill(url: str, rows: int, instances: int) -> uuid.UUID:
    from sqlalchemy import insert

    from shifty_ent.core import store, tenancy
    from shifty_ent.gpu.tables import GpuCostEntry, GpuInstance

    engine = store.get_engine(url)
    store.upgrade(engine)
    from sqlmodel import Session

    with Session(engine) as session:
        tenant = tenancy.create_tenant(session, name="bench", actor="bench")
        tenancy.create_tenant(session, name="other", actor="bench")  # a second tenant's rows
        session.commit()
        tid = tenant.id
        types = ["RTX_3090", "RTX_4090", "A100_40GB", "A100_80GB", "H100"]
        insts = []
        for i in range(instances):
            iid = uuid.uuid4()
            insts.append((iid, types[i % len(types)]))
            session.add(
                GpuInstance(
                    id=iid,
                    tenant_id=tid,
                    label=f"bench:{iid}",
                    gpu_type=types[i % len(types)],
                    max_price_per_hour=2,
                    created_by="bench",
                )
            )
        session.commit()
    rnd = random.Random(7)
    start = datetime(2026, 1, 1, tzinfo=UTC)
    batch: list[dict] = []
    with engine.begin() as conn:
        for n in range(rows):
            iid, gtype = insts[n % instances]
            a = start + timedelta(hours=n // instances)  # one row per instance-hour
            b = a + timedelta(hours=1)
            gpu_rate = 0.3 + rnd.random()
            storage_rate = 0.01
            running = rnd.random() < 0.8
            gpu_amount = round(gpu_rate, 6) if running else 0.0
            storage_amount = storage_rate
            batch.append(
                {
                    "id": uuid.uuid4(),
                    "tenant_id": tid,
                    "instance_id": iid,
                    "gpu_type": gtype,
                    "day": a.date(),
                    "period_start": a,
                    "period_end": b,
                    "status": "running" if running else "loading",
                    "seconds": 3600,
                    "gpu_seconds": 3600 if running else 0,
                    "gpu_rate": round(gpu_rate, 6),
                    "storage_rate": storage_rate,
                    "gpu_amount": gpu_amount,
                    "storage_amount": storage_amount,
                    "amount": round(gpu_amount + storage_amount, 6),
                }
            )
            if len(batch) >= 20_000:
                conn.execute(insert(GpuCostEntry.__table__), batch)
                batch.clear()
        if batch:
            conn.execute(insert(GpuCostEntry.__table__), batch)
        conn.exec_driver_sql("ANALYZE")
    return tid


def time_service(url: str, group_by: str, repeat: int) -> tuple[float, int]:
    from shifty_ent.core.config import load_settings
    from shifty_ent.core.context import open_context
    from shifty_ent.gpu import costs

    settings = load_settings({"database_url": url, "tenant": "bench", "user": "bench"})
    times, n = [], 0
    for _ in range(repeat):
        with open_context(settings, roles=("auditor",)) as ctx:
            t0 = time.perf_counter()
            rows = costs.cost_rows(ctx, None, None, group_by)
            times.append(time.perf_counter() - t0)
            n = len(rows)
    return statistics.median(times), n


def time_peer(path: str, tid: uuid.UUID, group_by: str, repeat: int) -> tuple[float, int]:
    key = PEER_SQL[group_by]
    sql = (
        f"SELECT {key}, SUM(seconds), SUM(gpu_seconds), SUM(gpu_amount), SUM(storage_amount), "
        f"SUM(amount), COUNT(*) FROM gpu_cost_entries WHERE tenant_id = ? "
        f"GROUP BY {key} ORDER BY {key}"
    )
    conn = sqlite3.connect(path)
    times, n = [], 0
    for _ in range(repeat):
        t0 = time.perf_counter()
        rows = conn.execute(sql, (tid.hex,)).fetchall()
        times.append(time.perf_counter() - t0)
        n = len(rows)
    conn.close()
    return statistics.median(times), n


def main() -> None:
    # a scratch store that plays several people: a declared-identity sandbox
    os.environ["SHIFTY_IDENTITY"] = "declared"
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=200_000)
    parser.add_argument("--full", action="store_true", help="1,000,000 rows (the issue's size)")
    parser.add_argument("--instances", type=int, default=500)
    parser.add_argument("--repeat", type=int, default=5)
    args = parser.parse_args()
    rows = 1_000_000 if args.full else args.rows
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "bench.db"
        url = f"sqlite:///{path}"
        t0 = time.perf_counter()
        tid = fill(url, rows, args.instances)
        print(
            f"filled {rows:,} ledger rows for {args.instances} instances in "
            f"{time.perf_counter() - t0:.1f}s"
        )
        worst = 0.0
        for group_by in ("instance", "day", "type"):
            # interleaved, best of N each (the machine is shared: the minimum is the signal)
            svc_runs, peer_runs = [], []
            for _ in range(args.repeat):
                t, n_svc = time_service(url, group_by, 1)
                svc_runs.append(t)
                t, n_peer = time_peer(str(path), tid, group_by, 1)
                peer_runs.append(t)
            svc, peer = min(svc_runs), min(peer_runs)
            assert n_svc == n_peer, (n_svc, n_peer)
            ratio = svc / peer
            worst = max(worst, ratio)
            print(
                f"group-by {group_by:8s}: gpu costs {svc * 1000:8.1f} ms   hand-written SQL "
                f"{peer * 1000:8.1f} ms   ratio {ratio:.2f}x   ({n_svc} groups)"
            )
        verdict = "OK" if worst <= 1.5 else "OVER TARGET"
        print(f"worst ratio {worst:.2f}x (target <= 1.5x): {verdict}")


if __name__ == "__main__":
    main()
