"""Training jobs: a queue in the store that any number of hosts drain with ``train run``.

- ``start_job`` validates that the base version and the dataset asset belong to the tenant and
  that the dataset reads as examples (``model/examples.py``); the job keeps the prompt template
  (the base's, else the default) that training renders with and the new version stores.
- ``claim`` moves a job from ``queued`` to ``running`` with a conditional UPDATE (checked by
  rowcount); ``train run --next`` picks the oldest queued job with ``FOR UPDATE SKIP LOCKED`` on
  PostgreSQL, so concurrent workers never take the same job.
- ``run_job`` commits after every recorded step (SQLite holds its write lock per transaction),
  re-reads ``cancel_requested`` at each step, and ends the job as succeeded (the adapter becomes a
  new ``custom`` version with lineage and metrics), failed (with its error) or cancelled.
"""

from __future__ import annotations

import os
import socket
import uuid
from collections.abc import Callable
from pathlib import Path
from typing import Any

from sqlalchemy import select, update
from sqlmodel import col

from shifty_ent.arcade import api as arcade_api
from shifty_ent.core import interrupts
from shifty_ent.core.authz import authorize
from shifty_ent.core.context import Context
from shifty_ent.core.errors import Conflict, Interrupted, InvalidInput, NotFound, ShiftyError
from shifty_ent.core.ids import resolve as resolve_ref
from shifty_ent.model import examples, permissions, storage
from shifty_ent.model.tables import (
    FINISHED_JOB_STATES,
    JOB_STATES,
    ModelVersion,
    TrainingJob,
    TrainingPoint,
)
from shifty_ent.model.versions import add_version, get_version, validate_model_name

TRAINABLE_SOURCES = ("custom", "huggingface")


def _job(ctx: Context, ref: str) -> TrainingJob:
    return resolve_ref(
        ctx.session, TrainingJob, ref, what="training job", tenant_id=ctx.tenant_id, name_attr=None
    )


def start_job(
    ctx: Context,
    *,
    base: str,
    dataset: str,
    learning_rate: float = 2e-4,
    batch_size: int = 4,
    epochs: float = 1.0,
    max_steps: int | None = None,
    method: str = "lora",
    lora_r: int = 8,
    max_length: int = 128,
    output_name: str | None = None,
) -> TrainingJob:
    """Queue a fine-tune (operator or admin); both inputs must belong to the tenant."""
    authorize(ctx, permissions.TRAIN)
    if not 0 < learning_rate <= 1:
        raise InvalidInput("--learning-rate must be in (0, 1]")
    if not 1 <= batch_size <= 4096:
        raise InvalidInput("--batch-size must be between 1 and 4096")
    if not 0 < epochs <= 1000:
        raise InvalidInput("--epochs must be in (0, 1000]")
    if max_steps is not None and max_steps < 1:
        raise InvalidInput("--max-steps must be at least 1")
    if method not in ("lora", "full"):
        raise InvalidInput("method must be lora or full")
    if not 1 <= lora_r <= 256:
        raise InvalidInput("--lora-r must be between 1 and 256")
    if not 8 <= max_length <= 32768:
        raise InvalidInput("--max-length must be between 8 and 32768")
    base_version = get_version(ctx, base)
    if base_version.source not in TRAINABLE_SOURCES:
        raise InvalidInput(
            f"{base_version.ref} is a {base_version.source} model; fine-tuning needs a "
            "custom or huggingface checkpoint"
        )
    ds = examples.open_dataset(ctx, dataset)
    template = arcade_api.validate_template(
        base_version.prompt_template or arcade_api.DEFAULT_TEMPLATE
    )
    examples.training_examples(ds, template)  # a dataset no run could read is refused now
    asset = ds.asset
    if output_name is not None:
        output_name = validate_model_name(output_name)
    hp = {
        "learning_rate": learning_rate,
        "batch_size": batch_size,
        "epochs": epochs,
        "max_steps": max_steps,
        "method": method,
        "lora_r": lora_r,
        "max_length": max_length,
        "output_name": output_name or base_version.name,
        "prompt_template": template,
    }
    job = TrainingJob(
        tenant_id=ctx.tenant_id,
        base_model_id=base_version.id,
        dataset_id=asset.id,
        method=method,
        hyperparameters=hp,
        created_at=ctx.now(),
        created_by=ctx.actor,
    )
    ctx.session.add(job)
    ctx.session.flush()
    ctx.audit(
        "model.train.start",
        target_type="training_job",
        target_id=job.id,
        details={"base": base_version.ref, "dataset_id": str(asset.id), "hyperparameters": hp},
    )
    return job


def worker_name() -> str:
    return f"{socket.gethostname()}:{os.getpid()}"


def claim(ctx: Context, job_id: uuid.UUID, worker: str) -> bool:
    """``queued`` -> ``running`` for exactly one caller."""
    result = ctx.session.execute(
        update(TrainingJob)
        .where(
            col(TrainingJob.id) == job_id,
            col(TrainingJob.tenant_id) == ctx.tenant_id,
            col(TrainingJob.status) == "queued",
        )
        .values(status="running", claimed_by=worker, started_at=ctx.now())
    )
    return result.rowcount == 1  # type: ignore[attr-defined]  # DML returns a CursorResult


def claim_next(ctx: Context, worker: str) -> TrainingJob:
    """The oldest queued job of the tenant, claimed (SKIP LOCKED on PostgreSQL)."""
    stmt = (
        select(col(TrainingJob.id))
        .where(col(TrainingJob.tenant_id) == ctx.tenant_id, col(TrainingJob.status) == "queued")
        .order_by(col(TrainingJob.created_at), col(TrainingJob.id))
        .limit(5)
    )
    if ctx.dialect == "postgresql":
        stmt = stmt.with_for_update(skip_locked=True)
    for job_id in ctx.session.scalars(stmt).all():
        if claim(ctx, job_id, worker):
            return ctx.session.get(TrainingJob, job_id)  # type: ignore[return-value]  # just claimed: the row exists
    raise NotFound("no queued training job to run")


def base_dir(ctx: Context, version: ModelVersion) -> Path:
    """Local directory of a base version, checked against its pin (downloaded for HF)."""
    if version.source == "custom":
        from shifty_ent.model.sources import custom

        return custom.verify(version.source_id, version.pinned_revision or "")
    if version.source == "huggingface":
        from shifty_ent.model.sources import huggingface

        cache = ctx.settings.data_dir / "hf-cache"
        return huggingface.download(
            ctx.settings, version.source_id, version.pinned_revision or "", cache
        )
    raise InvalidInput(f"{version.ref} ({version.source}) cannot be loaded locally")


def adapter_base(ctx: Context, version: ModelVersion) -> tuple[Path, Path | None]:
    """(base dir, adapter dir or None) to load a version for inference."""
    base_id = (version.lineage or {}).get("adapter_of")
    if base_id:
        base = ctx.session.get(ModelVersion, uuid.UUID(base_id))
        if base is None or base.tenant_id != ctx.tenant_id:
            raise NotFound(f"base model of adapter {version.ref} is gone")
        return base_dir(ctx, base), base_dir(ctx, version)
    return base_dir(ctx, version), None


def _finish(ctx: Context, job: TrainingJob, status: str, **values: Any) -> None:
    ctx.session.execute(
        update(TrainingJob)
        .where(col(TrainingJob.id) == job.id, col(TrainingJob.status) == "running")
        .values(status=status, finished_at=ctx.now(), **values)
    )
    details: dict[str, Any] = {k: v for k, v in values.items() if k in ("error", "metrics")}
    if values.get("output_version_id"):
        details["output_version_id"] = str(values["output_version_id"])
    ctx.audit(
        f"model.train.{status}", target_type="training_job", target_id=job.id, details=details
    )
    ctx.session.commit()
    ctx.session.refresh(job)


def run_job(
    ctx: Context,
    ref: str | None,
    *,
    threads: int | None = None,
    progress: Callable[[dict[str, Any]], None] | None = None,
    worker: str | None = None,
) -> TrainingJob:
    """Claim the job and fine-tune here (operator or admin). See the module docstring."""
    from shifty_ent.model import finetune

    authorize(ctx, permissions.TRAIN)
    ctx.session.commit()  # importing torch takes seconds: hold no write lock meanwhile
    finetune.require_training_extra()
    worker = worker or worker_name()
    if ref is None:
        job = claim_next(ctx, worker)
    else:
        job = _job(ctx, ref)
        if not claim(ctx, job.id, worker):
            ctx.session.refresh(job)
            who = f" by {job.claimed_by}" if job.claimed_by else ""
            raise Conflict(f"training job {job.id} is {job.status}{who}; only queued jobs run")
    ctx.audit(
        "model.train.claim",
        target_type="training_job",
        target_id=job.id,
        details={"worker": worker},
    )
    ctx.session.commit()
    ctx.session.refresh(job)
    hp = finetune.Hyperparameters.from_dict(job.hyperparameters)
    state: dict[str, Any] = {"cancelled_by": None}

    def on_step(point: dict[str, Any]) -> bool:
        with interrupts.deferred():  # a Ctrl-C here would strand the write lock
            ctx.session.add(
                TrainingPoint(
                    tenant_id=job.tenant_id,
                    job_id=job.id,
                    step=point["step"],
                    epoch=point["epoch"],
                    loss=point["loss"],
                    learning_rate=point["learning_rate"],
                    at=ctx.now(),
                )
            )
            ctx.session.execute(
                update(TrainingJob).where(col(TrainingJob.id) == job.id).values(progress=point)
            )
            flag = ctx.session.execute(
                select(
                    col(TrainingJob.cancel_requested), col(TrainingJob.cancel_requested_by)
                ).where(col(TrainingJob.id) == job.id)
            ).first()
            ctx.session.commit()
        if progress is not None:
            progress(point)
        if flag is not None and flag[0]:
            state["cancelled_by"] = flag[1] or "someone"
            return False
        return True

    try:
        base = ctx.session.get(ModelVersion, job.base_model_id)
        if base is None:
            raise NotFound("base model version is gone")
        ds = examples.open_dataset(ctx, str(job.dataset_id))
        template = job.hyperparameters.get("prompt_template") or arcade_api.DEFAULT_TEMPLATE
        base_path = base_dir(ctx, base)
        texts = examples.training_examples(ds, template)
        ctx.session.commit()
        out_dir = storage.job_output_dir(ctx, job.id)  # below the tenant's data root
        result = finetune.finetune(base_path, texts, out_dir, hp, on_step, threads=threads)
    except KeyboardInterrupt:
        ctx.session.rollback()
        _finish(ctx, job, "cancelled", error="interrupted (Ctrl-C) on " + worker)
        raise Interrupted(f"training job {job.id} interrupted; marked cancelled") from None
    except ShiftyError as exc:
        ctx.session.rollback()
        _finish(ctx, job, "failed", error=exc.message)
        raise
    except Exception as exc:  # a crash in torch/transformers: record it, then report it
        ctx.session.rollback()
        line = (str(exc).strip().splitlines() or [type(exc).__name__])[0]
        _finish(ctx, job, "failed", error=f"{type(exc).__name__}: {line}")
        raise ShiftyError(f"training job {job.id} failed: {type(exc).__name__}: {line}") from exc
    if result.stopped:
        _finish(
            ctx,
            job,
            "cancelled",
            error=f"cancelled by {state['cancelled_by']} at step {result.steps}",
            metrics=result.metrics(),
        )
        raise Conflict(
            f"training job {job.id} was cancelled by {state['cancelled_by']} at step {result.steps}"
        )
    _refuse_unless_running(ctx, job)
    try:
        version = _register_output(ctx, job, base, ds, template, out_dir, hp, result)
    except ShiftyError as exc:
        ctx.session.rollback()
        _finish(ctx, job, "failed", error=f"registering the result failed: {exc.message}")
        raise
    _succeed(ctx, job, version, out_dir, result.metrics())
    return job


def _refuse_unless_running(ctx: Context, job: TrainingJob) -> None:
    """Before registering a result: a job cancelled or ended elsewhere meanwhile keeps its end."""
    still = ctx.session.scalar(select(col(TrainingJob.status)).where(col(TrainingJob.id) == job.id))
    if still != "running":
        raise Conflict(f"training job {job.id} was {still} while it ran; result not registered")


def _succeed(
    ctx: Context, job: TrainingJob, version: ModelVersion, out_dir: Path, metrics: dict[str, Any]
) -> None:
    """End the job as succeeded with the version registered from ``out_dir``."""
    _finish(
        ctx,
        job,
        "succeeded",
        metrics=metrics,
        output_version_id=version.id,
        output_dir=str(out_dir),
    )


def _register_output(
    ctx: Context,
    job: TrainingJob,
    base: ModelVersion,
    ds: examples.DatasetFile,
    template: str,
    out_dir: Path,
    hp: Any,
    result: Any,
) -> ModelVersion:
    """The trained adapter (or weights) as a new custom version with lineage, metrics and the
    prompt template it learnt (evaluation renders its prompts with it)."""
    from shifty_ent.model.sources import custom

    asset = ds.asset
    pin = custom.resolve(str(out_dir))
    lineage = {
        "training_job_id": str(job.id),
        "base_model_id": str(base.id),
        "base_model": base.ref,
        "base_source": f"{base.source}:{base.source_id}@{base.pinned_revision}",
        "dataset_id": str(asset.id),
        "dataset_name": asset.name,
        "dataset_sha256": asset.sha256,
        "dataset_file": str(ds.path),
        "dataset_file_sha256": ds.sha256,
        "method": hp.method,
        "hyperparameters": dict(job.hyperparameters),
    }
    if hp.method == "lora":
        lineage["adapter_of"] = str(base.id)
    version = add_version(
        ctx,
        name=job.hyperparameters.get("output_name") or base.name,
        pin=pin,
        generation_config=dict(base.generation_config or {}),
        lineage=lineage,
        metrics=result.metrics(),
        classification=asset.classification,
    )
    version.prompt_template = template
    ctx.session.flush()
    return version


def _transition(ctx: Context, job: TrainingJob, status: str, *, ended: str | None) -> bool:
    """Mark the job cancel-requested if it is still in ``status`` (one conditional UPDATE, so
    two cancels or a cancel and a claim never both win); with ``ended`` it is cancelled now,
    with that error. Returns whether the row was in ``status``."""
    values: dict[str, Any] = {"cancel_requested": True, "cancel_requested_by": ctx.actor}
    if ended is not None:
        values.update(status="cancelled", finished_at=ctx.now(), error=ended)
    result = ctx.session.execute(
        update(TrainingJob)
        .where(col(TrainingJob.id) == job.id, col(TrainingJob.status) == status)
        .values(**values)
    )
    return bool(result.rowcount)  # type: ignore[attr-defined]  # DML returns a CursorResult


def cancel_job(ctx: Context, ref: str, *, force: bool = False) -> TrainingJob:
    """A queued job is cancelled now; a running one is asked to stop at its next step."""
    authorize(ctx, permissions.TRAIN_CANCEL)
    job = _job(ctx, ref)
    if job.status in FINISHED_JOB_STATES:
        raise Conflict(f"training job {job.id} already {job.status}")
    now_cancelled = _transition(ctx, job, "queued", ended=f"cancelled by {ctx.actor} before it ran")
    if not now_cancelled:
        if force:
            # the worker is gone (killed host): end the job now; a live worker would still see
            # cancel_requested at its next step and stop without registering anything
            authorize(ctx, permissions.TRAIN_FORCE_CANCEL)
        ended = (
            f"force-cancelled by {ctx.actor} (worker {job.claimed_by} presumed gone)"
            if force
            else None
        )
        if not _transition(ctx, job, "running", ended=ended):
            ctx.session.refresh(job)
            raise Conflict(f"training job {job.id} already {job.status}")
    ctx.audit(
        "model.train.cancel",
        target_type="training_job",
        target_id=job.id,
        details={"was": "queued" if now_cancelled else "running", "force": force},
    )
    ctx.session.flush()
    ctx.session.refresh(job)
    return job


def list_jobs(ctx: Context, *, status: str | None = None, limit: int = 100) -> list[TrainingJob]:
    authorize(ctx, permissions.TRAIN_READ)
    stmt = select(TrainingJob).where(col(TrainingJob.tenant_id) == ctx.tenant_id)
    if status is not None:
        if status not in JOB_STATES:
            raise InvalidInput(f"--status must be one of {', '.join(JOB_STATES)}")
        stmt = stmt.where(col(TrainingJob.status) == status)
    return list(
        ctx.session.scalars(stmt.order_by(col(TrainingJob.created_at).desc()).limit(limit)).all()
    )


def show_job(ctx: Context, ref: str) -> dict[str, Any]:
    authorize(ctx, permissions.TRAIN_READ)
    job = _job(ctx, ref)
    points = ctx.session.scalars(
        select(TrainingPoint)
        .where(col(TrainingPoint.tenant_id) == ctx.tenant_id, col(TrainingPoint.job_id) == job.id)
        .order_by(col(TrainingPoint.step))
    ).all()
    row = job.public()
    row["points"] = [p.public() for p in points]
    return row
