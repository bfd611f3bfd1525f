"""Inference logs: every prompt a tenant's model answered, with its output, as the tenant's data.

``model generate`` and every evaluation append their prompts and outputs here. A log is a JSONL
file per day and classification below the tenant's data root (:mod:`shifty_ent.model.storage`),
registered as a data asset of type ``inference_log``: it is classified (the strictest of the
model's and the input's classification), falls under the retention policy of that
classification, shows in the ``data_inventory`` report, and is erased with a certificate like any
other asset. A day's file that is being erased (or was) is never appended to: the next entries go
to a new file and asset.

Evaluations call :func:`record_evaluation` (one line in their service).
"""

from __future__ import annotations

import json
import os
import uuid
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from shifty_ent.core.context import Context
from shifty_ent.core.errors import Conflict
from shifty_ent.data import api as data_api
from shifty_ent.model.storage import inference_log_dir
from shifty_ent.model.tables import ModelVersion

ASSET_TYPE = "inference_log"


def version_classification(ctx: Context, version: ModelVersion) -> str:
    """A model's own classification: its checkpoint asset's, else ``internal``."""
    if version.asset_id is None:
        return "internal"
    return data_api.get_asset(ctx, str(version.asset_id)).classification


def _log_file(ctx: Context, classification: str) -> tuple[Path, data_api.AssetView | None]:
    """Today's file for ``classification`` and its live asset (None: register it)."""
    day = ctx.now().date().isoformat()
    folder = inference_log_dir(ctx) / classification
    for n in range(1, 1000):
        path = folder / (f"{day}.jsonl" if n == 1 else f"{day}-{n}.jsonl")
        asset = data_api.live_asset_at(ctx, str(path))
        if asset is not None:
            if asset.active:
                return path, asset
            continue  # being erased: never write under an erasure
        if not path.exists():
            return path, None
    raise Conflict(f"{folder} holds 999 inference logs of {day} being erased; try tomorrow")


def record(
    ctx: Context,
    version: ModelVersion,
    entries: Sequence[tuple[str, str]],
    *,
    source: str,
    classification: str | None = None,
    details: dict[str, Any] | None = None,
) -> data_api.AssetView | None:
    """Append ``(prompt, output)`` pairs to the tenant's log; returns its asset."""
    if not entries:
        return None
    level = data_api.strictest_classification(
        version_classification(ctx, version), classification or "internal"
    )
    path, asset = _log_file(ctx, level)
    path.parent.mkdir(parents=True, exist_ok=True)
    at = ctx.now().isoformat()
    lines = [
        json.dumps(
            {
                "at": at,
                "actor": ctx.actor,
                "model": version.ref,
                "version_id": str(version.id),
                "source": source,
                **(details or {}),
                "prompt": prompt,
                "output": output,
            },
            ensure_ascii=True,
        )
        + "\n"
        for prompt, output in entries
    ]
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_APPEND | os.O_NOFOLLOW, 0o600)
    try:
        for line in lines:
            os.write(fd, line.encode("ascii"))
        os.fsync(fd)
    finally:
        os.close(fd)
    if asset is None:
        asset = data_api.register_asset(
            ctx,
            name=f"inference-log/{level}/{path.stem}",
            type=ASSET_TYPE,
            classification=level,
            location=str(path),
        )
    ctx.audit(
        "model.inference.log",
        target_type="asset",
        target_id=asset.id,
        details={"model": version.ref, "source": source, "entries": len(entries)},
    )
    return asset


def record_evaluation(
    ctx: Context,
    version: ModelVersion,
    dataset: data_api.AssetView,
    prompts: Sequence[str],
    outputs: Sequence[str],
    evaluation_id: uuid.UUID,
) -> None:
    """An evaluation's prompts and outputs, classified at least like its dataset."""
    record(
        ctx,
        version,
        list(zip(prompts, outputs, strict=True)),
        source="evaluation",
        classification=dataset.classification,
        details={"evaluation_id": str(evaluation_id), "dataset_id": str(dataset.id)},
    )
