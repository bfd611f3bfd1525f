"""What travels to the instance and back: one tar stream out (code, dataset, job, base), the
adapter back, checked file by file against the sha256 sums the instance computed.

The code shipped is the fine-tune this installation runs locally (:mod:`shifty_ent.model.finetune`)
plus the worker and the error classes it raises: the instance runs the same training code as
``model train run`` would here, whatever package version it has (or none). The dataset travels
as the texts the local reader extracted (``{"text": ...}`` per line), so both paths train on
exactly the same examples.
"""

from __future__ import annotations

import io
import json
import shlex
import tarfile
import tempfile
from collections.abc import Sequence
from pathlib import Path
from typing import IO, Any

from shifty_ent.core.errors import ExternalServiceError
from shifty_ent.model.finetune import Example
from shifty_ent.model.remote.worker import MISSING_LIBRARIES, digests

# the modules the worker imports, relative to the package directory
CODE_FILES = (
    "__init__.py",
    "core/__init__.py",
    "core/errors.py",
    "model/__init__.py",
    "model/finetune.py",
    "model/remote/__init__.py",
    "model/remote/worker.py",
)
# installed on the instance when its image lacks them (pytorch images ship torch itself)
REMOTE_REQUIREMENTS = (
    "transformers>=4.45",
    "peft>=0.13",
    "accelerate>=1.0",
    "safetensors>=0.4",
    "huggingface_hub>=0.24",
)


def package_root() -> Path:
    import shifty_ent

    return Path(shifty_ent.__file__).resolve().parent


def launch_script(python: str) -> str:
    """``run.sh``: run the worker; when the image lacks the training libraries (the worker
    exits 3 at once, having imported nothing heavy), install them and run it again; leave the
    exit status in ``exit_code``."""
    py = shlex.quote(python)
    reqs = " ".join(shlex.quote(r) for r in REMOTE_REQUIREMENTS)
    worker = f'PYTHONPATH="$PWD/code" {py} -m shifty_ent.model.remote.worker "$PWD"'
    return (
        'cd "$(dirname "$0")" || exit 1\n'
        f"{worker}; rc=$?\n"
        f"if [ $rc -eq {MISSING_LIBRARIES} ]; then\n"
        f"  {py} -m pip install --quiet {reqs} && {{ {worker}; rc=$?; }}\n"
        "fi\n"
        "echo $rc > exit_code\n"
    )


def _add_bytes(tar: tarfile.TarFile, name: str, data: bytes, mode: int = 0o644) -> None:
    info = tarfile.TarInfo(name)
    info.size = len(data)
    info.mode = mode
    tar.addfile(info, io.BytesIO(data))


def _example_row(example: Example) -> dict[str, str]:
    """One training example as the worker reads it back: plain text, or a prompt and the
    completion the model learns (the dataset contract's pair)."""
    if isinstance(example, str):
        return {"text": example}
    prompt, completion = example
    return {"prompt": prompt, "completion": completion}


def build_payload(
    texts: Sequence[Example],
    spec: dict[str, Any],
    *,
    python: str,
    base_dir: Path | None,
    hf_token: str | None = None,
) -> IO[bytes]:
    """One tar (in a temporary file, rewound) holding everything the instance needs."""
    out = tempfile.TemporaryFile()  # noqa: SIM115  (handed to the caller, who closes it)
    root = package_root()
    with tarfile.open(fileobj=out, mode="w") as tar:
        for rel in CODE_FILES:
            tar.add(str(root / rel), arcname=f"code/shifty_ent/{rel}")
        lines = "".join(json.dumps(_example_row(t)) + "\n" for t in texts)
        _add_bytes(tar, "dataset.jsonl", lines.encode("utf-8"))
        _add_bytes(tar, "job.json", json.dumps(spec, sort_keys=True).encode())
        _add_bytes(tar, "run.sh", launch_script(python).encode(), 0o755)
        if hf_token:
            _add_bytes(tar, "hf_token", hf_token.encode(), 0o600)
        if base_dir is not None:
            for path in sorted(base_dir.rglob("*")):
                if path.is_file():
                    tar.add(str(path), arcname=f"base/{path.relative_to(base_dir).as_posix()}")
    out.seek(0)
    return out


def unpack_adapter(archive: Path, out_dir: Path, expected: dict[str, str]) -> dict[str, str]:
    """Unpack the fetched adapter into ``out_dir`` and check every file's sha256 against what
    the instance reported: a missing, extra or different file fails (exit 6), and nothing of
    it is kept."""
    import shutil

    if not expected:
        raise ExternalServiceError("the instance reported an empty adapter; nothing registered")
    if out_dir.exists():
        shutil.rmtree(out_dir)
    out_dir.mkdir(parents=True)
    with tarfile.open(archive) as tar:
        tar.extractall(out_dir, filter="data")
    got = digests(out_dir)
    if got != expected:
        bad = sorted(
            name for name in set(got) | set(expected) if got.get(name) != expected.get(name)
        )
        shutil.rmtree(out_dir)
        raise ExternalServiceError(
            "the adapter fetched from the instance does not match its sha256 sums "
            f"({', '.join(bad[:5])}); nothing was registered"
        )
    return got
