"""`arcade mission cancel`: open or partly answered missions only, leases released, audited."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from datetime import timedelta

import pytest
from sqlalchemy import select

from tests.arcade.conftest import T0, at


def _audit(make_context, action: str) -> list:
    from shifty_ent.core.tables import AuditEvent

    with make_context(tenant="acme") as ctx:
        return list(
            ctx.session.scalars(
                select(AuditEvent).where(
                    AuditEvent.tenant_id == ctx.tenant_id, AuditEvent.action == action
                )
            ).all()
        )


def test_cancel_partly_answered_mission_releases_leases(arcade, make_context):
    from shifty_ent.arcade.tables import Answer, Slot
    from shifty_ent.core import audit

    m = arcade.create(overlap=3)
    arcade.answer(m["id"], "lars", "correct")
    arcade.ok("assign", m["id"], user="lena")
    t = T0 + timedelta(minutes=2)
    done = arcade.ok(
        "mission", "cancel", m["id"], "--reason", "payload was wrong", user="olga", t=t
    )
    assert done["status"] == "cancelled"
    assert done["cancel_reason"] == "payload was wrong" and done["cancelled_by"] == "olga"
    assert done["cancelled_at"].startswith("2026-03-02T09:02:00")
    assert done["answers"] == 1 and done["leases_released"] == 1
    assert done["settled_result"] is None and done["settled_at"] is None
    # lena's lease is gone: she cannot answer, and nobody can take the mission any more
    res = arcade.run("complete", m["id"], "--option", "correct", user="lena", t=t)
    assert res.exit_code == 5 and "cancelled" in res.error["message"]
    assert arcade.run("assign", m["id"], user="lukas", t=t).exit_code == 5
    assert arcade.run("next", user="lukas", t=t).exit_code == 3
    assert arcade.ok("missions", user="lukas", t=t) == []
    shown = arcade.ok("mission", "show", m["id"], user="olga", t=t)
    assert shown["status"] == "cancelled" and shown["cancel_reason"] == "payload was wrong"
    assert [
        x["id"] for x in arcade.ok("mission", "list", "--status", "cancelled", user="olga")
    ] == [m["id"]]
    # the earlier answer stays on record, unsettled and unpaid
    assert arcade.profile("lars", t=t)["xp"] == 0
    with make_context(tenant="acme") as ctx:
        ans = ctx.session.scalars(select(Answer)).one()
        assert ans.username == "lars" and ans.settled_at is None and ans.xp_awarded == 0
        slots = ctx.session.scalars(select(Slot).where(Slot.state == "leased")).all()
        assert slots == []
        assert audit.verify(ctx.session, ctx.tenant_id).ok
    (event,) = _audit(make_context, "arcade.mission.cancel")
    assert event.actor == "olga" and event.target_id == m["id"]
    assert event.details == {
        "reason": "payload was wrong",
        "answers": 1,
        "answers_needed": 3,
        "leases_released": 1,
    }


def test_cancel_untouched_mission_by_admin(arcade):
    m = arcade.create(overlap=1)
    done = arcade.ok("mission", "cancel", m["id"][:8], "--reason", "duplicate", user="alice")
    assert done["status"] == "cancelled" and done["leases_released"] == 0


def test_cancel_refuses_settled_and_cancelled_missions_changing_nothing(arcade, make_context):
    settled = arcade.create(overlap=1)
    arcade.answer(settled["id"], "lars", "correct")
    res = arcade.run("mission", "cancel", settled["id"], "--reason", "late", user="olga")
    assert res.exit_code == 5 and "settled" in res.error["message"]
    view = arcade.ok("mission", "show", settled["id"], user="olga")
    assert view["status"] == "settled" and view["cancel_reason"] is None
    assert arcade.profile("lars")["xp"] > 0

    gone = arcade.create(overlap=1)
    arcade.ok("mission", "cancel", gone["id"], "--reason", "first", user="olga")
    res = arcade.run("mission", "cancel", gone["id"], "--reason", "second", user="olga")
    assert res.exit_code == 5 and "cancelled" in res.error["message"]
    assert arcade.ok("mission", "show", gone["id"], user="olga")["cancel_reason"] == "first"
    assert len(_audit(make_context, "arcade.mission.cancel")) == 1


def test_cancel_needs_operator_reason_and_a_known_mission(arcade, make_context):
    m = arcade.create(overlap=2)
    arcade.ok("assign", m["id"], user="lars")
    res = arcade.run("mission", "cancel", m["id"], "--reason", "mine now", user="lars")
    assert res.exit_code == 4
    res = arcade.run("mission", "cancel", m["id"], "--reason", "audit only", user="audrey")
    assert res.exit_code == 4
    res = arcade.run("mission", "cancel", m["id"], "--reason", "   ", user="olga")
    assert res.exit_code == 2 and "reason" in res.error["message"]
    res = arcade.run("mission", "cancel", m["id"], "--reason", "x" * 501, user="olga")
    assert res.exit_code == 2
    res = arcade.run("mission", "cancel", m["id"], user="olga")
    assert res.exit_code == 2  # --reason is required
    res = arcade.run(
        "mission", "cancel", "00000000-0000-4000-8000-000000000000", "--reason", "x", user="olga"
    )
    assert res.exit_code == 3
    # nothing changed: still open, lars still holds his lease and can answer
    assert arcade.ok("mission", "show", m["id"], user="olga")["status"] == "open"
    assert _audit(make_context, "arcade.mission.cancel") == []
    done = arcade.ok(
        "complete", m["id"], "--option", "correct", user="lars", t=T0 + timedelta(seconds=30)
    )
    assert done["answer_id"]


def test_cancel_is_tenant_scoped(arcade):
    arcade.cli.ok("tenant", "create", "globex", user="gina")
    m = arcade.create(overlap=1)
    res = arcade.run("mission", "cancel", m["id"], "--reason", "x", user="gina", tenant="globex")
    assert res.exit_code == 3
    assert arcade.ok("mission", "show", m["id"], user="olga")["status"] == "open"


@pytest.mark.slow
def test_cancel_racing_complete_exactly_one_wins(arcade, db_url, make_context):
    from shifty_ent.arcade.tables import Answer

    m = arcade.create(overlap=1)
    arcade.ok("assign", m["id"], user="lars")
    env = {**os.environ, **at(T0 + timedelta(seconds=30))}
    base = [sys.executable, "-m", "shifty_ent", "--db", db_url, "-t", "acme", "-o", "json"]
    procs = {
        "complete": subprocess.Popen(
            [*base, "--as", "lars", "arcade", "complete", m["id"], "--option", "correct"],
            env=env,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        ),
        "cancel": subprocess.Popen(
            [*base, "--as", "olga", "arcade", "mission", "cancel", m["id"], "--reason", "race"],
            env=env,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        ),
    }
    codes = {k: (p.wait(timeout=120), p.communicate()) for k, p in procs.items()}
    outcome = {k: c for k, (c, _) in codes.items()}
    assert sorted(outcome.values()) == [0, 5], codes
    view = arcade.ok("mission", "show", m["id"], user="olga")
    with make_context(tenant="acme") as ctx:
        answers = ctx.session.scalars(select(Answer)).all()
    if outcome["complete"] == 0:
        assert view["status"] == "settled" and len(answers) == 1
        assert "settled" in json.loads(codes["cancel"][1][1])["error"]["message"]
    else:
        assert view["status"] == "cancelled" and answers == []
        assert "cancelled" in json.loads(codes["complete"][1][1])["error"]["message"]
    assert len(_audit(make_context, "arcade.mission.cancel")) == (outcome["cancel"] == 0)


def test_a_claim_caught_by_a_cancel_keeps_no_lease(arcade, make_context, monkeypatch):
    """A claim that picked a free slot just before a cancel committed used to keep its lease on
    the cancelled mission. The claim is held between choosing its slot and taking it; the cancel
    runs meanwhile (on PostgreSQL it now waits for the claim's row, on SQLite for its
    transaction) and must close the lease the claim then took."""
    import threading

    from shifty_ent.arcade import missions
    from shifty_ent.arcade.tables import Slot

    m = arcade.create(overlap=2)
    chosen, go = threading.Event(), threading.Event()
    real_get_type = missions.get_type

    def slow_get_type(name):
        if sys._getframe(1).f_code.co_name == "_claim" and not go.is_set():
            chosen.set()
            go.wait(30)
        return real_get_type(name)

    monkeypatch.setattr(missions, "get_type", slow_get_type)
    monkeypatch.setenv("SHIFTY_NOW", T0.isoformat())
    errors: list[BaseException] = []

    def run(user, work):
        try:
            with make_context(tenant="acme", user=user) as ctx:
                work(ctx)
        except BaseException as exc:  # surfaced below
            errors.append(exc)

    claim = threading.Thread(target=run, args=("lars", lambda c: missions.assign(c, m["id"])))
    cancel = threading.Thread(
        target=run, args=("olga", lambda c: missions.cancel_mission(c, m["id"], "race"))
    )
    claim.start()
    assert chosen.wait(30)
    cancel.start()
    cancel.join(1.0)
    go.set()
    claim.join(60)
    cancel.join(60)
    assert errors == []
    with make_context(tenant="acme") as ctx:
        states = sorted(s.state for s in ctx.session.scalars(select(Slot)).all())
    assert "leased" not in states and states == ["closed", "closed"]
    assert arcade.ok("mission", "show", m["id"], user="olga")["status"] == "cancelled"
    res = arcade.run("complete", m["id"], "--option", "correct", user="lars")
    assert res.exit_code == 5
