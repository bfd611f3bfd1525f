"""``model`` group: register and pin models, versions and aliases, deployment, fine-tuning jobs,
evaluations and promotion. Parsing and rendering only; the rules live in the service modules."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager
from enum import StrEnum
from typing import Annotated, Any

import typer

from shifty_ent.core.choices import CLASSIFICATIONS, GPU_TYPES, Values
from shifty_ent.core.options import LimitOpt
from shifty_ent.core.runtime import command, emit, info, make_app, show_progress

app = make_app("Model registry: versions, aliases, deployment, training jobs, evaluations.")
alias_app = make_app("Aliases (champion, production, ...) and their history.")
approval_app = make_app("Approval missions that gate promotion.")
train_app = make_app("Fine-tuning jobs (a shared work queue; 'run' needs the extra 'train').")
eval_app = make_app("Evaluations: recorded, computed on labelled data, or by human review.")
app.add_typer(alias_app, name="alias")
app.add_typer(approval_app, name="approval")
app.add_typer(train_app, name="train")
app.add_typer(eval_app, name="eval")


# model/tables.py JOB_STATES, repeated so help needs no database import
TRAIN_STATES = ("queued", "running", "succeeded", "failed", "cancelled")


class Source(StrEnum):
    huggingface = "huggingface"
    ollama = "ollama"
    custom = "custom"
    s3 = "s3"


class EvalType(StrEnum):
    automated = "automated"
    human = "human"


VersionArg = Annotated[
    str,
    typer.Argument(
        metavar="MODEL", help="NAME (latest), NAME:N, NAME@ALIAS, or a version id / prefix."
    ),
]
NameArg = Annotated[str, typer.Argument(metavar="NAME", help="Registered model name.")]
JobArg = Annotated[str, typer.Argument(metavar="JOB", help="Training job id or unique prefix.")]
DatasetOpt = Annotated[
    str,
    typer.Option(
        "--dataset",
        metavar="ASSET",
        help="Dataset asset id, prefix or name: a JSONL file or an arcade dataset (one asset).",
    ),
]
VERSION_COLUMNS = [
    "id",
    "name",
    "version",
    "source",
    "source_id",
    "pinned_revision",
    "aliases",
    "created_at",
    "created_by",
]
JOB_COLUMNS = [
    "id",
    "status",
    "base_model_id",
    "dataset_id",
    "progress",
    "created_by",
    "created_at",
]
DEPLOYMENT_COLUMNS = [
    "id",
    "model",
    "instance_id",
    "replicas",
    "endpoint_url",
    "status",
    "health",
    "created_at",
]
EVAL_COLUMNS = [
    "id",
    "type",
    "method",
    "evidence",
    "status",
    "metrics",
    "created_by",
    "created_at",
]


def _stderr_console() -> Any:
    """Bars go to stderr, so they show on a terminal while stdout is piped (and never mix in)."""
    import sys

    from rich.console import Console

    return Console(file=sys.stderr)


@contextmanager
def _bar(label: str) -> Iterator[Callable[..., None] | None]:
    """A rich progress bar on a terminal (None when piped or quiet)."""
    if not show_progress():
        yield None
        return
    from rich.progress import BarColumn, DownloadColumn, Progress, TextColumn

    with Progress(
        TextColumn("{task.description}"),
        BarColumn(),
        DownloadColumn(),
        transient=True,
        console=_stderr_console(),
    ) as bar:
        task = bar.add_task(label, total=None)

        def update(status: str, completed: int | None, total: int | None) -> None:
            bar.update(task, description=f"{label}: {status}", completed=completed, total=total)

        yield update


# ------------------------------------------------------------------------------ registry


@app.command("register")
def register(
    name: NameArg,
    source: Annotated[
        Source, typer.Option("--source", case_sensitive=False, help="Where the model lives.")
    ],
    source_id: Annotated[
        str,
        typer.Option(
            "--source-id",
            metavar="ID",
            help="org/name (Hugging Face), name:tag (Ollama), a local path (custom), "
            "s3://bucket/key or s3://bucket/prefix/ (S3).",
        ),
    ],
    revision: Annotated[
        str | None,
        typer.Option("--revision", metavar="REV", help="HF branch/tag/sha, or S3 version id."),
    ] = None,
    temperature: Annotated[
        float | None, typer.Option("--temperature", metavar="F", help="Generation temperature.")
    ] = None,
    max_tokens: Annotated[
        int | None, typer.Option("--max-tokens", metavar="N", help="Generation token limit.")
    ] = None,
    config: Annotated[
        list[str] | None,
        typer.Option("--config", metavar="KEY=VALUE", help="More generation settings (JSON ok)."),
    ] = None,
    description: Annotated[
        str | None, typer.Option("--description", help="What this model is for.")
    ] = None,
    classification: Annotated[
        str,
        typer.Option(
            "--classification",
            parser=Values(CLASSIFICATIONS),
            help="Classification of a custom checkpoint's asset.",
        ),
    ] = "internal",
    pull: Annotated[
        bool, typer.Option("--pull", help="Ollama: pull the model first (streams progress).")
    ] = False,
) -> None:
    """Pin a source and store it as the next version of NAME. Role: operator or admin."""
    from shifty_ent.model.versions import register

    with command() as ctx, _bar(f"pulling {source_id}") as progress:
        version = register(
            ctx,
            name=name,
            source=source.value,
            source_id=source_id,
            revision=revision,
            temperature=temperature,
            max_tokens=max_tokens,
            config=config or [],
            description=description,
            classification=classification,
            pull=pull,
            progress=progress,
        )
        row = version.public()
    info(f"registered {version.ref} pinned at {version.pinned_revision}")
    emit(row)


@app.command("list")
def list_cmd(
    name: Annotated[str | None, typer.Option("--name", help="Only this model.")] = None,
    source: Annotated[
        Source | None, typer.Option("--source", case_sensitive=False, help="Only this source.")
    ] = None,
    alias: Annotated[
        str | None, typer.Option("--alias", help="Only versions holding this alias.")
    ] = None,
    latest: Annotated[bool, typer.Option("--latest", help="Only each model's newest.")] = False,
    limit: Annotated[
        int | None, typer.Option("--limit", min=1, help="At most this many rows.")
    ] = None,
) -> None:
    """List model versions with their pins and aliases. Role: any."""
    from shifty_ent.model.listing import list_versions

    with command() as ctx:
        rows = list_versions(
            ctx,
            name=name,
            source=source.value if source else None,
            alias=alias,
            latest_only=latest,
            limit=limit,
        )
    emit(rows, columns=VERSION_COLUMNS)


@app.command("show")
def show(ref: VersionArg) -> None:
    """Show one version: pin, files, license, generation config, lineage, metrics. Role: any."""
    from shifty_ent.model.versions import show_version

    with command() as ctx:
        row = show_version(ctx, ref)
    emit(row)


@app.command("versions")
def versions(name: NameArg) -> None:
    """Every version of NAME with its source pin and lineage. Role: any."""
    from shifty_ent.model.versions import model_versions

    with command() as ctx:
        rows = model_versions(ctx, name)
    emit(
        rows,
        columns=["id", "version", "source", "source_id", "pinned_revision", "aliases", "lineage"],
    )


@alias_app.command("set")
def alias_set(
    name: NameArg,
    alias: Annotated[str, typer.Argument(metavar="ALIAS")],
    version: Annotated[str, typer.Argument(metavar="VERSION", help="Version number or id.")],
) -> None:
    """Point ALIAS of NAME at VERSION; protected aliases (production) are refused: use
    'promote'. Role: operator or admin."""
    from shifty_ent.model.aliases import set_alias

    with command() as ctx:
        event = set_alias(ctx, name, alias, version)
        row = event.public()
    emit(row)


@alias_app.command("list")
def alias_list(name: NameArg) -> None:
    """Aliases of NAME: the version each points at, whether it is protected, its gates.
    Role: any."""
    from shifty_ent.model.aliases import list_aliases

    with command() as ctx:
        rows = list_aliases(ctx, name)
    emit(rows, columns=["alias", "version", "protected", "gates", "updated_by", "updated_at"])


def _protect(name: str, alias: str, protected: bool) -> None:
    from shifty_ent.model.aliases import protect

    with command() as ctx:
        row = protect(ctx, name, alias, protected=protected)
    emit(row)


@alias_app.command("protect")
def alias_protect(name: NameArg, alias: Annotated[str, typer.Argument(metavar="ALIAS")]) -> None:
    """Protect ALIAS: it then moves only through 'promote' (an approval) or 'rollback' (to an
    approved version). 'production' is protected by default. Role: admin."""
    _protect(name, alias, True)


@alias_app.command("unprotect")
def alias_unprotect(name: NameArg, alias: Annotated[str, typer.Argument(metavar="ALIAS")]) -> None:
    """Lift ALIAS' protection: 'alias set' may move it again. Role: admin."""
    _protect(name, alias, False)


@alias_app.command("gate")
def alias_gate(
    name: NameArg,
    alias: Annotated[str, typer.Argument(metavar="ALIAS")],
    require: Annotated[
        list[str] | None,
        typer.Option(
            "--require",
            metavar="METRIC>=VALUE",
            help="A floor (or ceiling) a measured evaluation must meet. Repeat.",
        ),
    ] = None,
    dataset: Annotated[
        str | None,
        typer.Option("--dataset", metavar="ASSET", help="The evaluation dataset the gates read."),
    ] = None,
    clear: Annotated[
        bool, typer.Option("--clear", help="Drop the gates (on --dataset, or all).")
    ] = False,
) -> None:
    """Gate ALIAS: 'promote' (and 'alias set') checks each --require against the version's
    newest measured evaluation on --dataset (claimed 'eval record' results never count).
    Replaces the gates on that dataset. Role: admin."""
    from shifty_ent.model.aliases import set_gates

    with command() as ctx:
        row = set_gates(ctx, name, alias, requires=require or [], dataset=dataset, clear=clear)
    emit(row)


@alias_app.command("history")
def alias_history(
    name: NameArg,
    alias: Annotated[str | None, typer.Argument(metavar="[ALIAS]")] = None,
) -> None:
    """Who moved which alias of NAME, when and why. Role: any."""
    from shifty_ent.model.aliases import alias_history

    with command() as ctx:
        rows = [e.public() for e in alias_history(ctx, name, alias)]
    emit(
        rows,
        columns=["seq", "alias", "action", "from_version", "to_version", "actor", "reason", "at"],
    )


def rollback(
    name: NameArg,
    reason: Annotated[
        str | None, typer.Option("--reason", help="Why (recorded with who and when).")
    ] = None,
    to: Annotated[
        int | None, typer.Option("--to", metavar="VERSION", help="Default: the previous one.")
    ] = None,
    alias: Annotated[str, typer.Option("--alias", help="Alias to move back.")] = "production",
) -> None:
    """Move the production alias back to the previous (or a given) version. Role: operator/admin."""
    from shifty_ent.model.aliases import rollback

    with command() as ctx:
        event = rollback(ctx, name, reason=reason, to=to, alias=alias)
        row = event.public()
    info(f"{name}@{row['alias']}: version {row['from_version']} -> {row['to_version']}")
    emit(row)


# the contract (docs/cli-contract.md) spells it `model alias rollback`; `model rollback` stays
alias_app.command("rollback")(rollback)
app.command("rollback")(rollback)


@app.command("promote")
def promote(
    ref: VersionArg,
    alias: Annotated[str, typer.Option("--alias", help="Alias to set (e.g. production).")],
    override: Annotated[
        bool, typer.Option("--override", help="Admin only: promote without an approval.")
    ] = False,
    reason: Annotated[
        str | None, typer.Option("--reason", help="Why (needed with --override).")
    ] = None,
) -> None:
    """Set ALIAS once an approve_deployment mission approved the version for ALIAS and its gates
    are met by measured evaluations; not by the approval's requester. Role: operator/admin
    (admin for --override, which stands in for the approval only)."""
    from shifty_ent.model.promotion import promote

    with command() as ctx:
        event = promote(ctx, ref, alias, override=override, reason=reason)
        row = event.public()
    emit(row)


@approval_app.command("request")
def approval_request(
    ref: VersionArg,
    alias: Annotated[
        str, typer.Option("--alias", help="Alias the approval is for.")
    ] = "production",
) -> None:
    """Open an approve_deployment mission for a version; someone other than you answers it.
    Role: operator or admin."""
    from shifty_ent.model.promotion import request_approval

    with command() as ctx:
        row = request_approval(ctx, ref, alias=alias).public()
    emit(row)


# ------------------------------------------------------------------------------ deployment


class Server(StrEnum):
    vllm = "vllm"
    ollama = "ollama"


@app.command("deploy")
def deploy(
    ref: VersionArg,
    instance: Annotated[
        list[str] | None,
        typer.Option("--instance", metavar="I", help="Reuse this instance (repeat per replica)."),
    ] = None,
    replicas: Annotated[
        int, typer.Option("--replicas", min=1, max=64, help="Instances to serve on.")
    ] = 1,
    gpu_type: Annotated[
        str | None,
        typer.Option(
            "--gpu-type",
            parser=Values(GPU_TYPES),
            help="Rent new instances of this type.",
        ),
    ] = None,
    max_price: Annotated[
        str | None, typer.Option("--max-price", metavar="USD", help="Hourly cap when renting.")
    ] = None,
    server: Annotated[
        Server | None,
        typer.Option("--server", case_sensitive=False, help="Adapter: vllm (default) or ollama."),
    ] = None,
    timeout: Annotated[
        float, typer.Option("--timeout", metavar="S", help="Wait this long for each instance.")
    ] = 900.0,
    poll_interval: Annotated[
        float, typer.Option("--poll-interval", metavar="S", help="Seconds between polls.")
    ] = 10.0,
) -> None:
    """Serve a version on instances of the tenant (one per replica; a fine-tuned adapter is sent
    to each) and health-check each one. Role: operator/admin."""
    from shifty_ent.model import deploy as service

    with command() as ctx:
        row = service.deploy(
            ctx,
            ref,
            instances=instance or [],
            replicas=replicas,
            gpu_type=gpu_type,
            max_price=max_price,
            server=server.value if server else None,
            timeout=timeout,
            poll_interval=poll_interval,
        )
    emit(row)


@app.command("undeploy")
def undeploy(
    deployment: Annotated[str, typer.Argument(metavar="D", help="Deployment id or prefix.")],
) -> None:
    """Stop serving a deployment (the instance stays; see gpu terminate). Role: operator/admin."""
    from shifty_ent.model import deploy as service

    with command() as ctx:
        row = service.undeploy(ctx, deployment)
    emit(row)


@app.command("deployments")
def deployments(
    all_: Annotated[bool, typer.Option("--all", help="Include stopped deployments.")] = False,
    check: Annotated[bool, typer.Option("--check", help="Health-check each one now.")] = False,
) -> None:
    """List deployments with their health. Role: operator, admin or auditor (--check: operator
    or admin)."""
    from shifty_ent.model import deploy as service

    with command(readonly=False) as ctx:  # records health, and deployments whose instances went
        rows = service.list_deployments(ctx, include_stopped=all_, check=check)
    emit(rows, columns=DEPLOYMENT_COLUMNS)


@app.command("generate")
def generate(
    ref: VersionArg,
    prompt: Annotated[
        list[str] | None, typer.Option("--prompt", metavar="TEXT", help="A prompt (repeat).")
    ] = None,
    input_: Annotated[
        str | None,
        typer.Option(
            "--input", metavar="FILE", help="Prompts, one a line (JSONL: 'prompt' or 'text')."
        ),
    ] = None,
    max_tokens: Annotated[
        int | None, typer.Option("--max-tokens", metavar="N", help="Tokens to generate.")
    ] = None,
    classification: Annotated[
        str | None,
        typer.Option(
            "--classification",
            parser=Values(CLASSIFICATIONS),
            help="How sensitive the prompts are (for the log).",
        ),
    ] = None,
) -> None:
    """Answer prompts with a version: on its running deployment, else on Ollama or locally (the
    'train' extra). Prompts and outputs go to the tenant's inference log. Role: operator/admin."""
    from shifty_ent.model import generate as service

    with command() as ctx:
        rows = service.generate(
            ctx,
            ref,
            prompt or [],
            input_path=input_,
            max_tokens=max_tokens,
            classification=classification,
        )
    emit(rows, columns=["prompt", "output", "via"])


# ------------------------------------------------------------------------------ training


@train_app.command("start")
def train_start(
    base: Annotated[str, typer.Option("--base", metavar="M", help="Base model version.")],
    dataset: DatasetOpt,
    learning_rate: Annotated[float, typer.Option("--learning-rate", help="Peak LR.")] = 2e-4,
    batch_size: Annotated[int, typer.Option("--batch-size", help="Examples per step.")] = 4,
    epochs: Annotated[float, typer.Option("--epochs", help="Passes over the dataset.")] = 1.0,
    max_steps: Annotated[
        int | None, typer.Option("--max-steps", help="Stop after N steps (overrides epochs).")
    ] = None,
    full: Annotated[bool, typer.Option("--full", help="Full fine-tune instead of LoRA.")] = False,
    lora_r: Annotated[int, typer.Option("--lora-r", help="LoRA rank.")] = 8,
    max_length: Annotated[int, typer.Option("--max-length", help="Tokens per example.")] = 128,
    output_name: Annotated[
        str | None, typer.Option("--output-name", help="Register the result under this NAME.")
    ] = None,
    on_gpu: Annotated[
        bool,
        typer.Option(
            "--on-gpu", help="Run it now on a GPU instance of the tenant over SSH and follow it."
        ),
    ] = False,
    gpu_type: Annotated[
        str | None, typer.Option("--type", metavar="T", help="--on-gpu: rent this GPU type.")
    ] = None,
    max_price: Annotated[
        str | None,
        typer.Option("--max-price", metavar="USD", help="--on-gpu: hourly cap when renting."),
    ] = None,
    instance: Annotated[
        str | None,
        typer.Option("--instance", metavar="I", help="--on-gpu: run on this instance (kept)."),
    ] = None,
    poll: Annotated[
        float, typer.Option("--poll", metavar="SECONDS", help="--on-gpu: progress poll interval.")
    ] = 5.0,
    threads: Annotated[
        int | None,
        typer.Option("--threads", min=1, help="--on-gpu: CPU threads for torch on the instance."),
    ] = None,
) -> None:
    """Queue a fine-tune of a base version on a dataset asset; with --on-gpu, run it on a rented
    (then terminated) or given GPU instance and follow it. Role: operator or admin.

    Examples:
    shifty-ent -t acme model train start --base llama-1b@prod --dataset churn-labels \\
        --epochs 2
    shifty-ent -t acme model train start --base llama-1b@prod --dataset churn-labels \\
        --on-gpu --type RTX_4090 --max-price 0.60
    """
    from shifty_ent.model import training

    job_args: dict[str, Any] = {
        "base": base,
        "dataset": dataset,
        "learning_rate": learning_rate,
        "batch_size": batch_size,
        "epochs": epochs,
        "max_steps": max_steps,
        "method": "full" if full else "lora",
        "lora_r": lora_r,
        "max_length": max_length,
        "output_name": output_name,
    }
    if on_gpu or instance or gpu_type or max_price or threads:
        from shifty_ent.core.errors import InvalidInput
        from shifty_ent.model.remote import runner

        if not on_gpu:
            raise InvalidInput("--type, --max-price, --instance and --threads go with --on-gpu")
        placement = runner.Placement(gpu_type=gpu_type, max_price=max_price, instance=instance)
        with _step_bar() as progress, command() as ctx:
            job_row = runner.start(
                ctx, placement, poll=poll, threads=threads, progress=progress, **job_args
            )
            row = job_row.public()
        info(f"job {row['id']} {row['status']}")
        emit(row)
        return
    with command() as ctx:
        job = training.start_job(ctx, **job_args)
        row = job.public()
    emit(row)


@contextmanager
def _step_bar() -> Iterator[Callable[[dict[str, Any]], None] | None]:
    """A training progress bar (step of total, loss) on a terminal; None when piped or quiet."""
    if not show_progress():
        yield None
        return
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn

    with Progress(
        TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn(), transient=True
    ) as bar:
        task = bar.add_task("training", total=None)

        def update(point: dict[str, Any]) -> None:
            bar.update(
                task,
                completed=point["step"],
                total=point.get("total_steps"),
                description=f"training loss {point['loss']:.4f}",
            )

        yield update


@train_app.command("attach")
def train_attach(
    job: JobArg,
    poll: Annotated[
        float | None,
        typer.Option("--poll", metavar="SECONDS", help="Progress poll interval (default: as set)."),
    ] = None,
) -> None:
    """Follow a job running on a GPU instance again (after the process following it died), to
    its end: progress, adapter, version, instance terminated. Role: operator or admin."""
    from shifty_ent.model.remote import runner

    with _step_bar() as progress, command() as ctx:
        row = runner.attach(ctx, job, progress=progress, poll=poll).public()
    info(f"job {row['id']} {row['status']}")
    emit(row)


@train_app.command("run")
def train_run(
    job: Annotated[
        str | None, typer.Argument(metavar="[JOB]", help="Job id or prefix (or use --next).")
    ] = None,
    next_: Annotated[
        bool, typer.Option("--next", help="Claim the oldest queued job of the tenant.")
    ] = False,
    threads: Annotated[
        int | None, typer.Option("--threads", min=1, help="CPU threads for torch.")
    ] = None,
) -> None:
    """Claim a queued job and run the fine-tune here. Role: operator or admin."""
    from shifty_ent.core.errors import InvalidInput
    from shifty_ent.model import training

    if (job is None) == (not next_):
        raise InvalidInput("give a JOB or --next (not both)")

    progress_fn = None
    bar_ctx = None
    if show_progress():
        from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn

        bar_ctx = Progress(
            TextColumn("{task.description}"),
            BarColumn(),
            MofNCompleteColumn(),
            transient=True,
            console=_stderr_console(),
        )
        bar_ctx.start()
        task = bar_ctx.add_task("training", total=None)

        def progress_fn(point: dict[str, Any]) -> None:
            bar_ctx.update(
                task,
                completed=point["step"],
                total=point.get("total_steps"),
                description=f"training loss {point['loss']:.4f}",
            )

    try:
        with command() as ctx:
            result = training.run_job(ctx, job, threads=threads, progress=progress_fn)
            row = result.public()
    finally:
        if bar_ctx is not None:
            bar_ctx.stop()
    info(f"job {row['id']} {row['status']}")
    emit(row)


@train_app.command("list")
def train_list(
    status: Annotated[
        str | None,
        typer.Option("--status", parser=Values(TRAIN_STATES), help="Only jobs in this state."),
    ] = None,
    limit: LimitOpt = 100,
) -> None:
    """List training jobs, newest first. Role: operator, admin or auditor."""
    from shifty_ent.model import training

    with command() as ctx:
        rows = [j.public() for j in training.list_jobs(ctx, status=status, limit=limit)]
    emit(rows, columns=JOB_COLUMNS)


@train_app.command("show")
def train_show(job: JobArg) -> None:
    """A job with its loss curve (a chart on a terminal, the points in JSON). Role: operator,
    admin or auditor."""
    from shifty_ent.core.runtime import output_format
    from shifty_ent.model import training
    from shifty_ent.model.loss_chart import loss_chart

    with command() as ctx:
        row = training.show_job(ctx, job)
    if output_format() == "table":
        chart = loss_chart(row["points"])
        row = {k: v for k, v in row.items() if k != "points"}
        emit(row)
        if chart:
            typer.echo(chart)
        return
    emit(row)


@train_app.command("cancel")
def train_cancel(
    job: JobArg,
    force: Annotated[
        bool,
        typer.Option("--force", help="Admin: end a running job whose worker is gone, now."),
    ] = False,
) -> None:
    """Cancel a queued job, or ask a running one to stop at its next step (a job on a GPU
    instance: its remote process is killed). Role: operator/admin (--force: admin)."""
    from shifty_ent.model.remote import runner

    with command() as ctx:
        row = runner.cancel(ctx, job, force=force)
    emit(row)


# ------------------------------------------------------------------------------ evaluation


@eval_app.command("record")
def eval_record(
    ref: VersionArg,
    type_: Annotated[EvalType, typer.Option("--type", case_sensitive=False)],
    metric: Annotated[list[str], typer.Option("--metric", metavar="NAME=VALUE", help="Repeat.")],
    dataset: Annotated[
        str | None, typer.Option("--dataset", metavar="ASSET", help="Data it was measured on.")
    ] = None,
) -> None:
    """Store metrics measured elsewhere, shown as 'claimed' (they never meet a promotion gate).
    Role: operator or admin."""
    from shifty_ent.model import evaluation

    with command() as ctx:
        row = evaluation.record(ctx, ref, type_.value, metric, dataset=dataset).public()
    info("recorded as claimed: shown so to approvers, and never counted by an alias gate")
    emit(row)


@eval_app.command("run")
def eval_run(
    ref: VersionArg,
    dataset: DatasetOpt,
    endpoint: Annotated[
        str | None,
        typer.Option("--endpoint", help="OpenAI-compatible base URL (default: local or Ollama)."),
    ] = None,
    text_field: Annotated[str, typer.Option("--text-field", help="Input field.")] = "text",
    label_field: Annotated[str, typer.Option("--label-field", help="Gold label field.")] = "label",
    labels: Annotated[
        str | None,
        typer.Option(
            "--labels",
            help="Comma-separated labels offered to rows without their own options "
            "(default: every label in the data).",
        ),
    ] = None,
    limit: Annotated[int | None, typer.Option("--limit", min=1, help="Examples to use.")] = None,
) -> None:
    """Run the model on a labelled JSONL dataset; store accuracy, precision, recall, F1 and the
    confusion matrix. Role: operator or admin."""
    from shifty_ent.model import evaluation

    with command() as ctx:
        row = evaluation.run_eval(
            ctx,
            ref,
            dataset,
            endpoint=endpoint,
            text_field=text_field,
            label_field=label_field,
            labels=[x.strip() for x in labels.split(",") if x.strip()] if labels else None,
            limit=limit,
        ).public()
    emit(row)


@eval_app.command("human")
def eval_human(
    ref: VersionArg,
    dataset: DatasetOpt,
    sample: Annotated[int, typer.Option("--sample", min=1, max=1000, help="Outputs to review.")],
    text_field: Annotated[str, typer.Option("--text-field", help="Input field.")] = "text",
    output_field: Annotated[
        str, typer.Option("--output-field", help="Field holding the model output.")
    ] = "output",
    seed: Annotated[int, typer.Option("--seed", help="Sampling seed.")] = 0,
) -> None:
    """Open review_model_output missions for a sample of outputs. Role: operator or admin."""
    from shifty_ent.model import evaluation

    with command() as ctx:
        row = evaluation.human(
            ctx,
            ref,
            dataset,
            sample=sample,
            text_field=text_field,
            output_field=output_field,
            seed=seed,
        ).public()
    emit(row)


@eval_app.command("list")
def eval_list(ref: VersionArg) -> None:
    """Evaluations of a version (human ones aggregate settled missions). Role: operator, admin
    or auditor."""
    from shifty_ent.model import evaluation

    with command(readonly=False) as ctx:  # human evaluations settle as they are listed
        rows = [e.public() for e in evaluation.list_evals(ctx, ref)]
    emit(rows, columns=EVAL_COLUMNS)


@eval_app.command("show")
def eval_show(
    evaluation: Annotated[str, typer.Argument(metavar="EVAL", help="Evaluation id or prefix.")],
) -> None:
    """One evaluation with its metrics and details; 'evidence' says claimed (eval record) or
    measured. Role: operator, admin or auditor."""
    from shifty_ent.model import evaluation as service

    with command() as ctx:
        row = service.show_eval(ctx, evaluation).public()
    emit(row)
