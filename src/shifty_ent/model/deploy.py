"""Deployments: a version served on a GPU instance of the same tenant, with its health.

The gpu group owns instances (renting, serving image, health probe); this module records which
version an instance serves, for how many replicas, and the health seen at deploy time and on
``deployments --check``. Instances are looked up through the gpu API, which only sees the
acting tenant's instances, so a deployment can never point into another tenant.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import select, update
from sqlmodel import col

from shifty_ent.core.authz import authorize
from shifty_ent.core.context import Context
from shifty_ent.core.errors import Conflict, InvalidInput, Refused
from shifty_ent.core.ids import resolve as resolve_ref
from shifty_ent.gpu import api as gpu_api
from shifty_ent.model import permissions
from shifty_ent.model.tables import Deployment, ModelVersion
from shifty_ent.model.versions import get_version


def serving_checkpoint(version: ModelVersion) -> str:
    """What the gpu group's serving images take as ``--model`` for this version."""
    if version.source == "huggingface":
        return version.source_id
    if version.source == "ollama":
        return version.source_id
    raise Refused(
        f"{version.ref} is a {version.source} model: the serving images start Hugging Face or "
        "Ollama models; deploy it with --instance on an instance that already serves it"
    )


def deployment_status(health: dict[str, Any]) -> str:
    status = health.get("status")
    if status == "healthy":
        return "running"
    if status in ("unhealthy", "unreachable"):
        return "unhealthy"
    return "starting"


def _check(ctx: Context, dep: Deployment, instance: gpu_api.InstanceView) -> Deployment:
    health = gpu_api.check_health(ctx, instance.id)
    health.pop("instance_id", None)
    ctx.session.execute(
        update(Deployment)
        .where(col(Deployment.id) == dep.id, col(Deployment.status) != "stopped")
        .values(
            health=health,
            status=deployment_status(health),
            checked_at=ctx.now(),
            endpoint_url=instance.endpoint_url or dep.endpoint_url,
        )
    )
    ctx.session.refresh(dep)
    return dep


def deploy(
    ctx: Context,
    ref: str,
    *,
    instance: str | None = None,
    replicas: int = 1,
    gpu_type: str | None = None,
    max_price: str | None = None,
) -> dict[str, Any]:
    """Serve a version: on ``instance`` (reused) or on a newly provisioned one; health-checked."""
    authorize(ctx, permissions.DEPLOY)
    if not 1 <= replicas <= 64:
        raise InvalidInput("--replicas must be between 1 and 64")
    version = get_version(ctx, ref)
    if instance is not None:
        if gpu_type or max_price:
            raise InvalidInput("--instance reuses an instance: drop --gpu-type/--max-price")
        inst = gpu_api.get_instance(ctx, instance)
        if inst.gone:
            raise Conflict(f"instance {inst.id} is {inst.status}")
        served = inst.model_checkpoint
        if served and version.source in ("huggingface", "ollama") and served != version.source_id:
            raise Conflict(
                f"instance {inst.id} serves {served}, not {version.source_id}; "
                "deploy on another instance or provision one with --gpu-type"
            )
    else:
        if not gpu_type or not max_price:
            raise InvalidInput("give --instance, or --gpu-type and --max-price to provision one")
        checkpoint = serving_checkpoint(version)
        ctx.session.commit()
        request = gpu_api.ProvisionRequest(
            gpu_type=gpu_type, max_price=max_price, model_checkpoint=checkpoint
        )
        inst = gpu_api.provision(ctx, request)
    active = ctx.session.scalars(
        select(Deployment).where(
            col(Deployment.tenant_id) == ctx.tenant_id,
            col(Deployment.version_id) == version.id,
            col(Deployment.instance_id) == inst.id,
            col(Deployment.status) != "stopped",
        )
    ).first()
    if active is not None:
        raise Conflict(f"{version.ref} is already deployed on instance {inst.id} ({active.id})")
    dep = Deployment(
        tenant_id=ctx.tenant_id,
        version_id=version.id,
        instance_id=inst.id,
        replicas=replicas,
        endpoint_url=inst.endpoint_url,
        created_at=ctx.now(),
        created_by=ctx.actor,
    )
    ctx.session.add(dep)
    ctx.session.flush()
    ctx.audit(
        "model.deploy",
        target_type="model_deployment",
        target_id=dep.id,
        details={
            "version": version.ref,
            "version_id": str(version.id),
            "instance_id": str(inst.id),
            "replicas": replicas,
            "provisioned": instance is None,
        },
    )
    ctx.session.commit()
    _check(ctx, dep, inst)
    return dep.public(version)


def _deployment(ctx: Context, ref: str) -> Deployment:
    return resolve_ref(
        ctx.session, Deployment, ref, what="deployment", tenant_id=ctx.tenant_id, name_attr=None
    )


def undeploy(ctx: Context, ref: str) -> dict[str, Any]:
    """Stop recording a deployment as serving (operator or admin); the instance is left alone."""
    authorize(ctx, permissions.UNDEPLOY)
    dep = _deployment(ctx, ref)
    changed = ctx.session.execute(
        update(Deployment)
        .where(col(Deployment.id) == dep.id, col(Deployment.status) != "stopped")
        .values(status="stopped", stopped_at=ctx.now(), stopped_by=ctx.actor)
    ).rowcount  # type: ignore[attr-defined]  # DML returns a CursorResult
    if not changed:
        raise Conflict(f"deployment {dep.id} is already stopped")
    ctx.session.refresh(dep)
    ctx.audit(
        "model.undeploy",
        target_type="model_deployment",
        target_id=dep.id,
        details={"instance_id": str(dep.instance_id), "version_id": str(dep.version_id)},
    )
    return dep.public(ctx.session.get(ModelVersion, dep.version_id))


def list_deployments(
    ctx: Context, *, include_stopped: bool = False, check: bool = False
) -> list[dict[str, Any]]:
    """Deployments of the tenant with their last health (``check`` probes them now)."""
    authorize(ctx, permissions.DEPLOYMENTS_CHECK if check else permissions.DEPLOYMENTS_READ)
    stmt = select(Deployment).where(col(Deployment.tenant_id) == ctx.tenant_id)
    if not include_stopped:
        stmt = stmt.where(col(Deployment.status) != "stopped")
    deps = list(ctx.session.scalars(stmt.order_by(col(Deployment.created_at).desc())).all())
    rows = []
    for dep in deps:
        if check and dep.status != "stopped":
            _check(ctx, dep, gpu_api.get_instance(ctx, str(dep.instance_id)))
        rows.append(dep.public(ctx.session.get(ModelVersion, dep.version_id)))
    return rows
