"""Tenant isolation across every group: a seeded stream of random operations for two tenants,
with cross-tenant attempts mixed in. Nothing run as tenant A ever shows, changes or deletes
anything of tenant B: attempts on B's ids fail as "not found" and leave B's rows byte-identical,
every list shows only the caller's own objects, reports carry no foreign id, and both audit chains
verify."""

from __future__ import annotations

import hashlib
import json
import os
import random
import uuid
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import select
from sqlmodel import SQLModel

from shifty_ent.core import store
from tests.fakes.huggingface import FakeHub, FakeRepo
from tests.fakes.vastai import API_KEY, FakeVast

T0 = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)
SEEDS = [7, 1234, 20261127]
STEPS = 60
PEOPLE = {
    "acme": {
        "admin": "alice",
        "admin2": "bob",
        "operator": "olga",
        "auditor": "audrey",
        "labelers": ["lars", "lena", "lukas"],
    },
    "beta": {
        "admin": "bella",
        "admin2": "bert",
        "operator": "oscar",
        "auditor": "bea",
        "labelers": ["ben", "bianca", "boris"],
    },
}
CLASSES = ["public", "internal", "confidential", "restricted", "pii", "phi"]


def _clock() -> float:
    from shifty_ent.core.clock import now

    return now().timestamp()


def snapshot(db_url: str, tenant_id: str) -> str:
    """A digest of every row any tenant-owned table holds for ``tenant_id``."""
    store.load_all_tables()
    engine = store.get_engine(db_url)
    digest = hashlib.sha256()
    tid = uuid.UUID(tenant_id)
    with engine.connect() as conn:
        for name in sorted(SQLModel.metadata.tables):
            table = SQLModel.metadata.tables[name]
            if "tenant_id" not in table.c:
                continue
            rows = conn.execute(select(table).where(table.c.tenant_id == tid)).all()
            for row in sorted(json.dumps(list(r), default=str) for r in rows):
                digest.update(name.encode() + row.encode())
    return digest.hexdigest()


class World:
    def __init__(self, cli, db_url, root: Path, rng: random.Random, monkeypatch) -> None:
        self.cli, self.db_url, self.root, self.rng, self.mp = cli, db_url, root, rng, monkeypatch
        self.now = T0
        self.ids: dict[str, dict[str, list[str]]] = {t: {} for t in PEOPLE}
        self.tenant_ids: dict[str, str] = {}
        self.n = 0
        self.attacks = 0

    def tick(self, seconds: int = 60) -> None:
        self.now += timedelta(seconds=seconds)
        self.mp.setenv("SHIFTY_NOW", self.now.isoformat())

    def run(self, tenant: str, *args: str, user: str | None = None, ok: bool = True) -> Any:
        res = self.cli(*args, user=user or PEOPLE[tenant]["admin"], tenant=tenant)
        if ok:
            assert res.exit_code == 0, f"{tenant} {args}: {res.exit_code} {res.stderr}"
            return res.json if res.stdout.strip() else None
        return res

    def add(self, tenant: str, kind: str, value: str) -> None:
        self.ids[tenant].setdefault(kind, []).append(value)

    def pick(self, tenant: str, kind: str) -> str | None:
        have = self.ids[tenant].get(kind)
        return self.rng.choice(have) if have else None

    # ------------------------------------------------------------ operations of a tenant

    def op_asset(self, t: str) -> None:
        self.n += 1
        path = self.root / t / f"file-{self.n}.bin"
        path.write_bytes(os.urandom(256))
        cls = self.rng.choice(CLASSES)
        a = self.run(
            t,
            "data",
            "asset",
            "register",
            f"asset-{self.n}",
            "--type",
            "dataset",
            "--classification",
            cls,
            "--location",
            str(path),
            user=PEOPLE[t]["operator"],
        )
        self.add(t, "asset", a["id"])

    def op_hold(self, t: str) -> None:
        a = self.pick(t, "asset")
        if a:
            self.run(
                t,
                "data",
                "asset",
                "hold",
                a,
                "--reason",
                "review",
                user=PEOPLE[t]["operator"],
                ok=False,
            )

    def op_delete(self, t: str) -> None:
        a = self.pick(t, "asset")
        if not a:
            return
        res = self.run(
            t,
            "data",
            "delete",
            "request",
            a,
            "--method",
            "secure_overwrite",
            "--reason",
            "cleanup",
            user=PEOPLE[t]["operator"],
            ok=False,
        )
        if res.exit_code != 0:  # held or already being deleted: refused, fine
            assert res.exit_code in (4, 5), res.stderr
            return
        job = res.json
        self.add(t, "job", job["id"])
        self.run(t, "data", "delete", "approve", job["id"], user=PEOPLE[t]["admin2"])
        done = self.run(
            t, "data", "delete", "execute", job["id"], "--yes", user=PEOPLE[t]["operator"]
        )
        if done.get("certificate_id"):
            self.add(t, "certificate", done["certificate_id"])

    def op_mission(self, t: str) -> None:
        m = self.run(
            t,
            "arcade",
            "mission",
            "create",
            "--type",
            "label_test_output",
            "--payload",
            json.dumps({"test_name": f"t{self.n}", "output": "PASS"}),
            "--overlap",
            "1",
            user=PEOPLE[t]["operator"],
        )
        self.add(t, "mission", m["id"])
        who = self.rng.choice(PEOPLE[t]["labelers"])
        self.run(t, "arcade", "assign", m["id"], user=who)
        self.tick(40)
        self.run(t, "arcade", "complete", m["id"], "--option", "correct", user=who)

    def op_gpu(self, t: str) -> None:
        inst = self.run(
            t,
            "gpu",
            "provision",
            "--type",
            "RTX_4090",
            "--max-price",
            "1",
            "--disk",
            "10",
            user=PEOPLE[t]["operator"],
        )
        self.add(t, "instance", inst["id"])
        if self.rng.random() < 0.5:
            self.tick(600)
            self.run(t, "gpu", "terminate", inst["id"], "--yes", user=PEOPLE[t]["operator"])

    def op_model(self, t: str) -> None:
        self.n += 1
        m = self.run(
            t,
            "model",
            "register",
            f"tiny-{self.n}",
            "--source",
            "huggingface",
            "--source-id",
            "acme/tiny-llama",
            user=PEOPLE[t]["operator"],
        )
        self.add(t, "model", m["id"])

    def op_report(self, t: str) -> None:
        from shifty_ent.report.service import COMPLIANCE_TYPES, REPORT_TYPES

        kind = self.rng.choice(list(REPORT_TYPES))
        args = (
            ["report", "compliance", "--type", kind]
            if kind in COMPLIANCE_TYPES
            else ["report", kind]
        )
        r = self.run(
            t,
            *args,
            "--format",
            self.rng.choice(["md", "html", "json", "csv"]),
            "--start",
            "2026-01-01",
            user=PEOPLE[t]["auditor"],
        )
        self.add(t, "report", r["id"])
        self.add(t, "report_file", r["path"])

    # ------------------------------------------------------------ attacks on the other tenant

    def attack(self, t: str, other: str) -> None:
        kinds = [
            k
            for k in ("asset", "job", "certificate", "mission", "instance", "model", "report")
            if self.ids[other].get(k)
        ]
        if not kinds:
            return
        kind = self.rng.choice(kinds)
        target = self.pick(other, kind)
        assert target is not None
        ref = target if self.rng.random() < 0.5 else target[:8]
        p = PEOPLE[t]
        attempts = {
            "asset": [
                (["data", "asset", "show", ref], p["auditor"]),
                (["data", "asset", "hold", ref, "--reason", "x"], p["operator"]),
                (
                    ["data", "delete", "request", ref, "--method", "standard", "--reason", "x"],
                    p["operator"],
                ),
            ],
            "job": [
                (["data", "delete", "approve", ref], p["admin"]),
                (["data", "delete", "execute", ref, "--yes"], p["operator"]),
                (["data", "delete", "show", ref], p["auditor"]),
            ],
            "certificate": [
                (["data", "certificate", "show", ref], p["auditor"]),
                (["data", "certificate", "verify", ref], p["auditor"]),
            ],
            "mission": [
                (["arcade", "assign", ref], p["labelers"][0]),
                (["arcade", "complete", ref, "--option", "correct"], p["labelers"][0]),
                (["arcade", "mission", "show", ref], p["operator"]),
            ],
            "instance": [
                (["gpu", "status", ref], p["operator"]),
                (["gpu", "terminate", ref, "--yes"], p["operator"]),
            ],
            "model": [(["model", "show", ref], p["operator"])],
            "report": [(["report", "list", "--type", "costs"], p["auditor"])],
        }[kind]
        args, user = self.rng.choice(attempts)
        self.attacks += 1
        before = snapshot(self.db_url, self.tenant_ids[other])
        res = self.cli(*args, user=user, tenant=t)
        after = snapshot(self.db_url, self.tenant_ids[other])
        assert before == after, f"{t} changed {other}'s rows with {args}"
        if kind == "report":
            assert res.exit_code == 0
            assert not {r["id"] for r in res.json} & set(self.ids[other].get("report", []))
        else:
            assert res.exit_code in (2, 3), f"{t} {args} on {other}'s {kind}: {res.exit_code}"
            assert target not in res.stdout
        # being a member of one tenant gives nothing in the other
        foreign = self.cli("data", "asset", "list", user=p["auditor"], tenant=other)
        assert foreign.exit_code == 4


@pytest.mark.parametrize("seed", SEEDS)
def test_random_operations_never_cross_tenants(cli, db_url, tmp_path, monkeypatch, seed):
    repo = FakeRepo("acme/tiny-llama", {"config.json": b"{}", "model.safetensors": b"\0" * 64})
    vast = FakeVast(clock=_clock)
    with vast, FakeHub([repo]) as hub:
        monkeypatch.setenv("VASTAI_URL", vast.url)
        monkeypatch.setenv("VASTAI_API_KEY", API_KEY)
        monkeypatch.setenv("HF_ENDPOINT", hub.url)
        monkeypatch.setenv("SHIFTY_NOW", T0.isoformat())
        for i in range(1, 40):
            vast.add_offer(i, dph_base=0.30 + i / 1000, storage_cost=0.1)
        rng = random.Random(seed)
        world = World(cli, db_url, tmp_path, rng, monkeypatch)
        for t, people in PEOPLE.items():
            (tmp_path / t).mkdir()
            created = cli.ok(
                "tenant", "create", t, "--gpu-monthly-budget", "10000", user=people["admin"]
            )
            # roots are the installation administrator's (alice) to give
            cli.ok("tenant", "root", "add", str(tmp_path / t), "-t", t, user="alice")
            world.tenant_ids[t] = created["id"]
            for role, users in (
                ("admin", [people["admin2"]]),
                ("operator", [people["operator"]]),
                ("auditor", [people["auditor"]]),
                ("labeler", people["labelers"]),
            ):
                for u in users:
                    cli.ok("user", "add", u, "--role", role, user=people["admin"], tenant=t)
        ops = [world.op_asset] * 4 + [
            world.op_hold,
            world.op_delete,
            world.op_delete,
            world.op_mission,
            world.op_gpu,
            world.op_model,
            world.op_report,
        ]
        for _ in range(STEPS):
            t = rng.choice(list(PEOPLE))
            other = "beta" if t == "acme" else "acme"
            world.tick()
            if rng.random() < 0.35:
                world.attack(t, other)
            else:
                rng.choice(ops)(t)
        for t in PEOPLE:
            other = "beta" if t == "acme" else "acme"
            world.op_report(t)  # at least one report each
            mine = {k: set(v) for k, v in world.ids[t].items()}
            theirs = set().union(
                *(set(v) for k, v in world.ids[other].items() if k != "report_file")
            )
            p = PEOPLE[t]
            listings = [
                ("asset", ["data", "asset", "list", "--all"], p["auditor"]),
                ("job", ["data", "delete", "list"], p["auditor"]),
                ("certificate", ["data", "certificate", "list"], p["auditor"]),
                ("instance", ["gpu", "list"], p["operator"]),
                ("model", ["model", "list"], p["operator"]),
                ("report", ["report", "list", "--limit", "500"], p["auditor"]),
            ]
            for kind, args, user in listings:
                res = cli(*args, user=user, tenant=t)
                assert res.exit_code == 0, (args, res.stderr)
                shown = {row["id"] for row in res.json}
                assert not shown & theirs, f"{t} sees {other}'s {kind}"
                assert mine.get(kind, set()) <= shown, f"{t} lost its own {kind}"
            for path in world.ids[t].get("report_file", []):
                text = Path(path).read_text(encoding="utf-8")
                assert not any(i in text for i in theirs), f"{t}'s report {path} names {other}"
                assert world.tenant_ids[other] not in text
            chain = cli.ok("report", "audit", "verify", user=p["auditor"], tenant=t)
            assert chain[0]["ok"] is True
        assert world.attacks >= 5, "the seed produced too few cross-tenant attempts"
        # the snapshot is sensitive: one changed byte in the other tenant's rows shows
        from shifty_ent.data.tables import Asset

        tid = world.tenant_ids["beta"]
        before = snapshot(db_url, tid)
        engine = store.get_engine(db_url)
        with engine.begin() as conn:
            conn.execute(
                Asset.__table__.update()
                .where(Asset.tenant_id == uuid.UUID(tid))
                .values(hold_reason="changed")
            )
        assert snapshot(db_url, tid) != before
