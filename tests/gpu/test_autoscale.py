"""Autoscale rules: the plan from utilisation, and reconcile acting on it once per cooldown."""

from __future__ import annotations

from decimal import Decimal

from shifty_ent.gpu.autoscale import plan
from shifty_ent.gpu.tables import GpuAutoscaleRule, GpuInstance


def _rule(**kw) -> GpuAutoscaleRule:
    base = dict(
        model="m",
        checkpoint="org/m",
        min_replicas=1,
        max_replicas=4,
        target_util=0.6,
        gpu_type="RTX_4090",
        max_price_per_hour=Decimal(1),
        created_by="t",
    )
    base.update(kw)
    return GpuAutoscaleRule(**base)


def _inst(status: str, util: float | None) -> GpuInstance:
    return GpuInstance(
        label="x",
        gpu_type="RTX_4090",
        max_price_per_hour=Decimal(1),
        created_by="t",
        status=status,
        gpu_util=util,
    )


def test_plan():
    r = _rule()
    assert plan(r, []).wanted == 1  # below min
    assert plan(r, [_inst("running", 0.9), _inst("running", 0.9)]).wanted == 3  # 1.8/0.6
    assert plan(r, [_inst("running", 0.1), _inst("running", 0.2)]).wanted == 1
    assert plan(r, [_inst("running", 0.6), _inst("running", 0.6)]).wanted == 2
    assert plan(r, [_inst("running", 1.0)] * 4).wanted == 4  # capped at max
    assert plan(r, [_inst("running", 0.9), _inst("loading", None)]).reason == "replica starting"
    assert plan(r, [_inst("running", None)]).reason == "no utilisation data"
    assert plan(_rule(max_replicas=1), [_inst("running", 0.1)] * 3).wanted == 1
    assert plan(r, [_inst("terminated", 0.9)]).current == 0


def test_rule_set_show_clear_and_validation(gpu, vast):
    res = gpu(
        "autoscale",
        "set",
        "chat",
        "--min",
        "1",
        "--max",
        "3",
        "--target-util",
        "0.7",
        "--checkpoint",
        "org/chat-7b",
        "--max-price",
        "0.8",
    )
    assert res.exit_code == 0, res.stderr
    assert res.json["model"] == "chat" and res.json["max_price_per_hour"] == "0.80"
    shown = gpu("autoscale", "show").json
    assert [(r["model"], r["replicas"]) for r in shown] == [("chat", 0)]
    for bad in (
        ["--min", "3", "--max", "1", "--target-util", "0.5"],
        ["--min", "1", "--max", "2", "--target-util", "1.5"],
        ["--min", "1", "--max", "2", "--target-util", "0.5", "--type", "TPU"],
    ):
        assert gpu("autoscale", "set", "chat", *bad).exit_code == 2
    assert gpu("autoscale", "show").json[0]["max_replicas"] == 3  # unchanged
    assert (
        gpu(
            "autoscale", "set", "x", "--min", "1", "--max", "2", "--target-util", "0.5", user="lars"
        ).exit_code
        == 4
    )
    assert gpu("autoscale", "clear", "chat").exit_code == 0
    assert gpu("autoscale", "clear", "chat").exit_code == 3
    assert gpu("autoscale", "show").json == []


def test_reconcile_scales_up_and_down_once_per_cooldown(gpu, vast, monkeypatch):
    monkeypatch.setenv("SHIFTY_NOW", "2026-05-01T10:00:00Z")
    for i in range(6):
        vast.add_offer(50 + i, dph_base=0.3 + i / 100)
    vast.boot_polls = 10**6
    assert (
        gpu(
            "autoscale",
            "set",
            "chat",
            "--min",
            "2",
            "--max",
            "4",
            "--target-util",
            "0.5",
            "--checkpoint",
            "org/chat",
            "--max-price",
            "1",
            "--cooldown",
            "600",
        ).exit_code
        == 0
    )
    first = gpu("reconcile", tenant=None).json
    assert first["autoscale"][0]["reason"] == "below min"
    replicas = gpu("list").json
    assert len(replicas) == 2
    assert all(
        r["autoscale_model"] == "chat" and r["model_checkpoint"] == "org/chat" for r in replicas
    )
    for r in replicas:
        vast.set_status(int(r["provider_instance_id"]), "running")
        vast.set_util(int(r["provider_instance_id"]), 90.0)  # percent, as vast may report it
    # within the cooldown: sync happens, scaling waits
    monkeypatch.setenv("SHIFTY_NOW", "2026-05-01T10:05:00Z")
    second = gpu("reconcile", tenant=None).json
    assert second["autoscale"][0]["actions"] == ["skipped: cooldown or another run"]
    assert len(gpu("list").json) == 2
    monkeypatch.setenv("SHIFTY_NOW", "2026-05-01T10:11:00Z")
    third = gpu("reconcile", tenant=None).json
    # 2 x 0.9 / 0.5 = 3.6 -> 4
    assert third["autoscale"][0]["wanted"] == 4
    assert len(gpu("list", "--state", "active").json) == 4
    for r in gpu("list", "--state", "active").json:
        vast.set_status(int(r["provider_instance_id"]), "running")
        vast.set_util(int(r["provider_instance_id"]), 10.0)
    monkeypatch.setenv("SHIFTY_NOW", "2026-05-01T10:22:00Z")
    gpu("reconcile", tenant=None)  # sees them running with low utilisation -> scale to min 2
    active = gpu("list", "--state", "active").json
    assert len(active) == 2
    assert vast.method_count("DELETE", "/api/v0/instances/") == 2


def test_new_rule_without_checkpoint_is_refused(gpu, vast):
    """On main ``gpu autoscale set chat --min 1 ...`` without ``--checkpoint`` stored a rule whose
    replicas were told to serve ``chat`` (a deployment name, not a checkpoint): reconcile then
    rented GPUs that served nothing."""
    res = gpu("autoscale", "set", "chat", "--min", "1", "--max", "2", "--target-util", "0.5")
    assert res.exit_code == 2
    line = res.stderr.strip()
    assert "\n" not in line and "--checkpoint" in line
    assert gpu("autoscale", "show").json == []
    # an existing rule keeps its checkpoint when replaced without one
    args = ("autoscale", "set", "chat", "--min", "1", "--max", "2", "--target-util", "0.5")
    assert gpu(*args, "--checkpoint", "org/chat-7b").exit_code == 0
    again = gpu(*args[:-1], "0.6")
    assert again.exit_code == 0, again.stderr
    assert again.json["checkpoint"] == "org/chat-7b" and again.json["target_util"] == 0.6
