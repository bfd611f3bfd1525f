"""The feedback loop as one run, on each database, with no step that only records:

missions answered by three labellers -> arcade dataset -> fine-tune on a rented "GPU" over SSH ->
evaluation on the same dataset -> human review missions -> approval by a second person -> promote
(gated on the measured accuracy) -> deploy with 2 replicas, each health-checked by the name it
serves -> GPU costs -> a signed report that verifies.

Reproduction on main (issue 15): every joint broke. ``train run`` on an arcade dataset exited 3
("dataset file ... is missing"); ``eval run`` refused arcade datasets; nothing ran a job on the
tenant's GPU; the requester could approve and promote alone; ``deploy`` of a fine-tuned version
only recorded it on an instance serving another model, and ``--replicas`` did nothing.

vast.ai and Ollama are loopback fakes; the "instance" is a real OpenSSH server on 127.0.0.1 where
the shipped worker runs the CPU fine-tune of a tiny model.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import signal
import tempfile
from collections.abc import Iterator
from datetime import timedelta
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest

from tests.arcade.conftest import T0, Arcade
from tests.fakes.sshd import Sshd, missing_reason, use_as_instance
from tests.fakes.vastai import FakeVast, cli_clock, serving
from tests.model.helpers import count, register_tiny_base_for, require_train_extra

pytestmark = pytest.mark.slow

LABELLERS = ("lars", "lena", "lukas")
AREAS = ("login", "checkout", "search", "profile", "billing", "upload")


def _outputs() -> list[tuple[dict[str, Any], str]]:
    """12 test outputs and the verdict the labellers give each."""
    out = []
    for i in range(12):
        verdict = "correct" if i % 3 == 0 else "incorrect" if i % 3 == 1 else "unsure"
        word = {"correct": "PASS", "incorrect": "FAIL", "unsure": "SKIP"}[verdict]
        out.append(({"output": f"{word}: {AREAS[i % 6]} step {i}", "test_name": f"t{i}"}, verdict))
    return out


@pytest.fixture(scope="module")
def sshd(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Sshd]:
    reason = missing_reason()
    if reason:
        pytest.skip(reason)
    with Sshd(tmp_path_factory.mktemp("sshd")) as server:
        yield server


@pytest.fixture
def instance_env(monkeypatch: pytest.MonkeyPatch, sshd: Sshd, tmp_path: Path) -> Iterator[Path]:
    """How the CLI reaches the instance (key, user, Python, job directory); any worker left
    running is killed at the end."""
    root = tmp_path / "instance-home"
    scratch = tempfile.mkdtemp(prefix="se-e2e-")  # SSH control sockets need a short path
    use_as_instance(monkeypatch, sshd, root, scratch)
    yield root
    for pid_file in root.glob("*/worker.pid"):
        with contextlib.suppress(OSError, ValueError):
            os.kill(int(pid_file.read_text()), signal.SIGKILL)
    shutil.rmtree(scratch, ignore_errors=True)


@pytest.fixture
def vast(monkeypatch: pytest.MonkeyPatch, sshd: Sshd) -> Iterator[FakeVast]:
    fake = FakeVast(clock=cli_clock)
    fake.ssh_host, fake.ssh_port = "127.0.0.1", sshd.port
    for offer in (1, 2, 3):
        fake.add_offer(offer, dph_base=0.30 + offer / 100)
    with serving(fake, monkeypatch):
        yield fake


def test_answers_become_a_served_fine_tune(
    cli: Any,
    tenant: Any,
    db_url: str,
    tmp_path: Path,
    vast: FakeVast,
    instance_env: Path,
) -> None:
    require_train_extra()
    import torch

    from tests.fakes.ollama import FakeOllama

    torch.set_num_threads(1)
    # 1. three labellers answer 12 missions; the answers become one dataset asset
    for user in LABELLERS[1:]:
        cli.ok("user", "add", user, "--role", "labeler", tenant="acme")
    arcade = Arcade(cli)
    for n, (payload, verdict) in enumerate(_outputs()):
        t = T0 + timedelta(minutes=n)
        mission = arcade.create("label_test_output", payload, t=t, overlap=3)
        for user in LABELLERS:
            arcade.answer(mission["id"], user, verdict, t=t)
    ds = arcade.ok("dataset", "create", "lto", "--mission-type", "label_test_output", user="olga")
    assert ds["rows"] == 12
    rows = [r for r in Path(ds["path"]).read_text().splitlines() if r]
    assert len(rows) == 12

    # 2. a tiny base, fine-tuned on a rented instance over SSH
    import json

    examples = [json.loads(r) for r in rows]
    register_tiny_base_for(cli, tmp_path / "tiny", examples)
    job = cli.ok(
        "model", "train", "start", "--base", "tiny:1", "--dataset", "lto",
        "--learning-rate", "0.05", "--batch-size", "12", "--max-steps", "100", "--max-length", "96",
        "--on-gpu", "--type", "RTX_4090", "--max-price", "1", "--poll", "0.2", "--threads", "1",
        tenant="acme",
    )  # fmt: skip
    assert job["status"] == "succeeded", job
    assert count(db_url, "SELECT count(*) FROM training_points") == 100
    assert len(vast.rents) == 1 and len(vast.destroyed) == 1  # rented for the job, then gone
    tuned = cli.ok("model", "show", job["output_version_id"], tenant="acme")
    assert (tuned["name"], tuned["version"]) == ("tiny", 2) and tuned["lineage"][
        "dataset_id"
    ] == ds["asset_id"]

    # 3. measured on the same examples, through the template it was trained with
    ev = cli.ok("model", "eval", "run", "tiny:2", "--dataset", "lto", tenant="acme")
    assert ev["metrics"]["examples"] == 12 and ev["metrics"]["accuracy"] >= 0.8, (
        ev
    )  # the gate below

    # 4. people review its outputs in the arcade
    human = cli.ok(
        "model", "eval", "human", "tiny:2", "--dataset", "lto", "--sample", "2", tenant="acme"
    )
    for n, mission_id in enumerate(human["mission_ids"]):
        for user in LABELLERS:
            arcade.answer(mission_id, user, "correct", t=T0 + timedelta(hours=1, minutes=n))
    reviewed = [e for e in cli.ok("model", "eval", "list", "tiny:2", tenant="acme")]
    assert {e["type"]: e["status"] for e in reviewed}["human"] == "completed"

    # 5. production is gated on measured accuracy; olga asks, lena approves, olga cannot promote
    cli.ok(
        "model", "alias", "gate", "tiny", "production", "--require", "accuracy>=0.8",
        "--dataset", "lto", tenant="acme",
    )  # fmt: skip
    cli.ok("arcade", "grant", "lena", "--xp", "1000", "--reason", "senior reviewer", tenant="acme")
    approval = cli.ok("model", "approval", "request", "tiny:2", user="olga", tenant="acme")
    arcade.answer(approval["id"], "lena", "approve", t=T0 + timedelta(hours=2))
    alone = cli("model", "promote", "tiny:2", "--alias", "production", user="olga", tenant="acme")
    assert alone.exit_code == 4, alone.stderr
    promoted = cli.ok("model", "promote", "tiny:2", "--alias", "production", tenant="acme")
    assert promoted["mission_id"] == approval["id"]

    # 6. two replicas, each a rented instance serving the adapter, healthy by its served name
    with FakeOllama() as one, FakeOllama() as two:
        first = 7_000_002  # the fake's next instance ids (7_000_001 trained the model)
        vast.endpoint_ports = {first: one.server.port, first + 1: two.server.port}
        dep = cli.ok(
            "model", "deploy", "tiny@production", "--server", "ollama", "--replicas", "2",
            "--gpu-type", "RTX_4090", "--max-price", "1", "--poll-interval", "0.05",
            "--timeout", "30", tenant="acme",
        )  # fmt: skip
        assert dep["status"] == "running", dep
        assert [r["status"] for r in dep["replica_instances"]] == ["running", "running"]
        assert "tiny:2" in one.created and "tiny:2" in two.created
        checked = cli.ok("model", "deployments", "--check", tenant="acme")
        (mine,) = [d for d in checked if d["id"] == dep["id"]]
        assert mine["health"]["served_name"] == "tiny:2"
        assert [r["health"]["status"] for r in mine["replica_instances"]] == ["healthy"] * 2

    # 7. what it cost, and a signed report an auditor can verify
    instances = cli.ok("gpu", "list", tenant="acme")
    ended = [i["id"] for i in instances if i["status"] == "terminated"]
    running = [i["id"] for i in instances if i["status"] == "running"]
    assert len(ended) == 1 and len(running) == 2  # the fine-tune's rental; the two replicas
    costs = {
        c["instance_id"]: Decimal(c["gpu_cost"]) for c in cli.ok("gpu", "costs", tenant="acme")
    }
    assert costs[ended[0]] > 0 and set(costs) <= {*ended, *running}
    report = tmp_path / "costs.html"
    cli.ok(
        "report", "costs", "--format", "html", "--out", str(report), user="audrey", tenant="acme"
    )
    verified = cli.ok("report", "verify", str(report), user=None, tenant=None)
    assert verified["ok"] is True
