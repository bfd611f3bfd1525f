"""Mission creation, import atomicity, leases, one answer per user, hidden answers."""

from __future__ import annotations

import json
from datetime import timedelta
from pathlib import Path

import pytest

from tests.arcade.conftest import T0


def test_create_validates_against_type_schema(arcade):
    bad = [
        (["--type", "nope", "--payload", "{}"], "unknown mission type"),
        (["--type", "label_test_output", "--payload", '{"test_name": "t"}'], "needs 'output'"),
        (["--type", "label_test_output", "--payload", '{"output": 3}'], "must be string"),
        (["--type", "label_test_output", "--payload", '{"output": "x", "oops": 1}'], "unknown key"),
        (["--type", "label_test_output", "--payload", "{not json"], "not valid JSON"),
        (
            ["--type", "label_test_output", "--payload", '{"output": "x"}', "--gold", "maybe"],
            "gold",
        ),
        (
            ["--type", "label_test_output", "--payload", '{"output": "x"}', "--reward", "101"],
            "range",
        ),
        (
            ["--type", "label_test_output", "--payload", '{"output": "x"}', "--options", "a,b"],
            "fixed",
        ),
        (
            ["--type", "label_test_output", "--payload", '{"output": "x"}', "--overlap", "0"],
            "overlap",
        ),
        (["--type", "rate_test_quality", "--payload", '{"test_code": "x"}', "--gold", "6"], "gold"),
    ]
    for args, needle in bad:
        res = arcade.run("mission", "create", *args, user="olga")
        assert res.exit_code == 2, (args, res.stdout, res.stderr)
        assert needle in res.error["message"], (needle, res.error)
    assert arcade.ok("mission", "list", user="olga") == []


def test_create_defaults_and_custom_options(arcade):
    m = arcade.create("classify_error", options="timeout,flaky,bug", gold="flaky")
    assert m["options"] == ["timeout", "flaky", "bug"]
    assert m["gold"] is True and m["status"] == "open" and m["answers"] == 0
    assert m["overlap"] == 3 and m["reward"] == 60  # type defaults: overlap 3, reward = xp_max
    rate = arcade.create("rate_test_quality")
    assert rate["options"] == ["1", "2", "3", "4", "5"]


def test_create_needs_operator(arcade):
    res = arcade.run(
        "mission",
        "create",
        "--type",
        "label_test_output",
        "--payload",
        '{"output": "x"}',
        user="lars",
    )
    assert res.exit_code == 4
    assert arcade.ok("mission", "list", user="olga") == []


def test_import_is_all_or_nothing_with_line_numbers(arcade, tmp_path: Path):
    good = {"type": "validate_selector", "payload": {"selector": "#a"}}
    lines = [
        json.dumps(good),
        json.dumps({"type": "label_test_output", "payload": {"output": "ok"}, "overlap": 2}),
        "",
        json.dumps({"type": "label_test_output", "payload": {}}),
        "{broken",
        json.dumps({"type": "classify_error", "payload": {"error": "x"}, "gold": "banana"}),
    ]
    bad_file = tmp_path / "bad.jsonl"
    bad_file.write_text("\n".join(lines) + "\n")
    res = arcade.run("mission", "import", str(bad_file), user="olga")
    assert res.exit_code == 2
    msg = res.error["message"]
    assert "line 4" in msg and "line 5" in msg and "line 6" in msg and "line 1:" not in msg
    assert "nothing imported" in msg
    assert arcade.ok("mission", "list", user="olga") == []

    ok_file = tmp_path / "ok.jsonl"
    ok_file.write_text("\n".join(lines[:3]) + "\n")
    out = arcade.ok("mission", "import", str(ok_file), user="olga")
    assert out["imported"] == 2
    assert out["by_type"] == {"validate_selector": 1, "label_test_output": 1}
    listed = arcade.ok("mission", "list", user="olga")
    assert sorted(m["overlap"] for m in listed) == [2, 3]


def test_import_needs_operator_and_readable_file(arcade, tmp_path: Path):
    f = tmp_path / "m.jsonl"
    f.write_text(json.dumps({"type": "validate_selector", "payload": {"selector": "#a"}}) + "\n")
    assert arcade.run("mission", "import", str(f), user="lars").exit_code == 4
    assert (
        arcade.run("mission", "import", str(tmp_path / "missing.jsonl"), user="olga").exit_code == 2
    )


def test_one_answer_per_user_and_answers_hidden(arcade):
    m = arcade.create(overlap=3)
    done = arcade.answer(m["id"], "lars", "incorrect")
    assert done["settled"] is False and done["xp_awarded"] == 0
    # lena sees a count, never lars's answer
    view = arcade.ok("mission", "show", m["id"], user="lena")
    assert view["answers"] == 1 and view["settled_result"] is None
    assert "incorrect" not in json.dumps({k: v for k, v in view.items() if k != "options"})
    avail = arcade.ok("missions", user="lena")
    assert [a["id"] for a in avail] == [m["id"]]
    # lars may not answer again, nor take it again
    assert arcade.ok("missions", user="lars") == []
    res = arcade.run("assign", m["id"], user="lars")
    assert res.exit_code == 5 and "already answered" in res.error["message"]
    res = arcade.run("complete", m["id"], "--option", "correct", user="lars")
    assert res.exit_code == 5


def test_lease_expiry_returns_the_slot(arcade):
    m = arcade.create(overlap=1)
    lease = arcade.ok("assign", m["id"], user="lars")
    assert lease["lease_expires_at"].startswith("2026-03-02T09:15:00")
    # the only slot is leased: lena gets nothing, assign conflicts
    assert arcade.run("next", user="lena", t=T0 + timedelta(minutes=5)).exit_code == 3
    res = arcade.run("assign", m["id"], user="lena", t=T0 + timedelta(minutes=5))
    assert res.exit_code == 5 and "no free slot" in res.error["message"]
    # after expiry the slot is back in the pool
    later = T0 + timedelta(minutes=16)
    assert [x["id"] for x in arcade.ok("missions", user="lena", t=later)] == [m["id"]]
    arcade.ok("assign", m["id"], user="lena", t=later)
    res = arcade.run("complete", m["id"], "--option", "correct", user="lars", t=later)
    assert res.exit_code == 5 and "no lease" in res.error["message"]
    done = arcade.ok(
        "complete", m["id"], "--option", "correct", user="lena", t=later + timedelta(seconds=20)
    )
    assert done["settled"] is True


def test_expired_lease_cannot_complete_even_if_nobody_took_it(arcade):
    m = arcade.create(overlap=2)
    arcade.ok("assign", m["id"], user="lars")
    res = arcade.run(
        "complete", m["id"], "--option", "correct", user="lars", t=T0 + timedelta(hours=1)
    )
    assert res.exit_code == 5 and "expired" in res.error["message"]
    # taking it again works (own expired slot is reused)
    arcade.ok("assign", m["id"], user="lars", t=T0 + timedelta(hours=1))
    done = arcade.ok(
        "complete",
        m["id"],
        "--option",
        "correct",
        user="lars",
        t=T0 + timedelta(hours=1, seconds=9),
    )
    assert done["mission"]["answers"] == 1


def test_complete_needs_lease_and_valid_result(arcade):
    m = arcade.create(overlap=2)
    res = arcade.run("complete", m["id"], "--option", "correct", user="lars")
    assert res.exit_code == 5 and "no lease" in res.error["message"]
    arcade.ok("assign", m["id"], user="lars")
    for args in (["--option", "maybe"], ["--option", "correct", "--confidence", "1.5"]):
        res = arcade.run("complete", m["id"], *args, user="lars", t=T0 + timedelta(seconds=30))
        assert res.exit_code == 2
    # nothing changed: still leased by lars, no answers
    view = arcade.ok("mission", "show", m["id"], user="lars")
    assert view["answers"] == 0 and view["lease_expires_at"] is not None
    done = arcade.ok(
        "complete",
        m["id"],
        "--option",
        "correct",
        "--confidence",
        "0.9",
        "--notes",
        "clear",
        user="lars",
        t=T0 + timedelta(seconds=30),
    )
    assert done["option"] == "correct"


def test_release_gives_slot_back(arcade):
    m = arcade.create(overlap=1)
    arcade.ok("assign", m["id"], user="lars")
    arcade.ok("release", m["id"], user="lars")
    assert arcade.run("release", m["id"], user="lars").exit_code == 5
    lease = arcade.ok("next", user="lena")
    assert lease["id"] == m["id"]


def test_next_resumes_live_lease_and_takes_oldest(arcade):
    first = arcade.create(overlap=1, t=T0 - timedelta(minutes=2))
    second = arcade.create(overlap=1, t=T0 - timedelta(minutes=1))
    a = arcade.ok("next", user="lars")
    assert a["id"] == first["id"] and a["resumed"] is False
    again = arcade.ok("next", user="lars")
    assert again["id"] == first["id"] and again["resumed"] is True
    b = arcade.ok("next", user="lena")
    assert b["id"] == second["id"]


def test_subject_ref_is_stored_and_queryable(arcade, make_context):
    from shifty_ent.arcade import missions

    with make_context(tenant="acme", user="olga") as ctx:
        m = missions.create_mission(
            ctx,
            type="review_model_output",
            payload={"input": "q", "output": "a"},
            subject_ref="mv-123",
        )
        missions.create_mission(ctx, type="label_test_output", payload={"output": "x"})
        mid = m.id
    with make_context(tenant="acme", user="olga") as ctx:
        found = missions.missions_for_subject(ctx, "mv-123")
        assert [x.id for x in found] == [mid]
        assert missions.missions_for_subject(ctx, "mv-123", type="approve_deployment") == []
        assert missions.get_mission(ctx, str(mid)).public()["subject_ref"] == "mv-123"
    listed = arcade.ok("mission", "list", "--subject", "mv-123", user="olga")
    assert [x["id"] for x in listed] == [str(mid)]


@pytest.mark.parametrize("mtype", ["validate_selector", "verify_fix", "annotate_ui_element"])
def test_every_type_roundtrip(arcade, mtype):
    m = arcade.create(mtype, overlap=1)
    done = arcade.answer(m["id"], "lars", m["options"][0])
    assert done["settled"] is True and done["mission"]["settled_result"] == m["options"][0]


def test_labellers_cannot_tell_gold_missions(arcade):
    g = arcade.create(overlap=2, gold="incorrect")
    assert g["gold"] is True and g["gold_answer"] == "incorrect"  # the operator sees it
    for view in (
        arcade.ok("missions", user="lars")[0],
        arcade.ok("mission", "show", g["id"], user="lars"),
        arcade.ok("next", user="lars"),
    ):
        assert "gold" not in view and "gold_answer" not in view
        assert "incorrect" not in str({k: v for k, v in view.items() if k != "options"})
    done = arcade.ok(
        "complete", g["id"], "--option", "correct", user="lars", t=T0 + timedelta(seconds=30)
    )
    assert "gold" not in done["mission"]
    assert arcade.ok("mission", "show", g["id"], user="audrey")["gold"] is True


def test_import_offers_missions_in_file_order(arcade, tmp_path: Path):
    f = tmp_path / "m.jsonl"
    f.write_text(
        "".join(
            json.dumps({"type": "validate_selector", "payload": {"selector": f"#s{i}"}}) + "\n"
            for i in range(6)
        )
    )
    arcade.ok("mission", "import", str(f), user="olga")
    got = [arcade.ok("next", user=u)["payload"]["selector"] for u in ("lars", "lena", "lukas")]
    assert got == ["#s0", "#s0", "#s0"]
    got = [arcade.ok("next", user="lea")["payload"]["selector"]]
    assert got == ["#s1"]


def test_payload_from_file_and_empty_import(arcade, tmp_path: Path):
    p = tmp_path / "payload.json"
    p.write_text(json.dumps({"error": "boom", "stack_trace": "at x"}))
    m = arcade.ok(
        "mission", "create", "--type", "classify_error", "--payload", f"@{p}", user="olga"
    )
    assert m["payload"]["stack_trace"] == "at x"
    res = arcade.run(
        "mission", "create", "--type", "classify_error", "--payload", "@/nope.json", user="olga"
    )
    assert res.exit_code == 2
    empty = tmp_path / "empty.jsonl"
    empty.write_text("\n\n")
    res = arcade.run("mission", "import", str(empty), user="olga")
    assert res.exit_code == 2 and "no missions" in res.error["message"]
    assert len(arcade.ok("mission", "list", user="olga")) == 1
