"""Badges (once), streaks in the user's time zone, leaderboards from the maintained aggregate."""

from __future__ import annotations

import os
import subprocess
import sys
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import event, func, select

from shifty_ent.arcade import leaderboard, progression
from shifty_ent.arcade.tables import Badge, Profile
from shifty_ent.core.tables import AuditEvent
from tests.arcade.conftest import T0, at


def _settle_one(arcade, user, t, option="correct", **kw):
    m = arcade.create(overlap=1, t=t, **kw)
    return arcade.answer(m["id"], user, option, t=t)


def test_mission_count_badges_awarded_once(arcade, make_context):
    done = _settle_one(arcade, "lars", T0)
    assert done["badges_earned"] == ["first_mission"]
    for i in range(1, 10):
        done = _settle_one(arcade, "lars", T0 + timedelta(minutes=i))
        assert ("ten_missions" in done["badges_earned"]) == (i == 9)
        assert "first_mission" not in done["badges_earned"]
    prof = arcade.profile("lars")
    assert prof["badges"] == ["first_mission", "ten_missions"]
    with make_context(tenant="acme") as ctx:
        details = ctx.session.scalars(
            select(AuditEvent.details).where(AuditEvent.action == "arcade.mission.complete")
        ).all()
        audited = [b for d in details for b in d["badges"].get("lars", [])]
        assert sorted(audited) == ["first_mission", "ten_missions"]


def test_streak_counts_days_in_users_time_zone(arcade):
    arcade.cli.ok(
        "user",
        "add",
        "lars",
        "--role",
        "labeler",
        "--timezone",
        "America/Los_Angeles",
        tenant="acme",
    )
    # 08:30Z Mar 1 = 00:30 Mar 1 in LA; 07:30Z Mar 3 = 23:30 Mar 2 in LA.
    # UTC days Mar 1 and Mar 3 (a gap); LA days Mar 1 and Mar 2 (consecutive).
    t1 = datetime(2026, 3, 1, 8, 30, tzinfo=UTC)
    t2 = datetime(2026, 3, 3, 7, 30, tzinfo=UTC)
    for t in (t1, t2):
        _settle_one(arcade, "lars", t)
        _settle_one(arcade, "lena", t)  # lena stays in UTC
    lars = arcade.profile("lars", t=t2 + timedelta(minutes=5))
    lena = arcade.profile("lena", t=t2 + timedelta(minutes=5))
    assert lars["streak_days"] == 2 and lars["timezone"] == "America/Los_Angeles"
    assert lena["streak_days"] == 1
    # LA Mar 3 still counts yesterday's run; LA Mar 4 01:00 has missed a day
    assert arcade.profile("lars", t=datetime(2026, 3, 4, 7, 59, tzinfo=UTC))["streak_days"] == 2
    assert arcade.profile("lars", t=datetime(2026, 3, 4, 9, 0, tzinfo=UTC))["streak_days"] == 0
    assert arcade.profile("lars", t=datetime(2026, 3, 4, 9, 0, tzinfo=UTC))["best_streak"] == 2


def test_flagged_answers_do_not_extend_streak(arcade):
    _settle_one(arcade, "lars", T0)
    m = arcade.create(overlap=1, t=T0 + timedelta(days=1))
    arcade.answer(m["id"], "lars", "correct", t=T0 + timedelta(days=1), dwell=1)
    arcade.answer(m["id"], "lena", "correct", t=T0 + timedelta(days=1))
    assert arcade.profile("lars", t=T0 + timedelta(days=1, hours=1))["streak_days"] == 1


def test_week_streak_badge(arcade, make_context):
    for day in range(8):
        done = _settle_one(arcade, "lena", T0 + timedelta(days=day))
        assert ("week_streak" in done["badges_earned"]) == (day == 6)
    prof = arcade.profile("lena", t=T0 + timedelta(days=7, hours=1))
    assert prof["streak_days"] == 8 and "week_streak" in prof["badges"]
    with make_context(tenant="acme") as ctx:
        rows = ctx.session.scalars(
            select(Badge.badge).where(Badge.username == "lena").order_by(Badge.badge)
        ).all()
    assert rows == ["first_mission", "week_streak"]


def test_high_accuracy_badge(arcade, monkeypatch):
    monkeypatch.setattr(progression, "HIGH_ACCURACY_MIN_GOLD", 3)
    got = []
    for i in range(4):
        done = _settle_one(arcade, "lars", T0 + timedelta(minutes=i), gold="correct")
        got += done["badges_earned"]
    assert got.count("high_accuracy") == 1


@pytest.mark.slow
def test_badge_awarded_once_under_concurrency(arcade, db_url, make_context):
    ids = [arcade.create(overlap=1)["id"] for _ in range(4)]
    env = {**os.environ, **at(T0)}
    base = [
        sys.executable,
        "-m",
        "shifty_ent",
        "--db",
        db_url,
        "--as",
        "lars",
        "-t",
        "acme",
        "-o",
        "json",
        "arcade",
    ]
    for mid in ids:  # leases first (sequential), completions race
        subprocess.run([*base, "assign", mid], env=env, check=True, capture_output=True)
    env2 = {**os.environ, **at(T0 + timedelta(seconds=30))}
    procs = [
        subprocess.Popen(
            [*base, "complete", mid, "--option", "correct"],
            env=env2,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
        )
        for mid in ids
    ]
    outs = [p.communicate(timeout=120) for p in procs]
    assert all(p.returncode == 0 for p in procs), outs
    earned = [b"first_mission" in o[0] for o in outs]
    assert sum(earned) == 1
    prof = arcade.profile("lars")
    assert prof["missions_completed"] == 4 and prof["xp"] == 4 * 75
    assert prof["badges"] == ["first_mission"]


def test_leaderboards(arcade, monkeypatch):
    monkeypatch.setattr(progression, "MIN_GOLD_RANKED", 2)
    # week of T0: lars 2 golds right, lena 1 of 2, lukas 1 gold (too few to rank)
    for i, (user, option) in enumerate(
        [
            ("lars", "correct"),
            ("lars", "correct"),
            ("lena", "correct"),
            ("lena", "incorrect"),
            ("lukas", "correct"),
        ]
    ):
        _settle_one(arcade, user, T0 + timedelta(minutes=i), option=option, gold="correct")
    # next week: only lea plays
    nxt = T0 + timedelta(days=7)
    _settle_one(arcade, "lea", nxt)
    board = arcade.ok("leaderboard", t=nxt)
    assert [r["user"] for r in board] == ["lars", "lena", "lukas", "lea"]
    assert board[0]["rank"] == 1 and board[0]["value"] == board[0]["xp"]
    weekly = arcade.ok("leaderboard", "--type", "xp_weekly", t=nxt, user="lars")
    assert [r["user"] for r in weekly] == ["lea"]
    acc = arcade.ok("leaderboard", "--type", "accuracy", t=nxt, user="audrey")
    assert [(r["user"], r["value"]) for r in acc] == [("lars", 1.0), ("lena", 0.5)]
    assert arcade.ok("leaderboard", "--type", "accuracy", "--min-gold", "3", t=nxt) == []
    missions = arcade.ok("leaderboard", "--type", "missions", "--limit", "2", t=nxt)
    assert [(r["user"], r["value"], r["rank"]) for r in missions] == [
        ("lars", 2, 1),
        ("lena", 2, 1),
    ]
    streak = arcade.ok("leaderboard", "--type", "streak", t=nxt)
    assert [r["user"] for r in streak] == ["lea"]
    res = arcade.run("leaderboard", "--type", "speed")
    assert res.exit_code == 2


def test_leaderboard_reads_profiles_through_an_index(arcade, make_context, backend):
    _settle_one(arcade, "lars", T0)
    statements: list[str] = []
    with make_context(tenant="acme", user="alice") as ctx:

        def grab(conn, cursor, statement, params, context, executemany):
            statements.append((statement, params))

        event.listen(ctx.engine, "before_cursor_execute", grab)
        try:
            for board in leaderboard.BOARDS:
                statements.clear()
                leaderboard.leaderboard(ctx, board=board, limit=10)
                boards_sql = [(s, p) for s, p in statements if "arcade_profiles" in s]
                assert boards_sql, board
                assert not any("arcade_answers" in s for s, _ in statements), board
                if backend == "sqlite":
                    sql, params = boards_sql[0]
                    conn = ctx.session.connection()
                    plan = " ".join(
                        str(r[-1])
                        for r in conn.exec_driver_sql("EXPLAIN QUERY PLAN " + sql, params)
                    )
                    assert "USING INDEX ix_arcade_profiles_" in plan, (board, plan)
                    assert "TEMP B-TREE" not in plan, (board, plan)
        finally:
            event.remove(ctx.engine, "before_cursor_execute", grab)


def test_profile_of_unknown_user_and_new_user(arcade):
    assert arcade.run("profile", "ghost").exit_code == 3
    prof = arcade.profile("leo")
    assert prof["xp"] == 0 and prof["level"] == 1 and prof["badges"] == []
    assert prof["accuracy"] is None and prof["streak_days"] == 0


def test_profile_rows_match_settled_answers(arcade, make_context):
    """The maintained aggregate agrees with the answers it summarises."""
    from shifty_ent.arcade.tables import Answer

    for i in range(3):
        m = arcade.create(overlap=2, t=T0 + timedelta(minutes=i))
        arcade.answer(m["id"], "lars", "correct", t=T0 + timedelta(minutes=i))
        arcade.answer(m["id"], "lena", "incorrect" if i else "correct", t=T0 + timedelta(minutes=i))
    with make_context(tenant="acme") as ctx:
        sums = dict(
            ctx.session.execute(
                select(Answer.username, func.sum(Answer.xp_awarded)).group_by(Answer.username)
            ).all()
        )
        profs = {p.username: p.xp for p in ctx.session.scalars(select(Profile)).all()}
    assert sums == profs


def test_late_settlement_fills_an_older_day_and_the_streak(arcade):
    _settle_one(arcade, "lars", T0)  # Mar 2
    # lars answers on Mar 3, but the mission only settles on Mar 5 (lena answers then)
    m = arcade.create(overlap=2, t=T0 + timedelta(days=1))
    arcade.answer(m["id"], "lars", "correct", t=T0 + timedelta(days=1))
    _settle_one(arcade, "lars", T0 + timedelta(days=2))  # Mar 4: Mar 3 not yet counted
    assert arcade.profile("lars", t=T0 + timedelta(days=2, hours=1))["streak_days"] == 1
    arcade.answer(m["id"], "lena", "correct", t=T0 + timedelta(days=3))
    prof = arcade.profile("lars", t=T0 + timedelta(days=3, hours=1))
    assert prof["streak_days"] == 3 and prof["best_streak"] == 3  # Mar 2, 3 and 4
    _settle_one(arcade, "lars", T0 + timedelta(days=3))  # Mar 5 extends the run
    assert arcade.profile("lars", t=T0 + timedelta(days=3, hours=1))["streak_days"] == 4
    _settle_one(arcade, "lars", T0 + timedelta(days=3, hours=2))  # same day: unchanged
    _settle_one(arcade, "lars", T0 + timedelta(days=6))  # Mar 8 after a gap: a new run
    prof = arcade.profile("lars", t=T0 + timedelta(days=6, hours=1))
    assert prof["streak_days"] == 1 and prof["best_streak"] == 4
