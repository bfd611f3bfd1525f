"""Shared helpers of the model tests."""

from __future__ import annotations

import importlib.util
import json
import subprocess
import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import create_engine, text


def require_train_extra() -> None:
    """Skip where the optional ``train`` extra is not installed (CI installs it). An installed
    extra that fails to import is an error, not a skip, so a broken install cannot hide tests."""
    missing = [m for m in ("torch", "transformers", "peft") if importlib.util.find_spec(m) is None]
    if missing:
        pytest.skip(
            f"the train extra is not installed (no {', '.join(missing)})",
            allow_module_level=True,
        )


def query(db_url: str, sql: str, **params: Any) -> list[Any]:
    engine = create_engine(db_url)
    try:
        with engine.connect() as conn:
            return list(conn.execute(text(sql), params).all())
    finally:
        engine.dispose()


def count(db_url: str, sql: str, **params: Any) -> int:
    return int(query(db_url, sql, **params)[0][0] or 0)


def wait_for_points(
    db_url: str, n: int, proc: subprocess.Popen[str], *, seconds: float, who: str, stalled: str
) -> None:
    """Wait until ``n`` training points are recorded while ``proc`` (the ``who`` that trains or
    follows) runs; fail with its stderr if it ends first, or with ``stalled`` after ``seconds``."""
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise AssertionError(f"{who} ended early: {proc.stderr.read()}")  # type: ignore[union-attr]
        if count(db_url, "SELECT count(*) FROM training_points") >= n:
            return
        time.sleep(0.2)
    raise AssertionError(stalled)


def write_jsonl(path: Path, records: list[dict[str, Any]]) -> Path:
    path.write_text("".join(json.dumps(r) + "\n" for r in records))
    return path


def register_dataset(
    make_context: Any,
    path: Path,
    *,
    tenant: str = "acme",
    name: str | None = None,
    classification: str = "internal",
    user: str = "alice",
) -> str:
    from shifty_ent.data.assets import register_asset

    with make_context(tenant=tenant, user=user) as ctx:
        asset = register_asset(
            ctx,
            name=name or path.stem,
            type="dataset",
            classification=classification,
            location=str(path),
        )
        return str(asset.id)


def register_custom_versions(
    cli: Any, checkpoint: Path, *, name: str = "clf", versions: int = 3
) -> list[dict[str, Any]]:
    """Register ``versions`` versions of a custom model from ``checkpoint``, each with a different
    ``config.json`` so each pins new bytes; returns the rows in order."""
    out = []
    for i in range(versions):
        (checkpoint / "config.json").write_text(f'{{"v": {i}}}')
        out.append(register_custom(cli, name, checkpoint))
    return out


@contextmanager
def hub_with_tiny_base(
    cli: Any, tiny_dir: Path, monkeypatch: pytest.MonkeyPatch
) -> Iterator[tuple[Any, dict[str, Any]]]:
    """A fake Hugging Face Hub serving the tiny checkpoint as ``acme/tiny-llama``, registered (and
    so pinned) as model ``hf-tiny``; yields the hub and the registered version's row."""
    from tests.fakes.huggingface import FakeHub, FakeRepo

    files = {p.name: p.read_bytes() for p in tiny_dir.iterdir() if p.is_file()}
    with FakeHub([FakeRepo("acme/tiny-llama", files)]) as hub:
        monkeypatch.setenv("HF_ENDPOINT", hub.url)
        base = register_hf(cli, "hf-tiny", "acme/tiny-llama")
        yield hub, base


def make_instance(
    make_context: Any,
    *,
    endpoint: str | None,
    checkpoint: str | None,
    kind: str = "ollama",
    status: str = "running",
    tenant: str = "acme",
    user: str = "alice",
) -> str:
    """A GPU instance row of ``tenant`` serving ``checkpoint`` at ``endpoint`` (a loopback fake)
    with a ``kind`` server (none where there is no endpoint); returns its id."""
    from shifty_ent.gpu.tables import GpuInstance

    with make_context(tenant=tenant, user=user) as ctx:
        inst = GpuInstance(
            tenant_id=ctx.tenant_id,
            label=f"test-{uuid.uuid4().hex[:8]}",
            gpu_type="RTX_4090",
            status=status,
            max_price_per_hour=Decimal("0.5"),
            endpoint_url=endpoint,
            server_kind=kind if endpoint else None,
            model_checkpoint=checkpoint,
            created_by=user,
        )
        ctx.session.add(inst)
        ctx.session.flush()
        return str(inst.id)


def register_args(name: str, source: str, source_id: str) -> tuple[str, ...]:
    """The words of ``model register NAME --source SOURCE --source-id SOURCE_ID``."""
    return ("model", "register", name, "--source", source, "--source-id", source_id)


def tiny_train_args(dataset: str) -> list[str]:
    """``model train start`` of base ``tiny:1`` on ``dataset`` at the tests' learning rate and
    batch size (more options follow)."""
    return [
        *("model", "train", "start", "--base", "tiny:1", "--dataset", dataset),
        *("--learning-rate", "0.01", "--batch-size", "8"),
    ]


def register_model(
    cli: Any, name: str, source: str, source_id: str, *extra: str, tenant: str = "acme"
) -> dict[str, Any]:
    """``model register NAME --source SOURCE --source-id SOURCE_ID`` (``extra``: more options) in
    ``tenant`` as alice; returns the version's row."""
    row: dict[str, Any] = cli.ok(*register_args(name, source, source_id), *extra, tenant=tenant)
    return row


def register_llama(cli: Any, *, tenant: str = "acme") -> dict[str, Any]:
    """Register the fake Ollama's ``llama3.1:8b`` as model ``llama`` (the common first step of the
    serving, evaluation and inference tests)."""
    return register_model(cli, "llama", "ollama", "llama3.1:8b", tenant=tenant)


def register_custom(cli: Any, name: str, path: Path, *extra: str) -> dict[str, Any]:
    """Register the checkpoint directory ``path`` as a version of custom model ``name``."""
    return register_model(cli, name, "custom", str(path), *extra)


def register_hf(cli: Any, name: str, repo_id: str, *extra: str) -> dict[str, Any]:
    """Register Hugging Face repo ``repo_id`` (of the fake Hub) as model ``name``."""
    return register_model(cli, name, "huggingface", repo_id, *extra)


def register_tiny_base_for(cli: Any, where: Path, examples: list[dict[str, Any]]) -> None:
    """Build at ``where`` a tiny Llama (256 positions) whose tokenizer has seen ``examples``
    (prompt + completion) beside the sample texts, and register it as custom model ``tiny``."""
    from tests.model.tiny import build_tiny_llama, sample_texts

    texts = sample_texts(80) + [e["prompt"] + e["completion"] for e in examples]
    register_custom(cli, "tiny", build_tiny_llama(where, texts, positions=256))
