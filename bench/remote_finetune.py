"""Benchmark: what running a fine-tune on a GPU instance over SSH costs over running it here.

Issue 15 asks for the remote fine-tune's overhead (SSH set-up, transfers, polling) printed
against the same fine-tune run locally in the same bench run. Both run here, on one fresh SQLite
store, with the same tiny local Llama-style model, dataset, seed and hyperparameters:

1. ``local``: ``model train start`` then ``model train run JOB`` (two fresh processes);
2. ``remote``: ``model train start --on-gpu --type RTX_4090 --max-price 1`` (one fresh process)
   against the vast.ai fake, whose instances' SSH address is a real OpenSSH server started on
   127.0.0.1 (tests/fakes/sshd.py); the "instance" is this machine, so the training itself costs
   the same on both sides and the difference is the remote path's own cost: renting (fake, so
   near zero), connecting, shipping code + dataset + base, polling, fetching and checking the
   adapter, terminating.

Prints the wall time of each, the ratio remote/local, and the remote run's recorded breakdown
(the ``timings`` of its ``remote_training_runs`` row). Needs the ``train`` extra and
``/usr/sbin/sshd``; nothing is downloaded.

    python bench/remote_finetune.py [--steps 30] [--poll 0.5] [--json out.json]
"""

from __future__ import annotations

import argparse
import json
import os
import sqlite3
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "src"))
sys.path.insert(1, str(ROOT))  # test code: the tiny model builder and the fakes


def shifty(store: Path, *args: str) -> Any:
    """Run the CLI in a fresh process and return its JSON answer (exit on failure)."""
    cmd = [sys.executable, "-m", "shifty_ent", "--db", f"sqlite:///{store}", "--as", "alice"]
    cmd += ["-o", "json", "-q", *args]
    env = dict(os.environ, SHIFTY_HOME=str(store.parent / "home"))
    env["PYTHONPATH"] = os.pathsep.join(
        [str(ROOT / "src"), *filter(None, [os.environ.get("PYTHONPATH")])]
    )
    proc = subprocess.run(cmd, capture_output=True, text=True, env=env, check=False)
    if proc.returncode:
        sys.exit(f"{' '.join(args[:4])} failed ({proc.returncode}): {proc.stderr.strip()}")
    return json.loads(proc.stdout) if proc.stdout.strip() else None


def timed(store: Path, *args: str) -> tuple[Any, float]:
    start = time.perf_counter()
    out = shifty(store, *args)
    return out, time.perf_counter() - start


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--steps", type=int, default=30, help="optimiser steps of each run")
    parser.add_argument("--poll", type=float, default=0.5, help="remote progress poll interval")
    parser.add_argument("--threads", type=int, default=1, help="torch threads on both sides")
    parser.add_argument("--json", type=Path, help="also write the results here")
    args = parser.parse_args()

    from tests.fakes.sshd import Sshd, missing_reason
    from tests.fakes.vastai import API_KEY, FakeVast
    from tests.model.tiny import build_tiny_llama, sample_texts

    reason = missing_reason()
    if reason:
        sys.exit(f"cannot run: {reason}")
    os.environ["SHIFTY_IDENTITY"] = "declared"  # a scratch store that plays one admin
    os.environ["OMP_NUM_THREADS"] = str(args.threads)
    with tempfile.TemporaryDirectory(prefix="se-bench-") as tmp_s:
        tmp = Path(tmp_s)
        model_dir = build_tiny_llama(tmp / "tiny-llama", sample_texts())
        data = tmp / "texts.jsonl"
        data.write_text("".join(json.dumps({"text": t}) + "\n" for t in sample_texts(256)))
        store = tmp / "store" / "state.db"
        store.parent.mkdir()
        with Sshd(tmp / "sshd") as sshd, FakeVast() as vast:
            vast.ssh_host, vast.ssh_port = "127.0.0.1", sshd.port
            vast.add_offer(1, dph_base=0.40, storage_cost=0.15)
            os.environ.update(
                VASTAI_URL=vast.url,
                VASTAI_API_KEY=API_KEY,
                SHIFTY_SSH_KEY=str(sshd.client_key),
                SHIFTY_SSH_USER=sshd.user,
                SHIFTY_REMOTE_PYTHON=sys.executable,
                SHIFTY_REMOTE_DIR=str(tmp / "instance"),
            )
            t = ("--tenant", "bench")
            shifty(store, "tenant", "create", "bench")
            shifty(store, *t, "model", "register", "tiny", "--source", "custom",
                   "--source-id", str(model_dir))  # fmt: skip
            shifty(store, *t, "data", "asset", "register", "texts", "--type", "dataset",
                   "-c", "internal", "--location", str(data))  # fmt: skip
            start = (*t, "model", "train", "start", "--base", "tiny:1", "--dataset", "texts",
                     "--learning-rate", "0.005", "--batch-size", "8", "--max-length", "32",
                     "--max-steps", str(args.steps))  # fmt: skip
            queued, t_start = timed(store, *start)
            local, t_run = timed(store, *t, "model", "train", "run", queued["id"],
                                 "--threads", str(args.threads))  # fmt: skip
            remote, t_remote = timed(store, *start, "--on-gpu", "--type", "RTX_4090",
                                     "--max-price", "1", "--poll", str(args.poll),
                                     "--threads", str(args.threads))  # fmt: skip
            destroyed = len(vast.destroyed)
        with sqlite3.connect(store) as db:
            (raw,) = db.execute(
                "SELECT timings FROM remote_training_runs WHERE job_id = ?",
                (remote["id"].replace("-", ""),),
            ).fetchone()
    timings = json.loads(raw)
    local_wall = t_start + t_run
    own = sum(timings.get(k, 0.0) for k in ("rent_s", "connect_s", "ship_s", "fetch_s"))
    results = {
        "steps": args.steps,
        "poll_seconds": args.poll,
        "local": {
            "status": local["status"],
            "command_seconds": round(local_wall, 3),
            "train_seconds": local["metrics"]["train_seconds"],
        },
        "remote": {
            "status": remote["status"],
            "command_seconds": round(t_remote, 3),
            "train_seconds": remote["metrics"]["train_seconds"],
            "instances_destroyed": destroyed,
            **timings,
        },
        "remote_path_seconds": round(own, 3),
        "remote_path_over_local": round(own / local_wall, 3),
        "wall_difference_seconds": round(t_remote - local_wall, 3),
        "remote_over_local": round(t_remote / local_wall, 3),
    }
    print(f"fine-tune of {args.steps} steps, local then remote (SSH to 127.0.0.1), one store")
    print(f"  local  (train start + train run):   {local_wall:7.2f} s")
    print(f"  remote (train start --on-gpu):      {t_remote:7.2f} s")
    print(f"  remote / local (wall):              {results['remote_over_local']:7.2f}x")
    print(f"  the remote path's own steps:        {own:7.2f} s", end="")
    print(f" = {results['remote_path_over_local']:.2f}x the local run:")
    for key, label in (
        ("rent_s", "rent + wait until running"),
        ("connect_s", "SSH set-up (first connection)"),
        ("ship_s", "ship code, dataset, base"),
        ("fetch_s", "fetch + sha256-check adapter"),
    ):
        print(f"    {label:<34}{timings.get(key, 0.0):7.2f} s")
    print(
        f"  polling: {timings.get('polls', 0)} SSH round trips, {timings.get('poll_s', 0.0):.2f} s"
        f" in all, while the instance trains (adds up to --poll {args.poll:g} s at the end)"
    )
    trained = (local["metrics"]["train_seconds"], remote["metrics"]["train_seconds"])
    print(
        f"  {timings.get('shipped_bytes', 0)} bytes shipped, {timings.get('fetched_bytes', 0)} "
        f"fetched; training itself {trained[0]} s local, {trained[1]} s remote; "
        f"{destroyed} instance(s) destroyed"
    )
    if args.json:
        args.json.write_text(json.dumps(results, indent=2))


if __name__ == "__main__":
    main()
