"""Fine-tunes on the tenant's GPU instance over SSH, end to end without a GPU.

The vast.ai fake reports, as every instance's SSH address, a real OpenSSH server that the test
starts on 127.0.0.1 (tests/fakes/sshd.py); the "instance" is this machine, so the shipped worker
runs the CPU fine-tune with the tests' own Python. Asserted as a user notices: exit codes, the
job's rows (steps and losses recorded while it runs), the adapter's sha256 sums, the registered
version and its lineage, and the rented instance destroyed in the fake, also when the remote run
fails, is cancelled, or the follower is interrupted.
"""

from __future__ import annotations

import hashlib
import json
import os
import signal
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.fakes.sshd import Sshd, missing_reason, use_as_instance
from tests.fakes.vastai import FakeVast, cli_clock, serving
from tests.model.helpers import (
    count,
    hub_with_tiny_base,
    query,
    register_custom,
    register_dataset,
    require_train_extra,
    tiny_train_args,
    wait_for_points,
    write_jsonl,
)

require_train_extra()
if missing_reason():
    pytest.skip(str(missing_reason()), allow_module_level=True)

pytestmark = pytest.mark.slow
RENT = ("--on-gpu", "--type", "RTX_4090", "--max-price", "1", "--poll", "0.2", "--threads", "1")


@pytest.fixture(scope="session")
def tiny_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    import torch

    from tests.model.tiny import build_tiny_llama, sample_texts

    torch.set_num_threads(1)
    return build_tiny_llama(tmp_path_factory.mktemp("tiny") / "tiny-llama", sample_texts())


@pytest.fixture(scope="session")
def sshd(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Sshd]:
    with Sshd(tmp_path_factory.mktemp("sshd")) as server:
        yield server


@pytest.fixture
def vast(monkeypatch: pytest.MonkeyPatch, sshd: Sshd) -> Iterator[FakeVast]:
    fake = FakeVast(clock=cli_clock)
    fake.ssh_host, fake.ssh_port = "127.0.0.1", sshd.port
    fake.add_offer(1, dph_base=0.40, storage_cost=0.15)
    with serving(fake, monkeypatch):
        yield fake


@pytest.fixture
def remote_dir(
    monkeypatch: pytest.MonkeyPatch, sshd: Sshd, tmp_path: Path, vast: FakeVast
) -> Iterator[Path]:
    """Where the "instance" keeps its jobs; any worker left running is killed at the end. The
    followers a test kills on purpose leave their SSH control directories in a short temporary
    directory of the test's own (a control socket's path must stay short), removed here."""
    import shutil
    import tempfile

    root = tmp_path / "instance-home"
    scratch = tempfile.mkdtemp(prefix="se-t-")
    use_as_instance(monkeypatch, sshd, root, scratch)
    yield root
    for pid_file in root.glob("*/worker.pid"):
        pid = int(pid_file.read_text())
        if _alive(pid):
            os.kill(pid, signal.SIGKILL)
    shutil.rmtree(scratch, ignore_errors=True)


@pytest.fixture
def setup(cli: Any, tenant: Any, tiny_dir: Path, tmp_path: Path, make_context: Any) -> str:
    """Base ``tiny:1`` (a custom checkpoint) and a dataset asset; returns the dataset id."""
    from tests.model.tiny import sample_texts

    register_custom(cli, "tiny", tiny_dir)
    data = write_jsonl(tmp_path / "triage.jsonl", [{"text": t} for t in sample_texts(64)])
    return register_dataset(make_context, data, classification="confidential")


def train_args(dataset: str, steps: int) -> list[str]:
    return [
        *tiny_train_args(dataset),
        "--max-steps",
        str(steps),
        "--lora-r",
        "4",
        "--max-length",
        "16",
    ]


def _alive(pid: int) -> bool:
    """A process that exists and is not a zombie (nothing may reap it here)."""
    try:
        state = Path(f"/proc/{pid}/stat").read_text().split()[2]
    except (OSError, IndexError):
        return False
    return state != "Z"


def _follower(db_url: str, *args: str) -> subprocess.Popen[str]:
    env = dict(os.environ, OMP_NUM_THREADS="1", PYTHONUNBUFFERED="1")
    return subprocess.Popen(
        [
            *(sys.executable, "-m", "shifty_ent", "--db", db_url),
            *("--as", "alice", "--tenant", "acme", "-o", "json", *args),
        ],
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )


def _wait_for_points(db_url: str, n: int, proc: subprocess.Popen[str]) -> None:
    stalled = "no progress came back from the instance"
    wait_for_points(db_url, n, proc, seconds=180, who="follower", stalled=stalled)


def _job(db_url: str) -> tuple[str, str, str | None]:
    return query(db_url, "SELECT id, status, error FROM training_jobs")[0]


def _worker_pid(remote_dir: Path) -> int:
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        found = list(remote_dir.glob("*/worker.pid"))
        if found and found[0].read_text().strip():
            return int(found[0].read_text())
        time.sleep(0.1)
    raise AssertionError("the worker never started")


def _sha256(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def test_remote_finetune_rents_trains_registers_and_terminates(
    cli: Any, setup: str, db_url: str, vast: FakeVast, remote_dir: Path
) -> None:
    """``train start --on-gpu --type --max-price`` rents, ships, trains there, records every
    step, fetches and checks the adapter, registers it with lineage, and destroys the rental."""
    res = cli(*train_args(setup, 6), *RENT, tenant="acme")
    assert res.exit_code == 0, res.stderr
    job = res.json
    assert job["status"] == "succeeded" and job["progress"]["step"] == 6
    steps = query(db_url, "SELECT step, loss FROM training_points ORDER BY step")
    assert [s for s, _ in steps] == [1, 2, 3, 4, 5, 6]
    version = cli.ok("model", "show", job["output_version_id"], tenant="acme")
    assert (version["name"], version["version"]) == ("tiny", 2)
    lineage = version["lineage"]
    assert lineage["training_job_id"] == job["id"] and lineage["dataset_id"] == setup
    assert lineage["adapter_of"] == lineage["base_model_id"]
    # the adapter kept here is byte for byte what the instance summed
    sums = job["metrics"]["adapter_sha256"]
    adapter = Path(version["source_id"])
    assert "adapter_model.safetensors" in sums
    assert {name: _sha256(adapter / name) for name in sums} == sums
    assert version["metrics"]["final_loss"] == pytest.approx(steps[-1][1])
    # the instance trained with the shipped code, not this checkout
    workdir = remote_dir / job["id"]
    assert (workdir / "code" / "shifty_ent" / "model" / "finetune.py").is_file()
    assert json.loads((workdir / "result.json").read_text())["status"] == "succeeded"
    # rented for the job, then destroyed at vast.ai and closed here
    assert len(vast.rents) == 1 and vast.rents[0]["body"]["image"].startswith("pytorch/")
    assert not vast.instances and len(vast.destroyed) == 1
    assert query(db_url, "SELECT status FROM gpu_instances") == [("terminated",)]
    run = query(db_url, "SELECT phase, rented, ssh_port, host_key FROM remote_training_runs")[0]
    assert run[0] == "done" and run[1] and run[2] == vast.ssh_port and "ssh-ed25519" in run[3]


def test_no_offer_under_the_price_fails_the_job_and_rents_nothing(
    cli: Any, setup: str, db_url: str, vast: FakeVast, remote_dir: Path
) -> None:
    res = cli(
        *train_args(setup, 2), "--on-gpu", "--type", "RTX_4090", "--max-price", "0.1", tenant="acme"
    )
    assert res.exit_code == 4 and "nothing rented" in res.error["message"]
    assert _job(db_url)[1] == "failed"
    assert not vast.rents and count(db_url, "SELECT count(*) FROM model_versions") == 1


def test_on_gpu_options_are_checked(cli: Any, setup: str, db_url: str, remote_dir: Path) -> None:
    for extra in (
        ["--on-gpu"],
        ["--on-gpu", "--type", "RTX_4090"],
        ["--type", "RTX_4090", "--max-price", "1"],
        ["--on-gpu", "--instance", "x", "--type", "RTX_4090", "--max-price", "1"],
    ):
        res = cli(*train_args(setup, 2), *extra, tenant="acme")
        assert res.exit_code == 2, (extra, res.stderr)
    assert count(db_url, "SELECT count(*) FROM training_jobs") == 0
    res = cli(*train_args(setup, 2), *RENT[:-4], "--poll", "0", tenant="acme")
    assert res.exit_code == 2 and "--poll" in res.error["message"]
    assert count(db_url, "SELECT count(*) FROM training_jobs") == 0
    res = cli("model", "train", "attach", "nope", tenant="acme")
    assert res.exit_code == 3
    res = cli("model", "train", "attach", "nope", "--poll", "0", tenant="acme")
    assert res.exit_code == 2


def test_attach_resumes_after_the_follower_died(
    cli: Any, setup: str, db_url: str, vast: FakeVast, remote_dir: Path
) -> None:
    """kill -9 of ``train start --on-gpu`` leaves the run going; ``train attach`` follows it to
    the end (no step lost or doubled), registers the version and destroys the instance."""
    proc = _follower(db_url, *train_args(setup, 200), *RENT)
    try:
        _wait_for_points(db_url, 3, proc)  # the loss curve fills while it runs
        job_id = _job(db_url)[0]
        shown = cli("model", "train", "show", str(job_id), fmt="table", tenant="acme")
        assert "running" in shown.stdout and "*" in shown.stdout and "step 1.." in shown.stdout
        busy = cli("model", "train", "attach", str(job_id), tenant="acme")
        assert busy.exit_code == 5 and "followed by" in busy.error["message"]
        proc.kill()
        proc.wait(timeout=30)
    finally:
        if proc.poll() is None:
            proc.kill()
    assert _job(db_url)[1] == "running" and len(vast.instances) == 1
    done = cli("model", "train", "attach", str(job_id), "--poll", "0.2", tenant="acme")
    assert done.exit_code == 0, done.stderr
    assert done.json["status"] == "succeeded"
    steps = [s for (s,) in query(db_url, "SELECT step FROM training_points ORDER BY step")]
    assert steps == list(range(1, 201))
    assert count(db_url, "SELECT count(*) FROM model_versions") == 2
    assert not vast.instances and len(vast.destroyed) == 1


def _interrupted_run(
    db_url: str,
    setup: str,
    remote_dir: Path,
    interrupt: Callable[[subprocess.Popen[str], int], None],
) -> tuple[subprocess.Popen[str], int, int]:
    """A long remote fine-tune, followed by a child process, that ``interrupt(follower, worker
    pid)`` stops once two points are recorded; returns the follower, its exit code, the pid."""
    proc = _follower(db_url, *train_args(setup, 20000), *RENT)
    try:
        _wait_for_points(db_url, 2, proc)
        pid = _worker_pid(remote_dir)
        interrupt(proc, pid)
        code = proc.wait(timeout=120)
    finally:
        if proc.poll() is None:
            proc.kill()
    return proc, code, pid


def test_cancel_kills_the_remote_process_and_the_rental_ends(
    cli: Any, setup: str, db_url: str, vast: FakeVast, remote_dir: Path
) -> None:
    def cancel(proc: subprocess.Popen[str], pid: int) -> None:
        row = cli.ok("model", "train", "cancel", str(_job(db_url)[0]), user="olga", tenant="acme")
        assert row["remote"]["process_stopped"] is True

    proc, code, pid = _interrupted_run(db_url, setup, remote_dir, cancel)
    assert code == 5, proc.stderr.read()  # type: ignore[union-attr]
    _, status, error = _job(db_url)
    assert status == "cancelled" and "cancelled by olga" in (error or "")
    assert not _alive(pid)
    assert not vast.instances and len(vast.destroyed) == 1
    assert count(db_url, "SELECT count(*) FROM model_versions") == 1


def test_ctrl_c_kills_the_remote_run_and_terminates_the_instance(
    cli: Any, setup: str, db_url: str, vast: FakeVast, remote_dir: Path
) -> None:
    proc, code, pid = _interrupted_run(
        db_url, setup, remote_dir, lambda proc, pid: proc.send_signal(signal.SIGINT)
    )
    assert code == 130, proc.stderr.read()  # type: ignore[union-attr]
    _, status, error = _job(db_url)
    assert status == "cancelled" and "Ctrl-C" in (error or "")
    time.sleep(0.5)
    assert not _alive(pid)
    assert not vast.instances and len(vast.destroyed) == 1


def test_a_remote_run_that_dies_fails_the_job_and_terminates_the_instance(
    cli: Any, setup: str, db_url: str, vast: FakeVast, remote_dir: Path
) -> None:
    """The worker killed on the instance (an OOM kill, say): the job fails with exit 6 and the
    rental is destroyed; nothing is registered."""
    proc, code, _ = _interrupted_run(
        db_url, setup, remote_dir, lambda proc, pid: os.kill(pid, signal.SIGKILL)
    )
    assert code == 6, proc.stderr.read()  # type: ignore[union-attr]
    _, status, error = _job(db_url)
    assert status == "failed" and "without a result" in (error or "")
    assert not vast.instances and len(vast.destroyed) == 1
    assert count(db_url, "SELECT count(*) FROM model_versions") == 1


def test_a_given_instance_is_reused_and_kept(
    cli: Any, setup: str, db_url: str, vast: FakeVast, remote_dir: Path
) -> None:
    inst = cli.ok("gpu", "provision", "--type", "RTX_4090", "--max-price", "1", tenant="acme")
    res = cli(
        *train_args(setup, 2), "--on-gpu", "--instance", inst["id"], "--poll", "0.2", tenant="acme"
    )
    assert res.exit_code == 0, res.stderr
    assert res.json["status"] == "succeeded"
    assert len(vast.rents) == 1 and len(vast.instances) == 1  # still there, still billed
    assert not (remote_dir / res.json["id"]).exists()  # its work directory was cleaned up


def test_the_instance_fetches_a_hugging_face_base_at_its_pin(
    cli: Any,
    tenant: Any,
    tiny_dir: Path,
    tmp_path: Path,
    make_context: Any,
    db_url: str,
    vast: FakeVast,
    remote_dir: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """A Hugging Face base is not shipped: the instance downloads the pinned commit itself."""
    from tests.model.tiny import sample_texts

    with hub_with_tiny_base(cli, tiny_dir, monkeypatch) as (hub, base):
        data = write_jsonl(tmp_path / "d.jsonl", [{"text": t} for t in sample_texts(16)])
        dataset = register_dataset(make_context, data)
        before = len(hub.requests)
        res = cli(
            *["model", "train", "start", "--base", "hf-tiny", "--dataset", dataset],
            *["--max-steps", "2", "--max-length", "16", *RENT],
            tenant="acme",
        )
        fetched = [r.path for r in hub.requests[before:] if "/resolve/" in r.path]
    assert res.exit_code == 0, res.stderr
    assert res.json["status"] == "succeeded"
    assert fetched and all(f"/resolve/{base['pinned_revision']}/" in p for p in fetched)
    workdir = remote_dir / res.json["id"]
    assert not (workdir / "base").exists() and (workdir / "hf-cache").is_dir()
    assert not vast.instances


def test_cancel_with_nobody_following_ends_the_job_and_the_rental(
    cli: Any, setup: str, db_url: str, vast: FakeVast, remote_dir: Path
) -> None:
    """The follower was killed; ``train cancel`` itself kills the remote process, marks the job
    cancelled and destroys the instance the job rented."""
    proc = _follower(db_url, *train_args(setup, 20000), *RENT)
    try:
        _wait_for_points(db_url, 2, proc)
        pid = _worker_pid(remote_dir)
        proc.kill()
        proc.wait(timeout=30)
    finally:
        if proc.poll() is None:
            proc.kill()
    row = cli.ok("model", "train", "cancel", str(_job(db_url)[0]), user="olga", tenant="acme")
    assert row["status"] == "cancelled" and row["remote"]["process_stopped"] is True
    assert "cancelled by olga" in row["error"]
    time.sleep(0.5)
    assert not _alive(pid)
    assert not vast.instances and len(vast.destroyed) == 1
