"""`arcade play`: keys drive the loop; rewards, level-ups and badges show; `q` frees the lease."""

from __future__ import annotations

import dataclasses

import pytest
from sqlalchemy import select

from shifty_ent.arcade import mission_types
from shifty_ent.arcade.tables import Slot
from tests.arcade.conftest import T0, at


@pytest.fixture
def no_dwell(monkeypatch):
    # play runs at one frozen SHIFTY_NOW instant, so dwell is 0 s; lift the minimum for the test
    lto = mission_types.TYPES["label_test_output"]
    monkeypatch.setitem(
        mission_types.TYPES, "label_test_output", dataclasses.replace(lto, min_dwell_seconds=0)
    )


def _play(arcade, keys: str, user: str = "lars"):
    return arcade.cli("arcade", "play", user=user, tenant="acme", fmt=None, input=keys, env=at(T0))


def test_play_answers_shows_rewards_and_q_releases(arcade, no_dwell, make_context):
    from datetime import timedelta

    arcade.ok("grant", "lars", "--xp", "95", "--reason", "almost level 2")
    first = arcade.create(overlap=1, t=T0 - timedelta(minutes=2))
    second = arcade.create(overlap=1, t=T0 - timedelta(minutes=1))
    res = _play(arcade, "x\n1\nq\n")
    assert res.exit_code == 0, res.stderr
    out = res.stdout
    assert "label_test_output" in out and "PASS: login works" in out
    assert "Press 1-3 to answer" in out  # 'x' is not a key
    assert "+75 XP" in out
    assert "LEVEL UP! 1 -> 2" in out
    assert "Badge earned: first_mission" in out
    assert "Lease released" in out
    assert "Session: 1 answered, 0 skipped, +75 XP" in out
    assert arcade.ok("mission", "show", first["id"], user="olga")["settled_result"] == "correct"
    # q gave the second mission's lease back: someone else can take it at once
    with make_context(tenant="acme") as ctx:
        states = ctx.session.execute(select(Slot.mission_id, Slot.state, Slot.holder)).all()
    second_slots = [s for s in states if str(s.mission_id) == second["id"]]
    assert [(s.state, s.holder) for s in second_slots] == [("free", None)]
    assert arcade.ok("next", user="lena")["id"] == second["id"]


def test_play_skip_moves_on_and_end_of_input_quits(arcade, no_dwell):
    from datetime import timedelta

    first = arcade.create(overlap=1, t=T0 - timedelta(minutes=2))
    second = arcade.create(overlap=1, t=T0 - timedelta(minutes=1))
    res = _play(arcade, "s\n2\n")  # skip the first, answer the second, then input ends
    assert res.exit_code == 0, res.stderr
    assert "Skipped." in res.stdout and "1 answered, 1 skipped" in res.stdout
    assert arcade.ok("mission", "show", second["id"], user="olga")["status"] == "settled"
    assert arcade.ok("mission", "show", first["id"], user="olga")["answers"] == 0
    assert [m["id"] for m in arcade.ok("missions", user="lars")] == [first["id"]]


def test_play_with_nothing_to_do(arcade):
    res = _play(arcade, "q\n")
    assert res.exit_code == 0 and "No missions available" in res.stdout


def test_play_flags_too_fast_answers(arcade):
    arcade.create(overlap=1)
    res = _play(arcade, "1\nq\n")
    assert res.exit_code == 0
    assert "too fast" in res.stdout and "flagged" in res.stdout
    assert arcade.profile("lars")["flagged_answers"] == 1


def test_play_needs_membership(arcade):
    res = arcade.cli("arcade", "play", user="stranger", tenant="acme", input="q\n")
    assert res.exit_code == 4


def test_ctrl_c_gives_the_lease_back_at_once(arcade, no_dwell, make_context, monkeypatch):
    """On main Ctrl-C in ``arcade play`` ended with "your lease expires by itself": the mission
    stayed leased to lars for 15 minutes and nobody else could take it."""
    import typer

    mission = arcade.create(overlap=1)

    def interrupted(*_args, **_kw):
        raise KeyboardInterrupt

    monkeypatch.setattr(typer, "prompt", interrupted)
    res = _play(arcade, "")
    assert res.exit_code == 130
    assert "given back" in res.stderr
    with make_context(tenant="acme") as ctx:
        slots = ctx.session.execute(select(Slot.mission_id, Slot.state, Slot.holder)).all()
    assert [(s.state, s.holder) for s in slots if str(s.mission_id) == mission["id"]] == [
        ("free", None)
    ]
    assert arcade.ok("next", user="lena")["id"] == mission["id"]


def test_card_fits_shows_code_lines_and_local_lease_time(arcade, cli, no_dwell):
    """On main a narrow payload cut the card's footer ("mission 1a2b3c4d  up to 100 XP
    lease…"), code showed as one JSON string with literal ``\\n``, and the lease time was UTC
    with no zone for a labeller in New York."""
    cli.ok(
        "user", "add", "lars", "--role", "labeler", "--timezone", "America/New_York", tenant="acme"
    )
    arcade.create(type="rate_test_quality", payload={"test_code": "def t():\n  1"}, overlap=1)
    res = _play(arcade, "q\n")
    assert res.exit_code == 0, res.stderr
    out = res.stdout
    lines = out.splitlines()
    assert any(line.strip("│ ").rstrip() == "def t():" for line in lines)
    assert any(line.strip("│").rstrip().endswith("  1") for line in lines)
    assert "\\n" not in out
    footer = next(line for line in lines if "lease until" in line)
    assert "…" not in footer
    # T0 is 09:00 UTC; the lease runs to a time in New York's zone (EST, UTC-5 on 2 March)
    assert "EST (UTC-05:00)" in footer and " UTC " not in footer.replace("(UTC-", "")
