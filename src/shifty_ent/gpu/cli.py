"""Commands of the ``gpu`` group (GPU Provisioner): parse, call one service, render."""

from __future__ import annotations

from typing import Annotated, Any

import typer

from shifty_ent.core.choices import GPU_TYPES, Values
from shifty_ent.core.options import DryRunOpt, EndOpt, LimitOpt, StartOpt, YesOpt
from shifty_ent.core.runtime import command, confirm, emit, info, make_app, show_progress

app = make_app("GPU instances on vast.ai: offers, provisioning, costs, reconcile, autoscale.")
budget_app = make_app("Per-tenant GPU budgets (monthly and hourly, USD).")
autoscale_app = make_app("Autoscale rules: replicas of a model deployment by GPU utilisation.")
app.add_typer(budget_app, name="budget")
app.add_typer(autoscale_app, name="autoscale")

INSTANCE_COLUMNS = (
    "id",
    "status",
    "gpu_type",
    "gpu_count",
    "provider_instance_id",
    "price_per_hour",
    "cost_to_date",
    "model_checkpoint",
    "endpoint_url",
    "created_at",
)

CHARGE_COLUMNS = (
    "instance_id",
    "provider_instance_id",
    "gpu_type",
    "ledger_total",
    "charged_gpu",
    "charged_storage",
    "charged_bandwidth",
    "charged_total",
    "difference",
    "verdict",
)

# gpu/tables.py STATES plus "active", repeated so help needs no database import
INSTANCE_STATES = (
    "active",
    "requested",
    "loading",
    "running",
    "stopped",
    "frozen",
    "exited",
    "offline",
    "unknown",
    "terminating",
    "terminated",
    "disappeared",
    "failed",
)

InstanceArg = Annotated[
    str, typer.Argument(metavar="INSTANCE", help="Instance id, id prefix, vast.ai id or label.")
]
TypeOpt = Annotated[
    str,
    typer.Option("--type", metavar="T", parser=Values(GPU_TYPES), help="GPU model."),
]
CountOpt = Annotated[int, typer.Option("--count", min=1, max=16, help="GPUs per machine.")]
DiskOpt = Annotated[int, typer.Option("--disk", metavar="GB", min=1, help="Container disk (GB).")]
RegionOpt = Annotated[
    str | None,
    typer.Option(
        "--region", metavar="R", help="us-east, us-west, eu, ... or a two-letter country code."
    ),
]


@app.command("types")
def types_cmd() -> None:
    """GPU types and the vast.ai names and memory filters each matches. No role needed."""
    from shifty_ent.gpu import catalog

    emit(catalog.types_table())


@app.command("offers")
def offers_cmd(
    gpu_type: TypeOpt,
    count: CountOpt = 1,
    disk: DiskOpt = 50,
    region: RegionOpt = None,
    max_price: Annotated[
        str | None,
        typer.Option("--max-price", metavar="USD", help="Per hour, GPU + storage share."),
    ] = None,
    limit: LimitOpt = 10,
) -> None:
    """Offers matching the request, cheapest total hourly price first. Role: any."""
    from shifty_ent.gpu.offers import search_offers

    with command() as ctx:
        rows = search_offers(
            ctx,
            gpu_type=gpu_type,
            count=count,
            disk_gb=disk,
            region=region,
            max_price=max_price,
            limit=limit,
        )
    emit(rows)


@app.command("provision")
def provision_cmd(
    gpu_type: TypeOpt,
    max_price: Annotated[
        str,
        typer.Option("--max-price", metavar="USD", help="Ceiling per hour, GPU + storage share."),
    ],
    count: CountOpt = 1,
    disk: DiskOpt = 50,
    region: RegionOpt = None,
    model: Annotated[
        str | None,
        typer.Option(
            "--model",
            metavar="CHECKPOINT",
            help="Serve this checkpoint: org/name (vLLM, OpenAI API) or name:tag (Ollama).",
        ),
    ] = None,
    image: Annotated[
        str | None, typer.Option("--image", metavar="IMAGE", help="Docker image to run.")
    ] = None,
    wait: Annotated[bool, typer.Option("--wait", help="Wait until running.")] = False,
    timeout: Annotated[
        float, typer.Option("--timeout", metavar="S", min=1, help="Give up waiting after S s.")
    ] = 900.0,
    poll_interval: Annotated[
        float, typer.Option("--poll-interval", metavar="S", min=0.05, help="Seconds between polls.")
    ] = 10.0,
) -> None:
    """Rent the cheapest offer within --max-price and the tenant's budgets. Role: operator."""
    from shifty_ent.gpu.provision import ProvisionRequest, provision

    with command() as ctx:
        progress = _progress() if wait and show_progress() else None
        try:
            request = ProvisionRequest(
                gpu_type=gpu_type,
                max_price=max_price,
                count=count,
                disk_gb=disk,
                region=region,
                model_checkpoint=model,
                image=image,
                wait=wait,
                timeout=timeout,
                poll_interval=poll_interval,
                on_progress=progress,
            )
            inst = provision(ctx, request)
        finally:
            if progress is not None:
                progress.close()
        emit(inst)


class _progress:
    """A rich spinner showing the instance's state while --wait polls (terminal only)."""

    def __init__(self) -> None:
        from rich.console import Console
        from rich.status import Status

        self.status = Status("waiting for vast.ai", console=Console(stderr=True))
        self.status.start()

    def __call__(self, inst: Any) -> None:
        msg = (inst.status_msg or "").splitlines()[0][:60] if inst.status_msg else ""
        self.status.update(f"instance {str(inst.id)[:8]}: {inst.status} {msg}")

    def close(self) -> None:
        self.status.stop()


@app.command("status")
def status_cmd(
    instance: InstanceArg,
    refresh: Annotated[bool, typer.Option("--refresh", help="Ask vast.ai first.")] = False,
) -> None:
    """One instance with its cost to date. Role: any."""
    from shifty_ent.gpu.instances import instance_status

    with command() as ctx:
        emit(instance_status(ctx, instance, refresh=refresh))


@app.command("list")
def list_cmd(
    state: Annotated[
        str | None,
        typer.Option(
            "--state",
            metavar="S",
            parser=Values(INSTANCE_STATES),
            help="Only this state; active: every state but the final ones.",
        ),
    ] = None,
    refresh: Annotated[bool, typer.Option("--refresh", help="Sync with vast.ai first.")] = False,
) -> None:
    """The tenant's instances with cost to date. Role: any."""
    from shifty_ent.gpu.instances import list_instances

    with command(readonly=not refresh) as ctx:  # a refresh records what vast.ai says
        emit(list_instances(ctx, state=state, refresh=refresh), columns=INSTANCE_COLUMNS)


@app.command("costs")
def costs_cmd(
    start: StartOpt = None,
    end: EndOpt = None,
    group_by: Annotated[
        str,
        typer.Option(
            "--group-by",
            metavar="BY",
            parser=Values(("instance", "day", "type")),
            help="How to group.",
        ),
    ] = "instance",
) -> None:
    """Spend from the cost ledger, summed in SQL. Role: admin, operator or auditor.

    Examples:
    shifty-ent -t acme gpu costs --start 2026-11-01 --group-by day
    """
    from shifty_ent.gpu.costs import cost_rows

    with command() as ctx:
        emit(cost_rows(ctx, start, end, group_by))


@app.command("charges")
def charges_cmd(start: StartOpt = None, end: EndOpt = None) -> None:
    """The cost ledger beside what vast.ai charged, per instance, over whole UTC days (default:
    the last 30 days). Read-only. Role: admin, operator or auditor."""
    from shifty_ent.gpu.charges import charges

    with command() as ctx:
        rows = charges(ctx, start, end)
    off = [r for r in rows if r["verdict"] != "match"]
    info(f"{len(rows)} instance(s); {len(off)} differ from the bill by more than a cent")
    emit(rows, columns=CHARGE_COLUMNS)


@app.command("terminate")
def terminate_cmd(instance: InstanceArg, yes: YesOpt = False) -> None:
    """Destroy on vast.ai, verify, close the ledger. Idempotent. Role: operator."""
    from shifty_ent.gpu.terminate import terminate

    with command() as ctx:

        def ask(inst: Any) -> None:
            if inst.status not in ("terminated", "disappeared", "failed"):
                confirm(
                    f"Destroy instance {str(inst.id)[:8]} (vast.ai {inst.provider_instance_id})?",
                    yes=yes,
                )

        emit(terminate(ctx, instance, confirm=ask))


@app.command("health")
def health_cmd(instance: InstanceArg) -> None:
    """Probe the model endpoint on the instance now and store the result. Role: operator."""
    from shifty_ent.gpu.health import check_health

    with command() as ctx:
        emit(check_health(ctx, instance))


@app.command("reconcile")
def reconcile_cmd(
    dry_run: DryRunOpt = False,
    adopt: Annotated[
        bool, typer.Option("--adopt", help="Adopt orphans (our label, no local row).")
    ] = False,
) -> None:
    """Cron: sync with vast.ai, accrue costs, enforce budgets, health-check, adopt or flag
    orphans, autoscale. Every tenant without --tenant (operator role with one). Exit 6 when
    any action failed."""
    from shifty_ent.gpu import reconcile

    with command(tenant="optional") as ctx:
        summary = reconcile.reconcile(ctx, dry_run=dry_run, adopt=adopt)
    emit(summary)
    if not summary.ok:
        info(f"{len(summary.failures)} reconcile action(s) failed")
        raise typer.Exit(6)


@budget_app.command("set")
def budget_set(
    monthly: Annotated[
        str | None, typer.Option("--monthly", metavar="USD", help="USD per month; 'none' clears.")
    ] = None,
    hourly: Annotated[
        str | None, typer.Option("--hourly", metavar="USD", help="USD per hour; 'none' clears.")
    ] = None,
) -> None:
    """Set the tenant's GPU budgets (audited). Role: admin.

    Examples:
    shifty-ent -t acme gpu budget set --monthly 500 --hourly 4
    shifty-ent -t acme gpu budget set --hourly none
    """
    from shifty_ent.gpu.budget import set_budget

    with command() as ctx:
        emit(set_budget(ctx, monthly=monthly, hourly=hourly))


@budget_app.command("show")
def budget_show() -> None:
    """Budgets, month spend, burn rate and projection. Role: admin, operator or auditor."""
    from shifty_ent.gpu.budget import budget_status

    with command() as ctx:
        emit(budget_status(ctx))


@autoscale_app.command("set")
def autoscale_set(
    model: Annotated[str, typer.Argument(metavar="MODEL", help="Model deployment name.")],
    min_replicas: Annotated[int, typer.Option("--min", min=0, help="Fewest replicas.")],
    max_replicas: Annotated[int, typer.Option("--max", min=1, help="Most replicas.")],
    target_util: Annotated[
        float, typer.Option("--target-util", metavar="F", help="GPU utilisation goal, 0-1.")
    ],
    gpu_type: TypeOpt = "RTX_4090",
    max_price: Annotated[
        str, typer.Option("--max-price", metavar="USD", help="Ceiling per replica per hour.")
    ] = "1.00",
    disk: DiskOpt = 50,
    region: RegionOpt = None,
    checkpoint: Annotated[
        str | None,
        typer.Option(
            "--checkpoint",
            help="Checkpoint replicas serve (HF id or Ollama name:tag); needed for a new rule.",
        ),
    ] = None,
    cooldown: Annotated[
        int, typer.Option("--cooldown", metavar="S", min=0, help="Seconds between actions.")
    ] = 300,
) -> None:
    """Create or replace the autoscale rule of MODEL (applied by reconcile). Role: operator.

    Examples:
    shifty-ent -t acme gpu autoscale set llama-1b --min 0 --max 3 --target-util 0.7 \\
        --type RTX_4090 --checkpoint meta-llama/Llama-3.2-1B
    """
    from shifty_ent.gpu import autoscale

    with command() as ctx:
        emit(
            autoscale.set_rule(
                ctx,
                model,
                min_replicas=min_replicas,
                max_replicas=max_replicas,
                target_util=target_util,
                gpu_type=gpu_type,
                max_price=max_price,
                disk_gb=disk,
                region=region,
                checkpoint=checkpoint,
                cooldown_seconds=cooldown,
            )
        )


@autoscale_app.command("show")
def autoscale_show() -> None:
    """The tenant's autoscale rules with current replicas. Role: any."""
    from shifty_ent.gpu import autoscale

    with command() as ctx:
        emit(autoscale.list_rules(ctx))


@autoscale_app.command("clear")
def autoscale_clear(
    model: Annotated[str, typer.Argument(metavar="MODEL", help="Model deployment name.")],
) -> None:
    """Remove MODEL's autoscale rule; running replicas stay. Role: operator."""
    from shifty_ent.gpu import autoscale

    with command() as ctx:
        emit(autoscale.clear_rule(ctx, model))
