"""Consensus, ties, gold scoring, XP rules, dwell flags, the daily cap, approve_deployment."""

from __future__ import annotations

from datetime import timedelta

import pytest

from shifty_ent.arcade import progression
from tests.arcade.conftest import T0


def test_majority_settles_and_pays_by_correctness(arcade):
    m = arcade.create(overlap=3, reward=100)
    arcade.answer(m["id"], "lars", "correct")
    arcade.answer(m["id"], "lena", "incorrect")
    done = arcade.answer(m["id"], "lukas", "correct")
    assert done["settled"] is True and done["correct"] is True
    mission = done["mission"]
    assert mission["status"] == "settled" and mission["settled_result"] == "correct"
    assert mission["agreement"] == pytest.approx(2 / 3)
    # correct: 50 + (100-50) * (0+1)/(0+2) = 75; wrong: 10% of 50 = 5; paid at settlement
    assert done["xp_awarded"] == 75
    assert arcade.profile("lars")["xp"] == 75
    assert arcade.profile("lena")["xp"] == 5
    assert arcade.profile("lena")["consensus_agreement"] == 0.0
    # settled: nobody can take it any more
    assert arcade.ok("missions", user="lea") == []
    assert arcade.run("assign", m["id"], user="lea").exit_code == 5


def test_xp_only_at_settlement(arcade):
    m = arcade.create(overlap=2)
    first = arcade.answer(m["id"], "lars", "correct")
    assert first["settled"] is False and first["xp_awarded"] == 0
    assert arcade.profile("lars")["xp"] == 0
    arcade.answer(m["id"], "lena", "correct")
    assert arcade.profile("lars")["xp"] == 75


def test_tie_stays_open_for_one_more_answer(arcade):
    m = arcade.create("classify_error", overlap=2)
    arcade.answer(m["id"], "lars", "timeout")
    tied = arcade.answer(m["id"], "lena", "network")
    assert tied["settled"] is False
    assert tied["mission"]["status"] == "open" and tied["mission"]["answers_needed"] == 3
    assert arcade.profile("lars")["xp"] == 0
    assert [x["id"] for x in arcade.ok("missions", user="lukas")] == [m["id"]]
    done = arcade.answer(m["id"], "lukas", "timeout")
    assert done["settled"] is True
    assert done["mission"]["settled_result"] == "timeout"
    assert done["mission"]["agreement"] == pytest.approx(2 / 3)


def test_persistent_tie_ends_unresolved(arcade):
    m = arcade.create("classify_error", overlap=1, options="a,b,c")
    # overlap 1: at most 2*1+1 = 3 answers
    arcade.answer(m["id"], "lars", "a")  # settles at once (no tie with one answer)
    assert arcade.ok("mission", "show", m["id"], user="olga")["status"] == "settled"
    m2 = arcade.create("classify_error", overlap=2, options="a,b,c,d,e")
    for user, opt in zip(("lars", "lena", "lukas", "lea", "leo"), "abcde", strict=True):
        arcade.answer(m2["id"], user, opt)
    view = arcade.ok("mission", "show", m2["id"], user="olga")
    assert view["status"] == "unresolved" and view["settled_result"] is None
    assert view["answers"] == 5
    # half of xp_min for an unresolved mission
    assert arcade.profile("leo")["xp"] == 20


def test_gold_mission_scores_users(arcade):
    m = arcade.create(overlap=2, gold="incorrect")
    arcade.answer(m["id"], "lars", "correct")
    done = arcade.answer(m["id"], "lena", "incorrect")
    # gold wins over a split vote
    assert done["mission"]["settled_result"] == "incorrect"
    assert done["correct"] is True
    lars, lena = arcade.profile("lars"), arcade.profile("lena")
    assert (lars["gold_answers"], lars["accuracy"]) == (1, 0.0)
    assert (lena["gold_answers"], lena["accuracy"]) == (1, 1.0)
    # lena's gold accuracy factor (1+1)/(1+2) scales her reward: 50 + 50*2/3 = 83
    assert lena["xp"] == 83 and lars["xp"] == 5


def test_gold_accuracy_scales_later_rewards(arcade):
    for i in range(3):
        g = arcade.create(overlap=1, gold="correct", t=T0 + timedelta(minutes=i))
        arcade.answer(g["id"], "lars", "correct", t=T0 + timedelta(minutes=i))
        g = arcade.create(overlap=1, gold="correct", t=T0 + timedelta(minutes=i))
        arcade.answer(g["id"], "lena", "incorrect", t=T0 + timedelta(minutes=i))
    t = T0 + timedelta(hours=1)
    a = arcade.create(overlap=1, t=t)
    good = arcade.answer(a["id"], "lars", "correct", t=t)
    b = arcade.create(overlap=1, t=t)
    weak = arcade.answer(b["id"], "lena", "correct", t=t)
    assert good["xp_awarded"] == 50 + round(50 * 4 / 5)
    assert weak["xp_awarded"] == 50 + round(50 * 1 / 5)
    assert good["xp_awarded"] > weak["xp_awarded"]


def test_too_fast_answer_is_flagged_and_not_counted(arcade):
    m = arcade.create(overlap=1)
    fast = arcade.answer(m["id"], "lars", "incorrect", dwell=1)
    assert fast["flagged"] is True and fast["flag_reason"] == "too_fast"
    assert fast["settled"] is False and fast["mission"]["answers_needed"] == 2
    done = arcade.answer(m["id"], "lena", "correct")
    assert done["settled"] is True and done["mission"]["settled_result"] == "correct"
    assert done["mission"]["agreement"] == 1.0  # the flagged answer is not counted
    lars = arcade.profile("lars")
    assert lars["xp"] == 0 and lars["flagged_answers"] == 1 and lars["missions_completed"] == 0
    assert lars["badges"] == []


def test_daily_xp_cap_in_users_time_zone(arcade, monkeypatch):
    monkeypatch.setattr(progression, "DAILY_XP_CAP", 100)
    arcade.cli.ok(
        "user", "add", "lars", "--role", "labeler", "--timezone", "Asia/Tokyo", tenant="acme"
    )
    t = T0 + timedelta(hours=5)  # 14:00 UTC = 23:00 in Tokyo
    first = arcade.create(overlap=1, t=t)
    a = arcade.answer(first["id"], "lars", "correct", t=t)
    second = arcade.create(overlap=1, t=t)
    b = arcade.answer(second["id"], "lars", "correct", t=t)
    assert a["xp_awarded"] == 75 and b["xp_awarded"] == 25 and b["xp_capped"] == 50
    # 15:30 UTC is already the next day in Tokyo: the cap resets
    t2 = t + timedelta(minutes=90)
    third = arcade.create(overlap=1, t=t2)
    c = arcade.answer(third["id"], "lars", "correct", t=t2)
    assert c["xp_awarded"] == 75
    prof = arcade.profile("lars", t=t2 + timedelta(minutes=1))
    assert prof["xp"] == 175 and prof["xp_today"] == 75


def test_level_thresholds():
    expected = [
        0,
        100,
        250,
        531,
        1000,
        1713,
        2740,
        4182,
        6194,
        9000,
        12913,
        18351,
        25859,
        36126,
        50000,
        68513,
        92892,
        124586,
        165275,
        216895,
    ]
    assert list(progression.LEVEL_THRESHOLDS) == expected
    for level, xp in enumerate(expected, start=1):
        assert progression.level_for_xp(xp) == level
        if xp:
            assert progression.level_for_xp(xp - 1) == level - 1
    assert progression.level_for_xp(10**9) == 20
    assert progression.next_level_xp(1) == 100 and progression.next_level_xp(20) is None


def test_profile_progress_and_coins(arcade):
    arcade.ok("grant", "lars", "--xp", "990", "--reason", "migrated from old tool")
    prof = arcade.profile("lars")
    assert prof["level"] == 4 and prof["next_level_xp"] == 1000 and prof["xp_to_next_level"] == 10
    coins_before = prof["coins"]
    m = arcade.create(overlap=1)
    done = arcade.answer(m["id"], "lars", "correct")
    assert done["leveled_up"] is True and done["level_after"] == 5
    assert "first_mission" in done["badges_earned"]
    prof = arcade.profile("lars")
    assert prof["level"] == 5 and prof["xp"] == 1065
    # +7 coins for 990->1065 (one per 10 XP crossed), +50 for reaching level 5, +25 badge
    assert prof["coins"] - coins_before == 7 + 50 + 25
    assert set(prof) >= {
        "user",
        "xp",
        "level",
        "next_level_xp",
        "coins",
        "badges",
        "streak_days",
        "accuracy",
    }


def test_grant_needs_admin(arcade):
    assert arcade.run("grant", "lars", "--xp", "5000", "--reason", "x", user="olga").exit_code == 4
    assert arcade.run("grant", "nobody", "--xp", "5", "--reason", "x").exit_code == 3
    assert arcade.profile("lars")["xp"] == 0


def test_approve_deployment_needs_level_5(arcade, make_context):
    m = arcade.create(
        "approve_deployment", payload={"model": "summarizer", "version": 4}, subject="mv-4"
    )
    assert m["min_level"] == 5 and m["overlap"] == 1
    res = arcade.run("assign", m["id"], user="lars")
    assert res.exit_code == 4 and "level 5" in res.error["message"]
    assert arcade.ok("missions", user="lars") == []
    assert arcade.run("next", user="lars").exit_code == 3
    arcade.ok("grant", "lars", "--xp", "1000", "--reason", "senior reviewer")
    with make_context(tenant="acme", user="lars") as ctx:
        assert progression.get_user_level(ctx, "lars") == 5
    arcade.ok("assign", m["id"], user="lars")
    done = arcade.ok(
        "complete", m["id"], "--option", "approve", user="lars", t=T0 + timedelta(seconds=60)
    )
    assert done["mission"]["settled_result"] == "approve"
    assert 200 <= done["xp_awarded"] <= 500


def test_approve_deployment_complete_rechecks_level(arcade, make_context):
    """A level-5 user who somehow lost level cannot answer (the level is checked at complete)."""
    from sqlalchemy import update

    from shifty_ent.arcade.tables import Profile

    m = arcade.create("approve_deployment", payload={"model": "m"})
    arcade.ok("grant", "lars", "--xp", "1000", "--reason", "r")
    arcade.ok("assign", m["id"], user="lars")
    with make_context(tenant="acme", user="alice") as ctx:
        ctx.session.execute(update(Profile).values(level=4, xp=900))
    res = arcade.run(
        "complete", m["id"], "--option", "approve", user="lars", t=T0 + timedelta(minutes=1)
    )
    assert res.exit_code == 4
    assert arcade.ok("mission", "show", m["id"], user="olga")["answers"] == 0


def test_audit_chain_records_and_verifies(arcade, make_context):
    from sqlalchemy import select

    from shifty_ent.core import audit
    from shifty_ent.core.tables import AuditEvent

    m = arcade.create(overlap=1)
    arcade.answer(m["id"], "lars", "correct")
    with make_context(tenant="acme") as ctx:
        actions = ctx.session.scalars(
            select(AuditEvent.action)
            .where(AuditEvent.tenant_id == ctx.tenant_id, AuditEvent.action.like("arcade.%"))
            .order_by(AuditEvent.seq)
        ).all()
        # one event per command: the completion carries the badge and the settlement it caused
        assert actions == [
            "arcade.mission.create",
            "arcade.mission.assign",
            "arcade.mission.complete",
        ]
        done = ctx.session.scalars(
            select(AuditEvent).where(AuditEvent.action == "arcade.mission.complete")
        ).one()
        assert done.actor == "lars" and done.target_id == m["id"]
        assert done.details["option"] == "correct"
        assert done.details["badges"] == {"lars": ["first_mission"]}
        assert done.details["settlement"]["status"] == "settled"
        assert done.details["settlement"]["result"] == "correct"
        assert list(done.details["settlement"]["xp_paid"]) == ["lars"]
        assert done.details["settlement"]["xp_paid"]["lars"] > 0
        assert audit.verify(ctx.session, ctx.tenant_id).ok


def test_table_output_renders(arcade):
    m = arcade.create(overlap=1)
    arcade.answer(m["id"], "lars", "correct")
    for args in (
        ("profile", "lars"),
        ("leaderboard",),
        ("stats", "--start", "2026-03-01", "--end", "2026-03-03"),
        ("missions",),
        ("mission", "list"),
        ("types",),
    ):
        res = arcade.cli("arcade", *args, user="alice", tenant="acme", fmt="table")
        assert res.exit_code == 0, (args, res.stderr)
        assert res.stdout.strip()
    res = arcade.cli("arcade", "leaderboard", user="alice", tenant="acme", fmt="table")
    assert "lars" in res.stdout
