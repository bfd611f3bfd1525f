"""`dataset create` (JSONL + card, registered as a data asset) and `stats` (incl. kappa)."""

from __future__ import annotations

import json
from datetime import timedelta
from pathlib import Path

import pytest

from shifty_ent.arcade import consensus
from tests.arcade.conftest import T0


def _seed(arcade):
    """m1: 2/2 agree; m2: 2 of 3 agree; m3: gold, restricted, both right."""
    m1 = arcade.create(overlap=2, t=T0)
    arcade.answer(m1["id"], "lars", "correct")
    arcade.answer(m1["id"], "lena", "correct")
    m2 = arcade.create(overlap=3, t=T0 + timedelta(minutes=1))
    arcade.answer(m2["id"], "lars", "incorrect", dwell=40)
    arcade.answer(m2["id"], "lena", "correct", dwell=40)
    arcade.answer(m2["id"], "lukas", "incorrect", dwell=40)
    m3 = arcade.create(
        overlap=2, gold="correct", classification="restricted", t=T0 + timedelta(minutes=2)
    )
    arcade.answer(m3["id"], "lars", "correct")
    arcade.answer(m3["id"], "lukas", "correct")
    open_one = arcade.create(overlap=2, t=T0 + timedelta(minutes=3))
    arcade.answer(open_one["id"], "lea", "correct")
    return m1, m2, m3


def test_dataset_create_filters_by_agreement_and_registers_asset(arcade, make_context):
    m1, _m2, m3 = _seed(arcade)
    ds = arcade.ok(
        "dataset",
        "create",
        "lto-v1",
        "--mission-type",
        "label_test_output",
        "--min-agreement",
        "0.9",
        "--description",
        "clean labels",
        user="olga",
    )
    assert ds["rows"] == 2 and ds["classification"] == "restricted"
    rows = [json.loads(x) for x in Path(ds["path"]).read_text().splitlines()]
    assert {r["mission_id"] for r in rows} == {m1["id"], m3["id"]}
    gold_row = next(r for r in rows if r["mission_id"] == m3["id"])
    assert gold_row["gold"] is True and gold_row["label"] == "correct"
    assert gold_row["answer_count"] == 2 and gold_row["agreement"] == 1.0
    assert gold_row["input"] == {"output": "PASS: login works", "test_name": "test_login"}
    card = Path(ds["card_path"]).read_text()
    assert "# lto-v1" in card and "clean labels" in card and "| rows | 2 |" in card
    assert oct(Path(ds["path"]).stat().st_mode & 0o777) == "0o600"
    from shifty_ent.data.assets import get_asset

    with make_context(tenant="acme", user="alice") as ctx:
        asset = get_asset(ctx, "lto-v1")
        assert str(asset.id) == ds["asset_id"]
        assert asset.type == "dataset" and asset.classification == "restricted"
        assert asset.location == str(Path(ds["path"]).parent)
    everything = arcade.ok(
        "dataset", "create", "lto-all", "--mission-type", "label_test_output", user="olga"
    )
    assert everything["rows"] == 3
    listed = arcade.ok("dataset", "list", user="lars")
    assert [d["name"] for d in listed] == ["lto-v1", "lto-all"]


def test_dataset_create_refusals_change_nothing(arcade, isolated_env):
    _seed(arcade)
    res = arcade.run("dataset", "create", "vf", "--mission-type", "verify_fix", user="olga")
    assert res.exit_code == 2 and "nothing written" in res.error["message"]
    res = arcade.run(
        "dataset",
        "create",
        "hi",
        "--mission-type",
        "label_test_output",
        "--min-agreement",
        "1.5",
        user="olga",
    )
    assert res.exit_code == 2
    assert not list(isolated_env.rglob("*.jsonl"))
    arcade.ok("dataset", "create", "d1", "--mission-type", "label_test_output", user="olga")
    res = arcade.run("dataset", "create", "d1", "--mission-type", "label_test_output", user="olga")
    assert res.exit_code == 5
    assert len(list(isolated_env.rglob("*.jsonl"))) == 1


def test_dataset_goes_under_tenant_data_root(cli, tmp_path):
    from tests.arcade.conftest import Arcade

    root = tmp_path / "root"
    root.mkdir()
    cli.ok("tenant", "create", "acme", "--data-root", str(root))
    cli.ok("user", "add", "olga", "--role", "operator", tenant="acme")
    cli.ok("user", "add", "lars", "--role", "labeler", tenant="acme")
    arcade = Arcade(cli)
    m = arcade.create(overlap=1)
    arcade.answer(m["id"], "lars", "correct")
    ds = arcade.ok(
        "dataset", "create", "rooted", "--mission-type", "label_test_output", user="olga"
    )
    assert Path(ds["path"]).is_relative_to(root)


def test_stats_by_type(arcade):
    _seed(arcade)
    c = arcade.create("classify_error", overlap=2, t=T0 + timedelta(minutes=5))
    arcade.answer(c["id"], "lars", "timeout")
    arcade.answer(c["id"], "lena", "timeout", dwell=1)  # flagged
    s = arcade.ok(
        "stats",
        "--start",
        "2026-03-02",
        "--end",
        "2026-03-03",
        user="audrey",
        t=T0 + timedelta(hours=1),
    )
    lto = next(r for r in s["by_type"] if r["type"] == "label_test_output")
    assert lto["missions_created"] == 4 and lto["missions_settled"] == 3
    assert lto["answers"] == 8 and lto["active_users"] == 4
    assert lto["gold_answers"] == 2 and lto["accuracy"] == 1.0
    assert lto["agreement"] == pytest.approx(round((1 + 2 / 3 + 1) / 3, 4))
    assert lto["median_seconds"] == 30.0
    assert lto["fleiss_kappa"] is not None and lto["cohen_kappa"] is not None
    ce = next(r for r in s["by_type"] if r["type"] == "classify_error")
    assert ce["flagged_answers"] == 1 and ce["missions_settled"] == 0
    assert s["totals"]["answers"] == 10
    profiles = sum(arcade.profile(u)["xp"] for u in ("lars", "lena", "lukas", "lea"))
    assert s["totals"]["xp_awarded"] == profiles
    empty = arcade.ok("stats", "--start", "2026-03-05", "--end", "2026-03-06")
    assert empty["totals"]["answers"] == 0 and empty["by_type"] == []
    assert arcade.run("stats", "--start", "2026-03-06", "--end", "2026-03-05").exit_code == 2
    assert arcade.run("stats", "--start", "yesterday").exit_code == 2


def test_fleiss_kappa_reference_value():
    # Fleiss (1971) / Wikipedia worked example: 10 subjects, 14 raters, 5 categories -> 0.210
    table = [
        [0, 0, 0, 0, 14],
        [0, 2, 6, 4, 2],
        [0, 0, 3, 5, 6],
        [0, 3, 9, 2, 0],
        [2, 2, 8, 1, 1],
        [7, 7, 0, 0, 0],
        [3, 2, 6, 3, 0],
        [2, 5, 3, 2, 2],
        [6, 5, 2, 1, 0],
        [0, 2, 2, 3, 7],
    ]
    items = [[str(cat) for cat, n in enumerate(row) for _ in range(n)] for row in table]
    assert consensus.fleiss_kappa(items) == pytest.approx(0.2099, abs=1e-4)
    assert consensus.fleiss_kappa([["a", "a"], ["b", "b"]]) == pytest.approx(1.0)
    assert consensus.fleiss_kappa([["a"]]) is None


def test_cohen_kappa_reference_value():
    # 50 items: yes/yes 20, yes/no 5, no/yes 10, no/no 15 -> 0.4
    a = ["y"] * 25 + ["n"] * 25
    b = ["y"] * 20 + ["n"] * 5 + ["y"] * 10 + ["n"] * 15
    assert consensus.cohen_kappa(a, b) == pytest.approx(0.4)
    items = [{"r1": x, "r2": y} for x, y in zip(a, b, strict=True)]
    kappa, pairs = consensus.mean_pairwise_cohen(items)
    assert kappa == pytest.approx(0.4) and pairs == 1


def test_vote():
    assert consensus.vote(["a", "a", "b"]).result == "a"
    tie = consensus.vote(["a", "b"])
    assert tie.result is None and tie.tie is True
    assert consensus.vote([]).result is None
