"""Deployments: a version served on GPU instances of the same tenant, one per replica.

The gpu group owns instances (renting, serving image, probes, adapter delivery); this module
decides what an instance must serve for a version (:func:`plan_for`), rents or reuses one
instance per replica, hands a fine-tuned adapter to each, and records the health of each replica.
A deployment is healthy only when every replica's endpoint lists the version's served name
(``/v1/models`` or Ollama's tags), not merely when it answers. A replica whose instance is gone
(terminated, disappeared) no longer serves: when all are gone the deployment is stopped, so no
deployment stays "starting" on a machine that does not exist. Instances are looked up through
the gpu API, which only sees the acting tenant's instances.
"""

from __future__ import annotations

import contextlib
import json
import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from sqlalchemy import select, update
from sqlmodel import col

from shifty_ent.core.authz import authorize
from shifty_ent.core.context import Context
from shifty_ent.core.errors import Conflict, InvalidInput, NotFound, Refused, ShiftyError
from shifty_ent.core.ids import resolve as resolve_ref
from shifty_ent.gpu import api as gpu_api
from shifty_ent.model import permissions
from shifty_ent.model.holds import sync_holds
from shifty_ent.model.tables import Deployment, DeploymentReplica, ModelVersion
from shifty_ent.model.versions import get_version

SERVERS = ("vllm", "ollama")
# architectures Ollama imports from safetensors with an adapter (Modelfile reference)
OLLAMA_ARCHITECTURES = ("llama", "mistral", "gemma", "gemma2", "gemma3")
GONE_ACTOR = "system:instance-gone"


def serving_checkpoint(version: ModelVersion) -> str:
    """What the gpu group's serving images take as ``--model`` for a base version."""
    if version.source in ("huggingface", "ollama"):
        return version.source_id
    raise Refused(
        f"{version.ref} is a {version.source} model: the serving images start Hugging Face or "
        "Ollama models (or adapters fine-tuned on one); deploy it with --instance on an "
        "instance that already serves it"
    )


@dataclass(frozen=True)
class ServePlan:
    """What an instance must run for a version, and under which name it is served."""

    served_name: str
    checkpoint: str  # the instance's --model: the version, or an adapter's base
    server_kind: str  # openai (vLLM) | ollama
    lora: gpu_api.LoraModule | None = None
    adapter_dir: Path | None = None
    base_dir: Path | None = None  # an Ollama host builds the model from the base's files

    def public(self) -> dict[str, Any]:
        return {
            "served_name": self.served_name,
            "base_checkpoint": self.checkpoint,
            "server": "ollama" if self.server_kind == "ollama" else "vllm",
            "adapter": self.lora is not None,
        }


def _adapter_rank(adapter_dir: Path) -> int:
    try:
        config = json.loads((adapter_dir / "adapter_config.json").read_text(encoding="utf-8"))
        return max(1, int(config.get("r") or 8))
    except (OSError, ValueError, TypeError):
        return 8


def _architecture(base_dir: Path) -> str:
    try:
        config = json.loads((base_dir / "config.json").read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return "unknown"
    return str(config.get("model_type") or "unknown") if isinstance(config, dict) else "unknown"


def plan_for(ctx: Context, version: ModelVersion, server: str | None = None) -> ServePlan:
    """How to serve ``version``: its own checkpoint, or its adapter on top of its base."""
    from shifty_ent.model import training

    if server is not None and server not in SERVERS:
        raise InvalidInput(f"--server must be one of {', '.join(SERVERS)}")
    base_id = (version.lineage or {}).get("adapter_of")
    if not base_id:
        checkpoint = serving_checkpoint(version)
        kind = "ollama" if version.source == "ollama" else "openai"
        if server is not None and (server == "ollama") != (kind == "ollama"):
            raise InvalidInput(f"{version.ref} is a {version.source} model: drop --server")
        return ServePlan(served_name=version.source_id, checkpoint=checkpoint, server_kind=kind)
    base = ctx.session.get(ModelVersion, uuid.UUID(str(base_id)))
    if base is None or base.tenant_id != ctx.tenant_id:
        raise NotFound(f"the base model of adapter {version.ref} is gone")
    adapter_dir = training.base_dir(ctx, version)  # checked against the version's pin
    kind = "ollama" if server == "ollama" else "openai"
    served = version.ref
    if kind == "openai":
        if base.source != "huggingface":
            raise Refused(
                f"{version.ref} adapts {base.ref}, a {base.source} checkpoint a vLLM instance "
                "cannot fetch; deploy it with --server ollama"
            )
        lora = gpu_api.LoraModule(served, _adapter_rank(adapter_dir), "openai")
        return ServePlan(served, base.source_id, kind, lora, adapter_dir)
    base_dir = training.base_dir(ctx, base)
    arch = _architecture(base_dir)
    if arch not in OLLAMA_ARCHITECTURES:
        raise Refused(
            f"Ollama cannot apply an adapter to a {arch} model ({base.ref}); it takes "
            f"{', '.join(OLLAMA_ARCHITECTURES)}: deploy on vLLM (--server vllm)"
        )
    lora = gpu_api.LoraModule(served, _adapter_rank(adapter_dir), "ollama")
    return ServePlan(served, served, kind, lora, adapter_dir, base_dir)


def _reusable(plan: ServePlan, inst: gpu_api.InstanceView) -> None:
    if inst.gone:
        raise Conflict(f"instance {inst.id} is {inst.status}")
    if (inst.server_kind or plan.server_kind) != plan.server_kind:
        wanted = "an Ollama" if plan.server_kind == "ollama" else "a vLLM"
        raise Conflict(f"instance {inst.id} runs {inst.server_kind}; {wanted} server is needed")
    served = inst.model_checkpoint
    if plan.lora is not None and plan.server_kind == "ollama":
        return  # an Ollama host takes any model through its create API
    if served and served != plan.checkpoint:
        raise Conflict(
            f"instance {inst.id} serves {served}, not {plan.checkpoint}; "
            "deploy on another instance or provision one with --gpu-type"
        )


def _rent(
    ctx: Context, plan: ServePlan, replicas: int, gpu_type: str, max_price: str
) -> list[gpu_api.InstanceView]:
    """One instance per replica, all or none: a replica that cannot be rented gives back those
    rented before it."""
    rented: list[gpu_api.InstanceView] = []
    request = gpu_api.ProvisionRequest(
        gpu_type=gpu_type, max_price=max_price, model_checkpoint=plan.checkpoint, lora=plan.lora
    )
    try:
        for _ in range(replicas):
            ctx.session.commit()
            rented.append(gpu_api.provision(ctx, request))
    except BaseException:
        ctx.session.rollback()
        for inst in rented:
            # the first failure is what the user must see; a failed give-back shows in gpu list
            with contextlib.suppress(ShiftyError):
                gpu_api.terminate(ctx, inst.id, reason="deploy failed")
        raise
    return rented


def deploy(
    ctx: Context,
    ref: str,
    *,
    instances: Sequence[str] = (),
    replicas: int = 1,
    gpu_type: str | None = None,
    max_price: str | None = None,
    server: str | None = None,
    timeout: float = 900.0,
    poll_interval: float = 10.0,
) -> dict[str, Any]:
    """Serve a version on ``replicas`` instances: the given ones, or newly rented ones. An
    adapter is delivered to each once it runs; then every replica is health-checked."""
    authorize(ctx, permissions.DEPLOY)
    if not 1 <= replicas <= 64:
        raise InvalidInput("--replicas must be between 1 and 64")
    if timeout <= 0 or poll_interval <= 0:
        raise InvalidInput("--timeout and --poll-interval must be positive")
    version = get_version(ctx, ref)
    if instances:
        if gpu_type or max_price:
            raise InvalidInput("--instance reuses instances: drop --gpu-type/--max-price")
        if replicas not in (1, len(instances)):
            raise InvalidInput(
                f"--replicas {replicas} needs {replicas} --instance options "
                "(or --gpu-type and --max-price to rent them)"
            )
        replicas = len(instances)
    elif not gpu_type or not max_price:
        raise InvalidInput("give --instance, or --gpu-type and --max-price to provision")
    plan = plan_for(ctx, version, server)
    if instances:
        insts = [gpu_api.get_instance(ctx, ref_) for ref_ in instances]
        if len({i.id for i in insts}) != len(insts):
            raise InvalidInput("each replica needs its own instance: an --instance is repeated")
        for inst in insts:
            _reusable(plan, inst)
            _refuse_twice(ctx, version, inst)
    else:
        assert gpu_type is not None and max_price is not None
        insts = _rent(ctx, plan, replicas, gpu_type, max_price)
    dep = Deployment(
        tenant_id=ctx.tenant_id,
        version_id=version.id,
        instance_id=insts[0].id,
        replicas=replicas,
        endpoint_url=insts[0].endpoint_url,
        created_at=ctx.now(),
        created_by=ctx.actor,
    )
    ctx.session.add(dep)
    ctx.session.flush()
    for inst in insts:
        ctx.session.add(
            DeploymentReplica(
                tenant_id=ctx.tenant_id,
                deployment_id=dep.id,
                instance_id=inst.id,
                endpoint_url=inst.endpoint_url,
            )
        )
    ctx.session.flush()
    ctx.audit(
        "model.deploy",
        target_type="model_deployment",
        target_id=dep.id,
        details={
            "version": version.ref,
            "version_id": str(version.id),
            "instance_ids": [str(i.id) for i in insts],
            "replicas": replicas,
            "provisioned": not instances,
            **plan.public(),
        },
    )
    sync_holds(ctx)  # a deployed version's files are held while it serves
    ctx.session.commit()
    if plan.lora is not None and plan.adapter_dir is not None:
        for inst in insts:
            _deliver(ctx, dep, plan, inst.id, timeout, poll_interval)
    _check(ctx, dep, plan.served_name)
    return _row(ctx, dep, version, plan.served_name)


def _replica_of_deployment() -> Any:
    """SQL join condition: the replica belongs to the deployment (in the same tenant)."""
    return (col(DeploymentReplica.deployment_id) == col(Deployment.id)) & (
        col(DeploymentReplica.tenant_id) == col(Deployment.tenant_id)
    )


def _refuse_twice(ctx: Context, version: ModelVersion, inst: gpu_api.InstanceView) -> None:
    active = ctx.session.scalars(
        select(Deployment)
        .join(DeploymentReplica, _replica_of_deployment())
        .where(
            col(Deployment.tenant_id) == ctx.tenant_id,
            col(Deployment.version_id) == version.id,
            col(DeploymentReplica.instance_id) == inst.id,
            col(Deployment.status) != "stopped",
        )
    ).first()
    if active is not None:
        raise Conflict(f"{version.ref} is already deployed on instance {inst.id} ({active.id})")


def _deliver(
    ctx: Context,
    dep: Deployment,
    plan: ServePlan,
    instance_id: uuid.UUID,
    timeout: float,
    poll_interval: float,
) -> None:
    """Wait for the instance, then hand it the adapter. A failure is recorded on the replica
    (its health says why) and raised: the deployment stays for ``deployments --check``."""
    assert plan.lora is not None and plan.adapter_dir is not None
    try:
        gpu_api.wait_running(ctx, instance_id, timeout=timeout, poll_interval=poll_interval)
        gpu_api.deliver_adapter(ctx, instance_id, plan.lora, plan.adapter_dir, plan.base_dir)
    except ShiftyError as exc:
        ctx.session.rollback()
        ctx.session.execute(
            update(DeploymentReplica)
            .where(
                col(DeploymentReplica.deployment_id) == dep.id,
                col(DeploymentReplica.instance_id) == instance_id,
            )
            .values(
                status="unhealthy",
                health={"status": "unhealthy", "detail": f"adapter not delivered: {exc.message}"},
                checked_at=ctx.now(),
            )
        )
        ctx.session.execute(
            update(Deployment)
            .where(col(Deployment.id) == dep.id, col(Deployment.status) != "stopped")
            .values(status="unhealthy", checked_at=ctx.now())
        )
        ctx.session.commit()
        raise


def replica_status(health: dict[str, Any]) -> str:
    status = health.get("status")
    if status == "healthy":
        return "running"
    if status in ("unhealthy", "unreachable"):
        return "unhealthy"
    return "starting"


def overall_status(statuses: Sequence[str]) -> str:
    """Running when every replica serves; unhealthy when one fails or is gone; else starting."""
    if statuses and all(s == "running" for s in statuses):
        return "running"
    if any(s in ("unhealthy", "gone") for s in statuses):
        return "unhealthy"
    return "starting"


def _replicas(ctx: Context, dep: Deployment) -> list[DeploymentReplica]:
    found = list(
        ctx.session.scalars(
            select(DeploymentReplica).where(
                col(DeploymentReplica.tenant_id) == ctx.tenant_id,
                col(DeploymentReplica.deployment_id) == dep.id,
            )
        ).all()
    )
    if not found:  # recorded before replicas had rows: its one instance is its replica
        rep = DeploymentReplica(
            tenant_id=ctx.tenant_id,
            deployment_id=dep.id,
            instance_id=dep.instance_id,
            endpoint_url=dep.endpoint_url,
            status="stopped" if dep.status == "stopped" else "starting",
        )
        ctx.session.add(rep)
        ctx.session.flush()
        found = [rep]
    return found


def _check(ctx: Context, dep: Deployment, served_name: str, *, probe: bool = True) -> None:
    """Refresh each replica (gone instances always; probes when ``probe``), then the deployment:
    stopped when no instance is left. Commits."""
    statuses = []
    for rep in _replicas(ctx, dep):
        inst = gpu_api.get_instance(ctx, str(rep.instance_id))
        if probe and not inst.gone and inst.status != "running":
            # still booting as last seen: ask vast.ai (it may run now, with an endpoint)
            inst = gpu_api.get_instance(ctx, str(rep.instance_id), refresh=True)
        if inst.gone:
            rep.status, rep.health = "gone", {"status": "gone", "detail": f"{inst.status}"}
        elif probe:
            health = gpu_api.check_served(ctx, inst.id, served_name)
            rep.status, rep.health = replica_status(health), health
            rep.endpoint_url, rep.checked_at = inst.endpoint_url, ctx.now()
        ctx.session.add(rep)
        statuses.append(rep.status)
    first = _replicas(ctx, dep)[0] if statuses else None
    values: dict[str, Any] = {"status": overall_status(statuses)}
    if probe:
        values["checked_at"] = ctx.now()
        values["health"] = dict(first.health) if first else {}
        values["endpoint_url"] = (first.endpoint_url if first else None) or dep.endpoint_url
    all_gone = bool(statuses) and all(s == "gone" for s in statuses)
    if all_gone:
        values.update(status="stopped", stopped_at=ctx.now(), stopped_by=GONE_ACTOR)
    changed = ctx.session.execute(
        update(Deployment)
        .where(col(Deployment.id) == dep.id, col(Deployment.status) != "stopped")
        .values(**values)
    ).rowcount  # type: ignore[attr-defined]  # DML returns a CursorResult
    if changed and all_gone:
        ctx.audit(
            "model.undeploy",
            target_type="model_deployment",
            target_id=dep.id,
            details={"reason": "every instance of the deployment is gone", "actor": GONE_ACTOR},
        )
        sync_holds(ctx)
    ctx.session.commit()
    ctx.session.refresh(dep)


def served_name_of(ctx: Context, version: ModelVersion) -> str:
    """The name a deployment of ``version`` is served under (no files are read)."""
    if (version.lineage or {}).get("adapter_of"):
        return version.ref
    return version.source_id


def _row(
    ctx: Context, dep: Deployment, version: ModelVersion | None, served: str
) -> dict[str, Any]:
    row = dep.public(version)
    row["served_name"] = served
    row["replica_instances"] = [r.public() for r in _replicas(ctx, dep)]
    return row


def _deployment(ctx: Context, ref: str) -> Deployment:
    return resolve_ref(
        ctx.session, Deployment, ref, what="deployment", tenant_id=ctx.tenant_id, name_attr=None
    )


def undeploy(ctx: Context, ref: str) -> dict[str, Any]:
    """Stop recording a deployment as serving (operator or admin); the instances are left
    alone (``gpu terminate`` gives them back). Its version is no longer held for it."""
    authorize(ctx, permissions.UNDEPLOY)
    dep = _deployment(ctx, ref)
    changed = ctx.session.execute(
        update(Deployment)
        .where(col(Deployment.id) == dep.id, col(Deployment.status) != "stopped")
        .values(status="stopped", stopped_at=ctx.now(), stopped_by=ctx.actor)
    ).rowcount  # type: ignore[attr-defined]  # DML returns a CursorResult
    if not changed:
        raise Conflict(f"deployment {dep.id} is already stopped")
    ctx.session.execute(
        update(DeploymentReplica)
        .where(
            col(DeploymentReplica.tenant_id) == ctx.tenant_id,
            col(DeploymentReplica.deployment_id) == dep.id,
        )
        .values(status="stopped")
    )
    ctx.session.refresh(dep)
    ctx.audit(
        "model.undeploy",
        target_type="model_deployment",
        target_id=dep.id,
        details={"instance_id": str(dep.instance_id), "version_id": str(dep.version_id)},
    )
    sync_holds(ctx)
    version = ctx.session.get(ModelVersion, dep.version_id)
    return _row(ctx, dep, version, served_name_of(ctx, version) if version else "")


def serving_replica(ctx: Context, version: ModelVersion) -> tuple[Deployment, str, str] | None:
    """(deployment, endpoint, served name) of a replica that serves ``version`` now (as last
    checked), if any."""
    found = ctx.session.execute(
        select(Deployment, DeploymentReplica)
        .join(DeploymentReplica, _replica_of_deployment())
        .where(
            col(Deployment.tenant_id) == ctx.tenant_id,
            col(Deployment.version_id) == version.id,
            col(Deployment.status) != "stopped",
            col(DeploymentReplica.status) == "running",
            col(DeploymentReplica.endpoint_url).is_not(None),
        )
        .order_by(col(Deployment.created_at).desc())
    ).first()
    if found is None:
        return None
    dep, rep = found
    return dep, str(rep.endpoint_url), served_name_of(ctx, version)


def list_deployments(
    ctx: Context, *, include_stopped: bool = False, check: bool = False
) -> list[dict[str, Any]]:
    """Deployments of the tenant with their last health (``check`` probes them now). A
    deployment whose instances are all gone shows as stopped, checked or not."""
    authorize(ctx, permissions.DEPLOYMENTS_CHECK if check else permissions.DEPLOYMENTS_READ)
    live = list(
        ctx.session.scalars(
            select(Deployment).where(
                col(Deployment.tenant_id) == ctx.tenant_id, col(Deployment.status) != "stopped"
            )
        ).all()
    )
    for dep in live:
        version = ctx.session.get(ModelVersion, dep.version_id)
        if version is not None:
            _check(ctx, dep, served_name_of(ctx, version), probe=check)
    stmt = select(Deployment).where(col(Deployment.tenant_id) == ctx.tenant_id)
    if not include_stopped:
        stmt = stmt.where(col(Deployment.status) != "stopped")
    rows = []
    for dep in ctx.session.scalars(stmt.order_by(col(Deployment.created_at).desc())).all():
        version = ctx.session.get(ModelVersion, dep.version_id)
        rows.append(_row(ctx, dep, version, served_name_of(ctx, version) if version else ""))
    return rows
