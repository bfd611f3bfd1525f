"""Parallel processes never share a slot; tenants never see each other's missions or players."""

from __future__ import annotations

import os
import subprocess
import sys
from datetime import timedelta

import pytest
from sqlalchemy import func, select

from shifty_ent.arcade.tables import Slot
from tests.arcade.conftest import LABELLERS, T0, at


def _spawn(db_url, user, *args, t=T0):
    env = {**os.environ, **at(t)}
    cmd = [
        sys.executable,
        "-m",
        "shifty_ent",
        "--db",
        db_url,
        "--as",
        user,
        "-t",
        "acme",
        "-o",
        "json",
        "arcade",
        *args,
    ]
    return subprocess.Popen(cmd, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE)


@pytest.mark.slow
def test_parallel_next_never_gives_the_same_slot(arcade, db_url, make_context):
    import json

    for user in ("leif", "lina", "lotta"):
        arcade.cli.ok("user", "add", user, "--role", "labeler", tenant="acme")
    users = [*LABELLERS, "leif", "lina", "lotta"]  # 8 people, 2 missions x 3 slots = 6 slots
    a = arcade.create(overlap=3, t=T0 - timedelta(minutes=2))
    b = arcade.create(overlap=3, t=T0 - timedelta(minutes=1))
    procs = [_spawn(db_url, u, "next") for u in users]
    outs = [(p, *p.communicate(timeout=180)) for p in procs]
    ok = [json.loads(out) for p, out, _ in outs if p.returncode == 0]
    codes = sorted(p.returncode for p, _, _ in outs)
    assert codes == [0] * 6 + [3] * 2, [(p.returncode, err) for p, _, err in outs]
    assert sorted(x["id"] for x in ok) == sorted([a["id"]] * 3 + [b["id"]] * 3)
    with make_context(tenant="acme") as ctx:
        rows = ctx.session.execute(select(Slot.mission_id, Slot.slot_no, Slot.holder)).all()
        holders = [r.holder for r in rows if r.holder]
        assert len(holders) == 6 and len(set(holders)) == 6
        per_mission = ctx.session.execute(
            select(Slot.mission_id, func.count(func.distinct(Slot.holder))).group_by(
                Slot.mission_id
            )
        ).all()
        assert sorted(n for _, n in per_mission) == [3, 3]


@pytest.mark.slow
def test_same_user_two_terminals_gets_one_slot(arcade, db_url, make_context):
    m = arcade.create(overlap=3)
    procs = [_spawn(db_url, "lars", "assign", m["id"]) for _ in range(3)]
    for p in procs:
        p.communicate(timeout=120)
    assert all(p.returncode in (0, 5) for p in procs)
    with make_context(tenant="acme") as ctx:
        held = ctx.session.scalar(
            select(func.count()).select_from(Slot).where(Slot.holder == "lars")
        )
    assert held == 1


@pytest.mark.slow
def test_parallel_completions_settle_once(arcade, db_url, make_context):
    """The last answers arriving together settle the mission exactly once."""
    from shifty_ent.core.tables import AuditEvent

    m = arcade.create(overlap=3)
    for user in ("lars", "lena", "lukas"):
        arcade.ok("assign", m["id"], user=user)
    procs = [
        _spawn(db_url, u, "complete", m["id"], "--option", "correct", t=T0 + timedelta(seconds=30))
        for u in ("lars", "lena", "lukas")
    ]
    for p in procs:
        p.communicate(timeout=120)
    assert [p.returncode for p in procs] == [0, 0, 0]
    view = arcade.ok("mission", "show", m["id"], user="olga")
    assert view["status"] == "settled" and view["answers"] == 3
    with make_context(tenant="acme") as ctx:
        outcomes = ctx.session.scalars(
            select(AuditEvent.details).where(AuditEvent.action == "arcade.mission.complete")
        ).all()
    assert len(outcomes) == 3
    assert [o["settlement"]["status"] for o in outcomes if o["settlement"]] == ["settled"]
    for user in ("lars", "lena", "lukas"):
        assert arcade.profile(user)["xp"] == 75


def test_cross_tenant_invisibility(arcade, make_context):
    arcade.cli.ok("tenant", "create", "globex", user="gina")
    arcade.cli.ok("user", "add", "lars", "--role", "labeler", user="gina", tenant="globex")
    m = arcade.create(overlap=2)
    arcade.answer(m["id"], "lars", "correct")
    assert arcade.run("mission", "show", m["id"], user="gina", tenant="globex").exit_code == 3
    assert arcade.run("assign", m["id"], user="lars", tenant="globex").exit_code == 3
    assert (
        arcade.run(
            "complete", m["id"], "--option", "correct", user="lars", tenant="globex"
        ).exit_code
        == 3
    )
    assert arcade.ok("missions", user="lars", tenant="globex") == []
    assert arcade.ok("mission", "list", user="gina", tenant="globex") == []
    assert arcade.ok("leaderboard", "--type", "missions", user="gina", tenant="globex") == []
    # lars's acme progress does not follow him into globex
    prof = arcade.ok("profile", "lars", user="gina", tenant="globex")
    assert prof["missions_completed"] == 0 and prof["badges"] == []
    stats = arcade.ok(
        "stats", "--start", "2026-03-01", "--end", "2026-03-03", user="gina", tenant="globex"
    )
    assert stats["totals"]["answers"] == 0
    # acme people who are not in globex cannot even ask
    assert arcade.run("leaderboard", user="lena", tenant="globex").exit_code == 4
    # the service refuses another tenant's subject too
    from shifty_ent.arcade import missions

    with make_context(tenant="globex", user="gina") as ctx:
        assert missions.missions_for_subject(ctx, "anything") == []


def test_roles(arcade):
    assert arcade.ok("leaderboard", user="audrey") == []
    assert arcade.ok("stats", user="audrey")["totals"]["answers"] == 0
    assert (
        arcade.run(
            "dataset", "create", "x", "--mission-type", "label_test_output", user="lars"
        ).exit_code
        == 4
    )
    arcade.cli.ok("user", "add", "outsider", "--role", "labeler", tenant="acme")
    arcade.cli.ok("user", "remove", "outsider", "--yes", tenant="acme")
    assert arcade.run("missions", user="outsider").exit_code == 4
