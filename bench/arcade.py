"""Benchmark the arcade: leaderboard reads and concurrent assign + complete.

1. Leaderboard top 10 (``xp_all_time``) over P profiles and A answers, served by the arcade's
   ``leaderboard()`` service from the maintained ``arcade_profiles`` aggregate and its index,
   against the peer: the naive ``GROUP BY username`` over all of the tenant's answers (the same
   top 10, checked). Target: at least 50x faster. SQLite by default; PostgreSQL with
   ``--pg URL`` (a scratch database
   is created on that server and dropped afterwards).
2. With ``--pg URL``: W worker processes (default 8) each loop ``next`` + ``complete`` as their own
   user until M missions are answered; reports throughput and checks zero duplicate slots (every
   mission answered exactly once, no mission leased by two workers). The minimum dwell time is
   disabled inside the workers (they answer instantly on purpose).

    python bench/arcade.py                  # 20,000 profiles, 200,000 answers (under a minute)
    python bench/arcade.py --full           # the issue's 100,000 profiles, 1,000,000 answers
    python bench/arcade.py --pg postgresql://postgres@127.0.0.1:5432/test --missions 10000
"""

from __future__ import annotations

import argparse
import multiprocessing as mp
import os
import random
import statistics
import sys
import tempfile
import time
import uuid
from datetime import UTC, datetime, timedelta
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "src"))

CHUNK = 20_000


# ----------------------------------------------------------------- databases


def _pg_scratch(url: str) -> tuple[str, str]:
    """Create a scratch database on the server of ``url``; return (its URL, its name)."""
    import psycopg
    from sqlalchemy.engine import make_url

    from shifty_ent.core.store import normalize_url

    base = make_url(normalize_url(url))
    name = f"shifty_bench_{os.getpid()}_{uuid.uuid4().hex[:6]}"
    admin = base.set(drivername="postgresql").render_as_string(hide_password=False)
    with psycopg.connect(admin, autocommit=True) as conn:
        conn.execute(f'CREATE DATABASE "{name}"')
    return base.set(database=name).render_as_string(hide_password=False), name


def _pg_drop(url: str, name: str) -> None:
    import psycopg
    from sqlalchemy.engine import make_url

    from shifty_ent.core.store import get_engine, normalize_url

    get_engine.cache_clear()
    admin = make_url(normalize_url(url)).set(drivername="postgresql")
    with psycopg.connect(admin.render_as_string(hide_password=False), autocommit=True) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


def _setup(url: str, users: list[str]) -> None:
    """Migrate, create tenant ``bench`` (admin ``bench``) and labeller users."""
    from shifty_ent.core import store, tenancy
    from shifty_ent.core.store import new_session

    engine = store.get_engine(url)
    store.upgrade(engine)
    with new_session(engine) as session:
        tenant = tenancy.create_tenant(session, name="bench", actor="bench")
        for user in users:
            tenancy.add_user(session, tenant, username=user, roles=["labeler"], actor="bench")
        session.commit()


def _context(url: str, user: str = "bench"):
    from shifty_ent.core.config import load_settings
    from shifty_ent.core.context import open_context

    settings = load_settings({"database_url": url, "tenant": "bench", "user": user})
    return open_context(settings, tenant="required")


# ----------------------------------------------------------------- 1. leaderboard


def load_answers(url: str, profiles: int, answers: int, seed: int = 11) -> dict[str, int]:
    """Bulk-load missions, answers and the matching profiles; return xp per user."""
    from sqlalchemy import insert, select

    from shifty_ent.arcade.tables import Answer, Mission, Profile
    from shifty_ent.core import store
    from shifty_ent.core.tables import Tenant

    rng = random.Random(seed)
    engine = store.get_engine(url)
    with engine.begin() as conn:
        tid = conn.execute(select(Tenant.id).where(Tenant.name == "bench")).scalar_one()
    names = [f"user{i:06d}" for i in range(profiles)]
    xp = dict.fromkeys(names, 0)
    done = dict.fromkeys(names, 0)
    t0 = datetime(2026, 1, 5, tzinfo=UTC)
    per_mission = 3
    n_missions = (answers + per_mission - 1) // per_mission
    started = time.perf_counter()
    made = 0
    for start in range(0, n_missions, CHUNK // per_mission):
        stop = min(n_missions, start + CHUNK // per_mission)
        mrows, arows = [], []
        for m in range(start, stop):
            mid = uuid.uuid4()
            at = t0 + timedelta(seconds=m)
            mrows.append(
                {
                    "id": mid,
                    "tenant_id": tid,
                    "type": "label_test_output",
                    "status": "settled",
                    "payload": {"output": f"case {m}"},
                    "options": ["correct", "incorrect", "unsure"],
                    "overlap": per_mission,
                    "needed": per_mission,
                    "answer_count": per_mission,
                    "reward": 100,
                    "min_level": 1,
                    "classification": "confidential",
                    "settled_result": "correct",
                    "agreement": 1.0,
                    "settled_at": at,
                    "created_at": at,
                    "created_by": "bench",
                }
            )
            for who in rng.sample(names, per_mission):
                if made >= answers:
                    break
                made += 1
                gain = rng.randint(5, 100)
                xp[who] += gain
                done[who] += 1
                arows.append(
                    {
                        "id": uuid.uuid4(),
                        "tenant_id": tid,
                        "mission_id": mid,
                        "mission_type": "label_test_output",
                        "username": who,
                        "option": "correct",
                        "assigned_at": at,
                        "completed_at": at + timedelta(seconds=20),
                        "dwell_seconds": 20.0,
                        "flagged": False,
                        "is_gold": False,
                        "correct": True,
                        "xp_earned": gain,
                        "xp_awarded": gain,
                        "settled_at": at,
                    }
                )
        with engine.begin() as conn:
            conn.execute(insert(Mission), mrows)
            conn.execute(insert(Answer), arows)
    from shifty_ent.arcade.progression import level_for_xp

    prows = [
        {
            "id": uuid.uuid4(),
            "tenant_id": tid,
            "username": n,
            "xp": xp[n],
            "level": level_for_xp(xp[n]),
            "coins": xp[n] // 10,
            "missions_completed": done[n],
            "missions_settled": done[n],
            "flagged_count": 0,
            "gold_answers": 0,
            "gold_correct": 0,
            "consensus_answers": done[n],
            "consensus_correct": done[n],
            "xp_week": 0,
            "xp_today": 0,
            "streak_days": 0,
            "best_streak": 0,
        }
        for n in names
    ]
    with engine.begin() as conn:
        for i in range(0, len(prows), CHUNK):
            conn.execute(insert(Profile), prows[i : i + CHUNK])
    with engine.begin() as conn:
        conn.exec_driver_sql("ANALYZE")
    print(
        f"  loaded {profiles:,} profiles, {made:,} answers, {n_missions:,} missions "
        f"in {time.perf_counter() - started:.1f}s",
        flush=True,
    )
    return xp


def _median_time(fn, runs: int) -> tuple[float, object]:
    times, out = [], None
    for _ in range(runs):
        t = time.perf_counter()
        out = fn()
        times.append(time.perf_counter() - t)
    return statistics.median(times), out


def bench_leaderboard(url: str, profiles: int, answers: int, runs: int) -> float:
    from sqlalchemy import text

    from shifty_ent.arcade import leaderboard
    from shifty_ent.core import store

    _setup(url, [])
    xp = load_answers(url, profiles, answers)
    expected = sorted(xp.items(), key=lambda kv: (-kv[1], kv[0]))[:10]
    engine = store.get_engine(url)

    with _context(url) as ctx:
        tid = ctx.tenant_id

        def indexed():
            return [(r["user"], r["value"]) for r in leaderboard.leaderboard(ctx, limit=10)]

        fast, top = _median_time(indexed, runs)
    naive_sql = text(
        "SELECT username, SUM(xp_awarded) AS xp FROM arcade_answers WHERE tenant_id = :t "
        "GROUP BY username ORDER BY xp DESC, username LIMIT 10"
    )
    tid_param = tid.hex if engine.dialect.name == "sqlite" else tid

    def naive():
        with engine.connect() as conn:
            return [(u, int(x)) for u, x in conn.execute(naive_sql, {"t": tid_param}).all()]

    slow, peer_top = _median_time(naive, max(3, runs // 5))
    assert top == expected, (top, expected)
    assert peer_top == expected, (peer_top, expected)
    ratio = slow / fast
    print(
        f"  leaderboard xp_all_time top 10 ({engine.dialect.name}): "
        f"maintained aggregate {fast * 1000:.2f} ms, naive GROUP BY over answers "
        f"{slow * 1000:.1f} ms -> {ratio:,.0f}x faster (target >= 50x) "
        f"{'PASS' if ratio >= 50 else 'FAIL'}",
        flush=True,
    )
    return ratio


# ----------------------------------------------------------------- 2. concurrency


def _worker(url: str, user: str, timeout: float, q: mp.Queue, ready: mp.Queue, go) -> None:
    import dataclasses

    from sqlalchemy import Engine, event

    from shifty_ent.arcade import mission_types, missions
    from shifty_ent.core.errors import Conflict

    lto = mission_types.TYPES["label_test_output"]
    mission_types.TYPES["label_test_output"] = dataclasses.replace(lto, min_dwell_seconds=0)
    taken: list[str] = []
    conflicts = 0
    statements = [0]

    def count(*_args: object) -> None:
        statements[0] += 1

    with _context(url, user) as ctx:  # imports, settings and a connection, before the clock
        ctx.session.connection()
    ready.put(user)
    go.wait()
    statements[0] = 0
    deadline = time.time() + timeout
    event.listen(Engine, "before_cursor_execute", count)
    while time.time() < deadline:
        try:
            with _context(url, user) as ctx:
                lease = missions.next_mission(ctx)
                if lease is None:
                    break
                mid = str(lease.mission.id)
            with _context(url, user) as ctx:
                missions.complete(ctx, mid, option="correct")
            taken.append(mid)
        except Conflict:
            conflicts += 1
    q.put((user, taken, conflicts, statements[0], time.perf_counter()))


def bench_workers(url: str, workers: int, n_missions: int, timeout: float) -> None:
    from sqlalchemy import func, insert, select

    from shifty_ent.arcade.tables import Answer, Mission, Slot
    from shifty_ent.core import store
    from shifty_ent.core.tables import Tenant

    users = [f"worker{i}" for i in range(workers)]
    _setup(url, users)
    engine = store.get_engine(url)
    with engine.begin() as conn:
        tid = conn.execute(select(Tenant.id).where(Tenant.name == "bench")).scalar_one()
        t0 = datetime.now(UTC) - timedelta(hours=1)
        for i in range(0, n_missions, CHUNK):
            ms, ss = [], []
            for k in range(i, min(n_missions, i + CHUNK)):
                mid = uuid.uuid4()
                ms.append(
                    {
                        "id": mid,
                        "tenant_id": tid,
                        "type": "label_test_output",
                        "status": "open",
                        "payload": {"output": f"case {k}"},
                        "options": ["correct", "incorrect", "unsure"],
                        "overlap": 1,
                        "needed": 1,
                        "answer_count": 0,
                        "reward": 100,
                        "min_level": 1,
                        "classification": "confidential",
                        "created_at": t0 + timedelta(milliseconds=k),
                        "created_by": "bench",
                    }
                )
                ss.append(
                    {
                        "id": uuid.uuid4(),
                        "tenant_id": tid,
                        "mission_id": mid,
                        "slot_no": 0,
                        "state": "free",
                        "lease_count": 0,
                    }
                )
            conn.execute(insert(Mission), ms)
            conn.execute(insert(Slot), ss)
    with engine.begin() as conn:
        # a live store has statistics (autovacuum analyzes after big inserts within a minute);
        # without them a claim over 10,000 freshly loaded missions sorts them all (~60 ms)
        conn.exec_driver_sql("ANALYZE")
    store.get_engine.cache_clear()
    ctxmp = mp.get_context("spawn")
    q, ready, go = ctxmp.Queue(), ctxmp.Queue(), ctxmp.Event()
    procs = [ctxmp.Process(target=_worker, args=(url, u, timeout, q, ready, go)) for u in users]
    for p in procs:
        p.start()
    for _ in procs:  # process start-up (imports, first connection) is not timed
        ready.get()
    started = time.perf_counter()
    go.set()
    results = [q.get() for _ in procs]
    for p in procs:
        p.join()
    elapsed = max(r[4] for r in results) - started
    taken = [m for _, t, _, _, _ in results for m in t]
    conflicts = sum(c for _, _, c, _, _ in results)
    statements = sum(n for _, _, _, n, _ in results)
    engine = store.get_engine(url)
    with engine.connect() as conn:
        answers = conn.execute(select(func.count()).select_from(Answer)).scalar_one()
        dup = conn.execute(
            select(func.count()).select_from(
                select(Answer.mission_id)
                .group_by(Answer.mission_id)
                .having(func.count() > 1)
                .subquery()
            )
        ).scalar_one()
        settled = conn.execute(
            select(func.count()).select_from(Mission).where(Mission.status == "settled")
        ).scalar_one()
    dup_claims = len(taken) - len(set(taken))
    print(
        f"  {workers} processes, {n_missions:,} missions: {len(taken):,} assigned+completed in "
        f"{elapsed:.1f}s = {len(taken) / elapsed:,.0f} missions/s; answers {answers:,}, settled "
        f"{settled:,}; duplicate slots {dup + dup_claims} (conflicts retried: {conflicts}) "
        f"{'PASS' if dup + dup_claims == 0 and answers == len(taken) else 'FAIL'}",
        flush=True,
    )
    per = ", ".join(f"{u}={len(t)}" for u, t, _, _, _ in sorted(results))
    print(f"  per worker: {per}")
    print(
        f"  SQL statements per assigned+completed mission (next + complete, both commands' "
        f"context setup included): {statements / max(1, len(taken)):.1f}"
    )


def main() -> None:
    # a scratch store that plays several people: a declared-identity sandbox
    os.environ["SHIFTY_IDENTITY"] = "declared"
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--profiles", type=int, default=20_000)
    ap.add_argument("--answers", type=int, default=200_000)
    ap.add_argument("--full", action="store_true", help="100,000 profiles, 1,000,000 answers")
    ap.add_argument("--runs", type=int, default=50, help="timed leaderboard reads (median)")
    ap.add_argument("--pg", metavar="URL", help="PostgreSQL server URL (scratch DB made there)")
    ap.add_argument("--workers", type=int, default=8)
    ap.add_argument("--missions", type=int, default=2_000, help="missions for the worker run")
    ap.add_argument("--timeout", type=float, default=600.0, help="worker run time limit (s)")
    ap.add_argument("--skip-leaderboard", action="store_true")
    args = ap.parse_args()
    os.environ.pop("SHIFTY_NOW", None)
    if args.full:
        args.profiles, args.answers = 100_000, 1_000_000
    if not args.skip_leaderboard:
        print(f"1. leaderboard over {args.profiles:,} profiles / {args.answers:,} answers")
        if args.pg:
            url, name = _pg_scratch(args.pg)
            try:
                bench_leaderboard(url, args.profiles, args.answers, args.runs)
            finally:
                _pg_drop(args.pg, name)
        else:
            with tempfile.TemporaryDirectory() as tmp:
                bench_leaderboard(
                    f"sqlite:///{tmp}/bench.db", args.profiles, args.answers, args.runs
                )
    if args.pg:
        print(f"2. {args.workers} processes assigning + completing on PostgreSQL")
        url, name = _pg_scratch(args.pg)
        try:
            bench_workers(url, args.workers, args.missions, args.timeout)
        finally:
            _pg_drop(args.pg, name)
    else:
        print("2. skipped: the multi-process run needs --pg URL")


if __name__ == "__main__":
    main()
