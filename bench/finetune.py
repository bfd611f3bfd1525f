"""Benchmark: fine-tune steps per second, CPU against GPU, on a local Llama-style config.

Issue 6 asks, where a GPU machine is lent, for the fine-tune on a larger local config and its
steps per second on CPU against GPU. Both are measured here in one run on the same host, with
the same model, data, seed and hyperparameters (the peer is the CPU):

1. ``library``: ``model.finetune.finetune`` (what ``model train run`` calls) forced to each
   device in turn; steps per second after ``--warmup`` steps, timed at each step's callback
   (each step ends in ``loss.item()``, so GPU work is finished when it is timed). Full float32,
   as ``train run`` trains; ``--tf32`` adds a GPU pass with TF32 matmuls, for information.
2. ``--cli``: the whole ``shifty-ent model train run`` command in a fresh process on a SQLite
   store, CPU forced with ``CUDA_VISIBLE_DEVICES=``; reports the job's own recorded metrics
   (device, steps per second including the first step) and the command's wall time.

Nothing is downloaded: the tokenizer and model are built from a config in a temporary folder.

    python bench/finetune.py --size small            # CI-sized model, any machine, seconds
    python bench/finetune.py --size large --cli      # the GPU comparison (minutes on CPU)
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "src"))
sys.path.insert(1, str(ROOT))  # the tiny model builder is test code: tests/model/tiny.py

# name -> (hidden, layers, heads, kv_heads, max_length, batch_size, lines per example)
SIZES: dict[str, tuple[int, int, int, int, int, int, int]] = {
    "small": (64, 2, 4, 2, 128, 8, 4),
    "medium": (256, 4, 8, 4, 256, 8, 12),
    "large": (768, 12, 12, 4, 256, 16, 12),
}


def build(tmp: Path, size: str) -> tuple[Path, list[str], dict[str, Any]]:
    """Model folder, training texts and a description of the config."""
    from tests.model.tiny import build_tiny_llama, sample_texts

    hidden, layers, heads, kv, max_length, batch, per_example = SIZES[size]
    lines = sample_texts(2000)
    texts = [" ".join(lines[i : i + per_example]) for i in range(0, len(lines), per_example)]
    model_dir = build_tiny_llama(
        tmp / f"llama-{size}",
        lines,
        vocab_size=2000,
        hidden=hidden,
        layers=layers,
        heads=heads,
        kv_heads=kv,
        positions=max_length,
    )
    config = {
        "size": size,
        "hidden": hidden,
        "layers": layers,
        "heads": heads,
        "kv_heads": kv,
        "max_length": max_length,
        "batch_size": batch,
        "examples": len(texts),
    }
    return model_dir, texts, config


def run_library(
    model_dir: Path, texts: list[str], config: dict[str, Any], device: str, steps: int, warmup: int
) -> dict[str, Any]:
    """One LoRA fine-tune forced onto ``device``; steady-state steps per second."""
    from shifty_ent.model.finetune import Hyperparameters, finetune

    stamps: list[float] = []
    losses: list[float] = []

    def on_step(point: dict[str, Any]) -> bool:
        stamps.append(time.perf_counter())
        losses.append(float(point["loss"]))
        return True

    hp = Hyperparameters(
        learning_rate=5e-3,
        batch_size=config["batch_size"],
        max_steps=warmup + steps,
        max_length=config["max_length"],
    )
    with tempfile.TemporaryDirectory() as out:
        result = finetune(model_dir, texts, Path(out) / "adapter", hp, on_step, device=device)
    timed = stamps[warmup:]
    rate = (len(timed) - 1) / (timed[-1] - timed[0]) if len(timed) > 1 else 0.0
    return {
        "device": result.device,
        "steps_timed": len(timed) - 1,
        "steps_per_second": rate,
        "first_loss": losses[0],
        "final_loss": losses[-1],
        "trainable_parameters": result.trainable_parameters,
        "total_parameters": result.total_parameters,
    }


def shifty(store: Path, *args: str, env: dict[str, str] | None = None) -> Any:
    """Run the CLI in a fresh process and return its JSON answer (exit on failure)."""
    cmd = [sys.executable, "-m", "shifty_ent", "--db", f"sqlite:///{store}", "--as", "alice"]
    cmd += ["-o", "json", "-q", *args]
    proc_env = dict(os.environ, SHIFTY_HOME=str(store.parent / "home"), **(env or {}))
    proc_env["PYTHONPATH"] = os.pathsep.join(
        [str(ROOT / "src"), *filter(None, [os.environ.get("PYTHONPATH")])]
    )
    proc = subprocess.run(cmd, capture_output=True, text=True, env=proc_env, check=False)
    if proc.returncode:
        sys.exit(f"{' '.join(args[:4])} failed ({proc.returncode}): {proc.stderr.strip()}")
    return json.loads(proc.stdout) if proc.stdout.strip() else None


def run_cli(
    tmp: Path, model_dir: Path, texts: list[str], config: dict[str, Any], device: str, steps: int
) -> dict[str, Any]:
    """The whole ``model train run`` command on a fresh store, with CPU forced when asked."""
    store = tmp / f"cli-{device}" / "state.db"
    store.parent.mkdir(parents=True)
    data = store.parent / "texts.jsonl"
    data.write_text("".join(json.dumps({"text": t}) + "\n" for t in texts))
    shifty(store, "tenant", "create", "bench")
    t = ("--tenant", "bench")
    shifty(store, *t, "model", "register", "llama", "--source", "custom",
           "--source-id", str(model_dir))  # fmt: skip
    shifty(store, *t, "data", "asset", "register", "texts", "--type", "dataset", "-c", "internal",
           "--location", str(data))  # fmt: skip
    job = shifty(store, *t, "model", "train", "start", "--base", "llama:1", "--dataset", "texts",
                 "--learning-rate", "0.005", "--batch-size", str(config["batch_size"]),
                 "--max-length", str(config["max_length"]), "--max-steps", str(steps))  # fmt: skip
    env = {"CUDA_VISIBLE_DEVICES": ""} if device == "cpu" else {}
    start = time.perf_counter()
    done = shifty(store, *t, "model", "train", "run", job["id"], env=env)
    wall = time.perf_counter() - start
    metrics = done["metrics"]
    return {
        "device": metrics["device"],
        "status": done["status"],
        "steps": metrics["steps"],
        "steps_per_second": metrics["steps_per_second"],
        "command_seconds": round(wall, 2),
        "final_loss": metrics["final_loss"],
        "output_version_id": done.get("output_version_id"),
    }


def compare(results: dict[str, Any], mode: str) -> None:
    """Print and keep the GPU's steps per second over the CPU's (the peer) for one mode."""
    runs = results[mode]
    if "cuda" in runs and runs["cpu"]["steps_per_second"]:
        ratio = runs["cuda"]["steps_per_second"] / runs["cpu"]["steps_per_second"]
        results[f"{mode}_gpu_over_cpu"] = ratio
        print(f"{mode}: GPU is {ratio:.1f}x the CPU's steps per second")


def main() -> None:
    # a scratch store that plays several people: a declared-identity sandbox
    os.environ["SHIFTY_IDENTITY"] = "declared"
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--size", choices=sorted(SIZES), default="small")
    parser.add_argument("--cpu-steps", type=int, default=10, help="timed CPU steps")
    parser.add_argument("--gpu-steps", type=int, default=50, help="timed GPU steps")
    parser.add_argument("--warmup", type=int, default=2, help="untimed steps first")
    parser.add_argument("--cli", action="store_true", help="also time the whole CLI command")
    parser.add_argument(
        "--tf32", action="store_true", help="also time the GPU with TF32 matmuls (information)"
    )
    parser.add_argument("--json", type=Path, help="also write the results here")
    args = parser.parse_args()

    import torch

    devices = ["cpu"] + (["cuda"] if torch.cuda.is_available() else [])
    host = {
        "torch": torch.__version__,
        "cpu_threads": torch.get_num_threads(),
        "gpu": torch.cuda.get_device_name(0) if "cuda" in devices else None,
    }
    print(f"host: {host}")
    results: dict[str, Any] = {"host": host}
    with tempfile.TemporaryDirectory() as tmp_s:
        tmp = Path(tmp_s)
        model_dir, texts, config = build(tmp, args.size)
        print(f"config: {config}")
        results["config"] = config
        lib: dict[str, Any] = {}
        for device in devices:
            steps = args.cpu_steps if device == "cpu" else args.gpu_steps
            lib[device] = run_library(model_dir, texts, config, device, steps, args.warmup)
            r = lib[device]
            print(
                f"library {device:<4}: {r['steps_per_second']:8.3f} steps/s over "
                f"{r['steps_timed']} steps (loss {r['first_loss']:.3f} -> {r['final_loss']:.3f}; "
                f"{r['trainable_parameters']:,} of {r['total_parameters']:,} parameters trained)"
            )
        if args.tf32 and "cuda" in devices:
            torch.set_float32_matmul_precision("high")
            r = run_library(model_dir, texts, config, "cuda", args.gpu_steps, args.warmup)
            torch.set_float32_matmul_precision("highest")
            lib["cuda_tf32"] = r
            print(f"library cuda with TF32 matmuls: {r['steps_per_second']:8.3f} steps/s")
        results["library"] = lib
        compare(results, "library")
        if args.cli:
            cli: dict[str, Any] = {}
            for device in devices:
                steps = args.cpu_steps if device == "cpu" else args.gpu_steps
                cli[device] = run_cli(tmp, model_dir, texts, config, device, steps)
                r = cli[device]
                print(
                    f"cli {device:<4}: job on {r['device']}, {r['status']}, {r['steps']} steps, "
                    f"{r['steps_per_second']:.3f} steps/s (first step included), "
                    f"command {r['command_seconds']} s, registered version {r['output_version_id']}"
                )
            results["cli"] = cli
            compare(results, "cli")
    if args.json:
        args.json.write_text(json.dumps(results, indent=2) + "\n")


if __name__ == "__main__":
    main()
