"""Training jobs: validation, a real CPU LoRA fine-tune end to end, claiming by two processes,
cancel mid-run, Ctrl-C, and failures recorded on the job."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import pytest

from tests.model.helpers import (
    count,
    hub_with_tiny_base,
    query,
    register_custom,
    register_dataset,
    register_llama,
    require_train_extra,
    tiny_train_args,
    wait_for_points,
    write_jsonl,
)

require_train_extra()


@pytest.fixture(scope="session")
def tiny_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    import torch

    from tests.model.tiny import build_tiny_llama, sample_texts

    torch.set_num_threads(1)
    return build_tiny_llama(tmp_path_factory.mktemp("tiny") / "tiny-llama", sample_texts())


@pytest.fixture
def job_setup(
    cli: Any, tenant: Any, tiny_dir: Path, tmp_path: Path, make_context: Any
) -> dict[str, Any]:
    from tests.model.tiny import sample_texts

    base = register_custom(cli, "tiny", tiny_dir, "--temperature", "0.2")
    data = write_jsonl(tmp_path / "triage.jsonl", [{"text": t} for t in sample_texts(64)])
    dataset_id = register_dataset(make_context, data, classification="confidential")
    return {"base": base, "dataset_id": dataset_id, "data": data}


def start(cli: Any, s: dict[str, Any], *extra: str) -> dict[str, Any]:
    return cli.ok(*tiny_train_args(s["dataset_id"]), *extra, tenant="acme")


def subprocess_cli(db_url: str, *args: str) -> subprocess.Popen[str]:
    env = dict(os.environ, OMP_NUM_THREADS="1", PYTHONUNBUFFERED="1")
    return subprocess.Popen(
        [
            sys.executable,
            "-m",
            "shifty_ent",
            "--db",
            db_url,
            "--as",
            "alice",
            "--tenant",
            "acme",
            "-o",
            "json",
            *args,
        ],
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )


@pytest.mark.slow
def test_start_validates_inputs_and_changes_nothing(
    cli: Any,
    job_setup: dict[str, Any],
    db_url: str,
    make_context: Any,
    tmp_path: Path,
    ollama_server: Any,
) -> None:
    s = job_setup
    bad = [
        (["--base", "tiny:1", "--dataset", s["dataset_id"], "--learning-rate", "0"], 2),
        (["--base", "tiny:1", "--dataset", s["dataset_id"], "--batch-size", "0"], 2),
        (["--base", "tiny:9", "--dataset", s["dataset_id"]], 3),
        (["--base", "tiny:1", "--dataset", "no-such-asset"], 3),
    ]
    for args, code in bad:
        res = cli("model", "train", "start", *args, tenant="acme")
        assert res.exit_code == code, (args, res.stderr)
    register_llama(cli)
    res = cli(
        "model", "train", "start", "--base", "llama", "--dataset", s["dataset_id"], tenant="acme"
    )
    assert res.exit_code == 2 and "custom or huggingface" in res.error["message"]
    res = cli(
        "model",
        "train",
        "start",
        "--base",
        "tiny:1",
        "--dataset",
        s["dataset_id"],
        user="lars",
        tenant="acme",
    )
    assert res.exit_code == 4
    # another tenant's dataset and base are invisible
    cli.ok("tenant", "create", "other", user="bob")
    other_data = write_jsonl(tmp_path / "other.jsonl", [{"text": "x"}])
    other_id = register_dataset(make_context, other_data, tenant="other", user="bob")
    res = cli("model", "train", "start", "--base", "tiny:1", "--dataset", other_id, tenant="acme")
    assert res.exit_code == 3
    res = cli(
        "model",
        "train",
        "start",
        "--base",
        s["base"]["id"],
        "--dataset",
        other_id,
        user="bob",
        tenant="other",
    )
    assert res.exit_code == 3
    assert count(db_url, "SELECT count(*) FROM training_jobs") == 0


@pytest.mark.slow
def test_finetune_device_choice_is_checked(tiny_dir: Path, tmp_path: Path) -> None:
    """An unknown device is bad input; asking for CUDA where torch sees none is refused, and
    neither writes an adapter."""
    import torch

    from shifty_ent.core.errors import InvalidInput, Refused
    from shifty_ent.model.finetune import Hyperparameters, finetune
    from tests.model.tiny import sample_texts

    out = tmp_path / "adapter"
    hp = Hyperparameters(max_steps=1)
    with pytest.raises(InvalidInput, match="unknown device 'tpu'"):
        finetune(tiny_dir, sample_texts(8), out, hp, lambda _: True, device="tpu")
    if not torch.cuda.is_available():
        with pytest.raises(Refused, match="no CUDA device"):
            finetune(tiny_dir, sample_texts(8), out, hp, lambda _: True, device="cuda")
    assert not out.exists()
    points: list[dict[str, Any]] = []
    result = finetune(
        tiny_dir, sample_texts(8), out, hp, lambda p: points.append(p) is None, device="cpu"
    )
    assert (result.device, result.steps, len(points)) == ("cpu", 1, 1)
    assert (out / "adapter_config.json").exists()


@pytest.mark.slow
def test_cpu_lora_finetune_end_to_end(
    cli: Any, job_setup: dict[str, Any], db_url: str, tiny_dir: Path, make_context: Any
) -> None:
    t0 = time.monotonic()
    job = start(cli, job_setup, "--max-steps", "12", "--lora-r", "4", "--max-length", "32")
    assert job["status"] == "queued" and job["hyperparameters"]["max_steps"] == 12
    done = cli.ok("model", "train", "run", job["id"], "--threads", "1", tenant="acme")
    assert done["status"] == "succeeded", done
    assert done["progress"]["step"] == 12 and done["progress"]["epoch"] == 1.5
    points = query(db_url, "SELECT step, loss, learning_rate FROM training_points ORDER BY step")
    assert [p[0] for p in points] == list(range(1, 13))
    assert points[-1][1] < points[0][1]  # it learned something
    metrics = done["metrics"]
    assert (
        metrics["steps"] == 12 and 0 < metrics["trainable_parameters"] < metrics["total_parameters"]
    )
    version = cli.ok("model", "show", done["output_version_id"], tenant="acme")
    assert (version["name"], version["version"], version["source"]) == ("tiny", 2, "custom")
    lineage = version["lineage"]
    assert lineage["training_job_id"] == job["id"]
    assert lineage["base_model_id"] == job_setup["base"]["id"]
    assert lineage["dataset_id"] == job_setup["dataset_id"]
    assert lineage["adapter_of"] == job_setup["base"]["id"]
    assert version["metrics"]["final_loss"] == pytest.approx(points[-1][1])
    assert version["generation_config"] == {"temperature": 0.2}
    files = {f["path"] for f in version["source_meta"]["files"]}
    assert {"adapter_config.json", "adapter_model.safetensors"} <= files
    # the adapter is registered as a data asset that inherits the dataset's classification
    from shifty_ent.data.assets import get_asset

    with make_context(tenant="acme") as ctx:
        assert get_asset(ctx, version["asset_id"]).classification == "confidential"
    # reloadable: base + adapter generate, and the adapter changed the model's output
    import torch
    from peft import PeftModel
    from transformers import AutoModelForCausalLM

    adapter = Path(version["source_id"])
    base = AutoModelForCausalLM.from_pretrained(str(tiny_dir), local_files_only=True)
    ids = torch.tensor([[5, 6, 7, 8]])
    with torch.no_grad():
        before = base(input_ids=ids).logits
        tuned = PeftModel.from_pretrained(base, str(adapter))
        after = tuned(input_ids=ids).logits
        out = tuned.generate(input_ids=ids, max_new_tokens=3, do_sample=False)
    assert not torch.allclose(before, after)
    assert out.shape[1] == 7
    shown = cli.ok("model", "train", "show", job["id"], tenant="acme")
    assert len(shown["points"]) == 12
    table = cli("model", "train", "show", job["id"], fmt="table", tenant="acme")
    assert "loss" in table.stdout and "*" in table.stdout and "step 1..12" in table.stdout
    versions = cli.ok("model", "versions", "tiny", tenant="acme")
    assert versions[0]["lineage"]["training_job_id"] == job["id"]
    # a finished job cannot be run again
    again = cli("model", "train", "run", job["id"], tenant="acme")
    assert again.exit_code == 5 and "succeeded" in again.error["message"]
    assert time.monotonic() - t0 < 60


@pytest.mark.slow
def test_two_processes_claim_one_job(cli: Any, job_setup: dict[str, Any], db_url: str) -> None:
    job = start(cli, job_setup, "--max-steps", "3", "--max-length", "16")
    procs = [subprocess_cli(db_url, "model", "train", "run", job["id"]) for _ in range(2)]
    results = [(p.wait(timeout=120), p.stdout.read(), p.stderr.read()) for p in procs]  # type: ignore[union-attr]
    codes = sorted(r[0] for r in results)
    assert codes == [0, 5], results
    loser = next(r for r in results if r[0] == 5)
    assert "running" in loser[2] or "succeeded" in loser[2]
    assert count(db_url, "SELECT count(*) FROM training_points") == 3
    assert count(db_url, "SELECT count(*) FROM model_versions") == 2


@pytest.mark.slow
def test_run_next_claims_oldest_queued(cli: Any, job_setup: dict[str, Any], db_url: str) -> None:
    first = start(cli, job_setup, "--max-steps", "1", "--max-length", "16")
    second = start(cli, job_setup, "--max-steps", "1", "--max-length", "16")
    ran = cli.ok("model", "train", "run", "--next", tenant="acme")
    assert ran["id"] == first["id"]
    statuses = dict(query(db_url, "SELECT id, status FROM training_jobs"))
    assert sorted(statuses.values()) == ["queued", "succeeded"]
    assert cli("model", "train", "run", tenant="acme").exit_code == 2
    cli.ok("model", "train", "cancel", second["id"], tenant="acme")
    res = cli("model", "train", "run", "--next", tenant="acme")
    assert res.exit_code == 3 and "no queued" in res.error["message"]


def _wait_for_steps(db_url: str, job_id: str, n: int, proc: subprocess.Popen[str]) -> None:
    wait_for_points(db_url, n, proc, seconds=90, who="run", stalled="training did not progress")


@pytest.mark.slow
def test_cancel_is_noticed_mid_run(cli: Any, job_setup: dict[str, Any], db_url: str) -> None:
    job = start(cli, job_setup, "--max-steps", "5000", "--max-length", "16")
    proc = subprocess_cli(db_url, "model", "train", "run", job["id"])
    try:
        _wait_for_steps(db_url, job["id"], 3, proc)
        cancelled = cli.ok("model", "train", "cancel", job["id"], user="olga", tenant="acme")
        assert cancelled["cancel_requested"] is True and cancelled["status"] == "running"
        code = proc.wait(timeout=60)
    finally:
        if proc.poll() is None:
            proc.kill()
    assert code == 5, proc.stderr.read()  # type: ignore[union-attr]
    shown = cli.ok("model", "train", "show", job["id"], tenant="acme")
    assert shown["status"] == "cancelled" and "cancelled by olga" in shown["error"]
    assert 3 <= shown["progress"]["step"] < 5000
    assert shown["output_version_id"] is None
    assert count(db_url, "SELECT count(*) FROM model_versions") == 1
    res = cli("model", "train", "cancel", job["id"], tenant="acme")
    assert res.exit_code == 5


@pytest.mark.slow
def test_ctrl_c_marks_job_cancelled(cli: Any, job_setup: dict[str, Any], db_url: str) -> None:
    job = start(cli, job_setup, "--max-steps", "5000", "--max-length", "16")
    proc = subprocess_cli(db_url, "model", "train", "run", job["id"])
    try:
        _wait_for_steps(db_url, job["id"], 2, proc)
        proc.send_signal(signal.SIGINT)
        code = proc.wait(timeout=60)
    finally:
        if proc.poll() is None:
            proc.kill()
    assert code == 130, proc.stderr.read() if proc.stderr else ""
    status, error = query(db_url, "SELECT status, error FROM training_jobs")[0]
    assert status == "cancelled" and "Ctrl-C" in error


@pytest.mark.slow
def test_bad_dataset_fails_the_job(cli: Any, job_setup: dict[str, Any], db_url: str) -> None:
    job = start(cli, job_setup, "--max-steps", "2")
    job_setup["data"].write_text('{"text": "ok"}\nnot json\n')
    res = cli("model", "train", "run", job["id"], tenant="acme")
    assert res.exit_code == 2 and "line 2 is not JSON" in res.error["message"]
    status, error = query(db_url, "SELECT status, error FROM training_jobs")[0]
    assert status == "failed" and "line 2" in error


@pytest.mark.slow
def test_changed_base_checkpoint_fails_the_job(
    cli: Any, job_setup: dict[str, Any], db_url: str, tiny_dir: Path, tmp_path: Path
) -> None:
    import shutil

    copy = tmp_path / "copy"
    shutil.copytree(tiny_dir, copy)
    cli.ok("model", "register", "t2", "--source", "custom", "--source-id", str(copy), tenant="acme")
    job = cli.ok(
        "model",
        "train",
        "start",
        "--base",
        "t2",
        "--dataset",
        job_setup["dataset_id"],
        tenant="acme",
    )
    (copy / "config.json").write_text("{}")
    res = cli("model", "train", "run", job["id"], tenant="acme")
    assert res.exit_code == 5 and "changed since it was registered" in res.error["message"]
    assert query(db_url, "SELECT status FROM training_jobs")[0][0] == "failed"


@pytest.mark.slow
def test_finetune_a_pinned_hugging_face_base(
    cli: Any,
    tenant: Any,
    tiny_dir: Path,
    tmp_path: Path,
    make_context: Any,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """pin -> download the pinned snapshot from the (fake) Hub -> fine-tune -> adapter version."""
    from tests.model.tiny import sample_texts

    with hub_with_tiny_base(cli, tiny_dir, monkeypatch) as (hub, base):
        data = write_jsonl(
            tmp_path / "d.jsonl", [{"prompt": t, "completion": "ok"} for t in sample_texts(16)]
        )
        dataset_id = register_dataset(make_context, data)
        job = cli.ok(
            "model",
            "train",
            "start",
            "--base",
            "hf-tiny",
            "--dataset",
            dataset_id,
            "--max-steps",
            "2",
            "--max-length",
            "16",
            "--output-name",
            "hf-tiny-ft",
            tenant="acme",
        )
        done = cli.ok("model", "train", "run", job["id"], "--threads", "1", tenant="acme")
        resolved = [r.path for r in hub.requests if "/resolve/" in r.path]
    assert done["status"] == "succeeded"
    # downloads asked for the pinned commit, never for a branch name
    assert resolved and all(f"/resolve/{base['pinned_revision']}/" in p for p in resolved)
    out = cli.ok("model", "show", "hf-tiny-ft", tenant="acme")
    assert out["version"] == 1 and out["lineage"]["base_source"].startswith(
        "huggingface:acme/tiny-llama@"
    )


def test_ollama_pull_streams_progress(make_context: Any, tenant: Any, ollama_server: Any) -> None:
    from shifty_ent.model import versions

    seen: list[tuple[str, int | None, int | None]] = []
    with make_context(tenant="acme") as ctx:
        v = versions.register(
            ctx,
            name="q",
            source="ollama",
            source_id="qwen2.5:0.5b",
            pull=True,
            progress=lambda s, c, t: seen.append((s, c, t)),
        )
        assert v.source_meta["family"] == "qwen2"
    statuses = [s for s, _, _ in seen]
    assert statuses[0] == "pulling manifest" and statuses[-1] == "success"
    sizes = [(c, t) for _, c, t in seen if t]
    assert sizes[-1][0] == sizes[-1][1] == 397_000_000


@pytest.mark.slow
def test_force_cancel_of_a_job_whose_worker_died(
    cli: Any, job_setup: dict[str, Any], db_url: str
) -> None:
    from sqlalchemy import create_engine, text

    job = start(cli, job_setup, "--max-steps", "2")
    engine = create_engine(db_url)
    with engine.begin() as conn:
        conn.execute(text("UPDATE training_jobs SET status='running', claimed_by='dead-host:42'"))
    engine.dispose()
    asked = cli.ok("model", "train", "cancel", job["id"], user="olga", tenant="acme")
    assert asked["status"] == "running" and asked["cancel_requested"] is True
    res = cli("model", "train", "cancel", job["id"], "--force", user="olga", tenant="acme")
    assert res.exit_code == 4
    done = cli.ok("model", "train", "cancel", job["id"], "--force", tenant="acme")
    assert done["status"] == "cancelled" and "dead-host:42" in done["error"]
    assert cli("model", "train", "run", job["id"], tenant="acme").exit_code == 5
