"""The program that runs on the GPU instance: ``python -m shifty_ent.model.remote.worker DIR``.

Shipped there with :mod:`shifty_ent.model.finetune` and the error classes only (see
:mod:`shifty_ent.model.remote.ship`), so it imports nothing but the standard library, the fine-tune
and, for a Hugging Face base, ``huggingface_hub``. It talks to nobody: the local follower reads its
files over SSH.

``DIR`` holds ``job.json`` (hyperparameters and where the base comes from), ``dataset.jsonl``
(the training texts as the local reader extracted them) and, for a custom base, ``base/``. The
worker writes:

- ``progress.jsonl``: one progress point per optimiser step, each written whole and flushed;
- ``adapter/``: the trained adapter (or weights);
- ``result.json`` (last, atomically): ``succeeded`` with the metrics and the sha256 of every
  adapter file, ``cancelled``, or ``failed`` with the error.

A file ``cancel`` in ``DIR`` stops the run at its next step (the follower also kills it).
"""

from __future__ import annotations

import hashlib
import json
import os
import sys
from pathlib import Path
from typing import Any

CHUNK = 1 << 20
MISSING_LIBRARIES = 3  # exit status: the launcher installs the training libraries, then reruns


def digests(root: Path) -> dict[str, str]:
    """``{relative path: sha256}`` of every file below ``root`` (also used locally to check)."""
    out: dict[str, str] = {}
    for path in sorted(p for p in root.rglob("*") if p.is_file()):
        h = hashlib.sha256()
        with path.open("rb") as fh:
            while chunk := fh.read(CHUNK):
                h.update(chunk)
        out[path.relative_to(root).as_posix()] = h.hexdigest()
    return out


def _write_result(workdir: Path, result: dict[str, Any]) -> None:
    tmp = workdir / "result.json.tmp"
    tmp.write_text(json.dumps(result, sort_keys=True))
    os.replace(tmp, workdir / "result.json")


def _fetch_base(spec: dict[str, Any], workdir: Path) -> Path:
    """The base checkpoint: shipped with the job, or downloaded here at its pinned revision."""
    base = spec["base"]
    if base["kind"] == "shipped":
        return workdir / "base"
    from huggingface_hub import snapshot_download

    token_file = workdir / "hf_token"
    token = token_file.read_text().strip() if token_file.exists() else None
    if token_file.exists():
        token_file.unlink()
    path = snapshot_download(
        repo_id=base["repo_id"],
        revision=base["revision"],
        cache_dir=str(workdir / "hf-cache"),
        endpoint=base.get("endpoint"),
        token=token or False,
    )
    return Path(path)


def run(workdir: Path) -> dict[str, Any]:
    """Fine-tune as the job says; the result document (also written to ``result.json``)."""
    from shifty_ent.core.errors import ShiftyError
    from shifty_ent.model import finetune

    spec = json.loads((workdir / "job.json").read_text())
    cancel = workdir / "cancel"
    progress = (workdir / "progress.jsonl").open("a", encoding="utf-8")

    def on_step(point: dict[str, Any]) -> bool:
        progress.write(json.dumps(point) + "\n")
        progress.flush()
        return not cancel.exists()

    try:
        base_dir = _fetch_base(spec, workdir)
        with (workdir / "dataset.jsonl").open(encoding="utf-8") as fh:
            rows = [json.loads(line) for line in fh if line.strip()]
        texts: list[finetune.Example] = [
            r["text"] if "text" in r else (r["prompt"], r["completion"]) for r in rows
        ]
        hp = finetune.Hyperparameters.from_dict(spec["hyperparameters"])
        out_dir = workdir / "adapter"
        result = finetune.finetune(
            base_dir, texts, out_dir, hp, on_step, threads=spec.get("threads")
        )
    except ShiftyError as exc:
        doc: dict[str, Any] = {"status": "failed", "error": exc.message, "type": exc.type}
    except Exception as exc:  # a crash in torch/transformers: report it, as train run does
        line = (str(exc).strip().splitlines() or [type(exc).__name__])[0]
        doc = {"status": "failed", "error": f"{type(exc).__name__}: {line}", "type": "error"}
    else:
        doc = {"status": "cancelled" if result.stopped else "succeeded"}
        doc["metrics"] = result.metrics()
        if not result.stopped:
            doc["files"] = digests(out_dir)
    finally:
        progress.close()
    _write_result(workdir, doc)
    return doc


def main(argv: list[str]) -> int:
    if len(argv) != 2:
        sys.stderr.write("usage: python -m shifty_ent.model.remote.worker DIR\n")
        return 2
    import importlib.util

    workdir = Path(argv[1]).resolve()
    (workdir / "worker.pid").write_text(str(os.getpid()))
    missing = [m for m in ("torch", "transformers", "peft") if importlib.util.find_spec(m) is None]
    if missing:
        sys.stderr.write(f"missing on this instance: {', '.join(missing)}\n")
        return MISSING_LIBRARIES
    doc = run(workdir)
    return 0 if doc["status"] == "succeeded" else 1


if __name__ == "__main__":
    raise SystemExit(main(sys.argv))
