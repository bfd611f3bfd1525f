"""bench/reconcile.py: ``gpu reconcile`` of 500 instances against the vast.ai fake.

Counts the HTTP requests and times three runs on a fresh SQLite store:

1. steady state (nothing changed): the target is the paginated list only,
   ceil(N / 25) requests, no per-instance call;
2. 5% of the machines changed state: still the list only;
3. 1% disappeared: the list plus one confirming GET per missing machine.

The named peer is a bare paginated list of the same account with the same client (the least any
reconcile must do); the ratio is reconcile time / list time.

    python bench/reconcile.py [--instances 500]
"""

from __future__ import annotations

import argparse
import math
import os
import sys
import tempfile
import time
import uuid
from datetime import timedelta
from decimal import Decimal
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "src"))
sys.path.insert(0, str(ROOT))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--instances", type=int, default=500)
    args = parser.parse_args()
    n = args.instances

    from sqlmodel import Session
    from tests.fakes.vastai import API_KEY, FakeVast

    from shifty_ent.core import store, tenancy
    from shifty_ent.core.config import load_settings
    from shifty_ent.core.context import open_context
    from shifty_ent.gpu import instances, reconcile
    from shifty_ent.gpu.tables import GpuInstance
    from shifty_ent.gpu.vastai import VastClient

    with tempfile.TemporaryDirectory() as tmp, FakeVast(boot_polls=10**9) as fake:
        url = f"sqlite:///{Path(tmp) / 'bench.db'}"
        engine = store.get_engine(url)
        store.upgrade(engine)
        with Session(engine) as session:
            tenant = tenancy.create_tenant(session, name="bench", actor="bench")
            session.commit()
            ids = []
            from shifty_ent.core.clock import now

            started = now().replace(microsecond=0) - timedelta(hours=1)
            for _ in range(n):
                local = uuid.uuid4()
                pid = fake.add_foreign_instance(
                    label=instances.label_for(tenant.id, local), status="running"
                )
                ids.append(pid)
                session.add(
                    GpuInstance(
                        id=local,
                        tenant_id=tenant.id,
                        provider_instance_id=str(pid),
                        label=instances.label_for(tenant.id, local),
                        gpu_type="RTX_4090",
                        status="running",
                        max_price_per_hour=Decimal(1),
                        price_per_hour=Decimal("0.51"),
                        gpu_price_per_hour=Decimal("0.5"),
                        storage_price_per_hour=Decimal("0.01"),
                        created_by="bench",
                        accrued_until=started,
                    )
                )
            session.commit()
        # a scratch store that plays several people: a declared-identity sandbox
        os.environ["SHIFTY_IDENTITY"] = "declared"
        os.environ["VASTAI_URL"] = fake.url
        os.environ["VASTAI_API_KEY"] = API_KEY
        settings = load_settings({"database_url": url, "user": "cron"})
        pages = math.ceil(n / 25)

        def run(label: str) -> float:
            before = len(fake.requests)
            t0 = time.perf_counter()
            with open_context(settings, tenant="none") as ctx:
                summary = reconcile.reconcile(ctx)
            took = time.perf_counter() - t0
            calls = fake.requests[before:]
            per_instance = sum(1 for r in calls if r.path != "/api/v1/instances/")
            print(
                f"{label:28s} {took * 1000:8.0f} ms  {len(calls):4d} HTTP requests "
                f"({len(calls) - per_instance} list pages, {per_instance} per-instance)  "
                f"changed={len(summary.changed)} disappeared={len(summary.disappeared)} "
                f"failures={len(summary.failures)} accrued=${summary.accrued}"
            )
            return took

        t0 = time.perf_counter()
        with VastClient(fake.url, API_KEY) as api:
            listed = len(api.list_instances())
        peer = time.perf_counter() - t0
        print(
            f"peer: bare paginated list of {listed} instances: {peer * 1000:.0f} ms, "
            f"{pages} requests"
        )
        first = run(f"steady state ({n})")
        for pid in ids[: max(1, n // 20)]:
            fake.set_status(pid, "exited")
        second = run(f"{max(1, n // 20)} changed state")
        for pid in ids[-max(1, n // 100) :]:
            fake.vanish(pid)
        third = run(f"{max(1, n // 100)} disappeared")
        print(
            f"minimum requests: {pages} (list only); ratio to list time: "
            f"{first / peer:.1f}x / {second / peer:.1f}x / {third / peer:.1f}x"
        )


if __name__ == "__main__":
    main()
