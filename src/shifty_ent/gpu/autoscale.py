"""Autoscale rules: replica bounds and a GPU-utilisation target for one model deployment.

Rules are keyed by tenant and model name (the model group's deployment name); the instances that
serve a model carry that name in ``autoscale_model``. Reconcile computes the wanted replica count
from vast.ai's ``gpu_util`` of the running replicas::

    wanted = ceil(running x mean(util) / target)   clamped to [min, max]

It never scales while a replica is still starting, and one scaling action per rule per cooldown is
claimed with a conditional UPDATE, so two reconcile runs do not both add a replica.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import or_, select, update
from sqlmodel import col

from shifty_ent.core.authz import authorize
from shifty_ent.core.context import Context
from shifty_ent.core.errors import InvalidInput, NotFound
from shifty_ent.core.tenancy import parse_money
from shifty_ent.gpu import catalog, permissions
from shifty_ent.gpu.tables import (
    COMMITTED_STATES,
    LOADING,
    REQUESTED,
    RUNNING,
    GpuAutoscaleRule,
    GpuInstance,
)


@dataclass
class Plan:
    rule: GpuAutoscaleRule
    current: int
    running: int
    mean_util: float | None
    wanted: int
    reason: str

    def public(self) -> dict[str, Any]:
        return {
            "model": self.rule.model,
            "current": self.current,
            "running": self.running,
            "mean_util": self.mean_util,
            "wanted": self.wanted,
            "reason": self.reason,
        }


def plan(rule: GpuAutoscaleRule, replicas: list[GpuInstance]) -> Plan:
    """How many replicas the rule wants, from the replicas' states and utilisation."""
    active = [i for i in replicas if i.status in COMMITTED_STATES]
    running = [i for i in active if i.status == RUNNING]
    utils = [i.gpu_util for i in running if i.gpu_util is not None]
    mean = round(sum(utils) / len(utils), 4) if utils else None
    n = len(active)
    if n < rule.min_replicas:
        return Plan(rule, n, len(running), mean, rule.min_replicas, "below min")
    if n > rule.max_replicas:
        return Plan(rule, n, len(running), mean, rule.max_replicas, "above max")
    if any(i.status in (REQUESTED, LOADING) for i in active):
        return Plan(rule, n, len(running), mean, n, "replica starting")
    if mean is None:
        return Plan(rule, n, len(running), mean, n, "no utilisation data")
    wanted = math.ceil(len(running) * mean / rule.target_util - 1e-9)
    wanted = max(rule.min_replicas, min(rule.max_replicas, wanted))
    reason = (
        "at target" if wanted == n else ("utilisation high" if wanted > n else "utilisation low")
    )
    return Plan(rule, n, len(running), mean, wanted, reason)


def replicas_of(session: Any, rule: GpuAutoscaleRule) -> list[GpuInstance]:
    return list(
        session.scalars(
            select(GpuInstance).where(
                col(GpuInstance.tenant_id) == rule.tenant_id,
                col(GpuInstance.autoscale_model) == rule.model,
                col(GpuInstance.status).in_(sorted(COMMITTED_STATES)),
            )
        ).all()
    )


def claim(ctx: Context, rule: GpuAutoscaleRule, now: datetime) -> bool:
    """Take this rule's scaling turn (once per cooldown, whoever asks first)."""
    cutoff = now - timedelta(seconds=rule.cooldown_seconds)
    done = ctx.session.execute(
        update(GpuAutoscaleRule)
        .where(
            col(GpuAutoscaleRule.id) == rule.id,
            col(GpuAutoscaleRule.version) == rule.version,
            or_(
                col(GpuAutoscaleRule.last_scaled_at).is_(None),
                col(GpuAutoscaleRule.last_scaled_at) <= cutoff,
            ),
        )
        .values(last_scaled_at=now, version=GpuAutoscaleRule.version + 1)
        .execution_options(synchronize_session=False)
    )
    ctx.session.refresh(rule)
    return done.rowcount == 1  # type: ignore[attr-defined]  # DML returns a CursorResult


def set_rule(
    ctx: Context,
    model: str,
    *,
    min_replicas: int,
    max_replicas: int,
    target_util: float,
    gpu_type: str,
    max_price: str,
    disk_gb: int = 50,
    region: str | None = None,
    checkpoint: str | None = None,
    cooldown_seconds: int = 300,
) -> GpuAutoscaleRule:
    """Create or replace the rule for ``model``; audited.

    A new rule needs the ``checkpoint`` its replicas serve: MODEL is a deployment name, and a
    replica told to serve it would be a rented GPU serving nothing. A replaced rule keeps its
    checkpoint unless a new one is given.
    """
    authorize(ctx, permissions.AUTOSCALE_SET)
    model = (model or "").strip()
    if not model or len(model) > 128:
        raise InvalidInput("MODEL must be a deployment (model) name of 1-128 characters")
    if min_replicas < 0 or max_replicas < 1 or min_replicas > max_replicas:
        raise InvalidInput("need 0 <= --min <= --max and --max >= 1")
    if max_replicas > 64:
        raise InvalidInput("--max may be at most 64")
    if not 0 < target_util <= 1:
        raise InvalidInput("--target-util must be a fraction in (0, 1], e.g. 0.7")
    if cooldown_seconds < 0:
        raise InvalidInput("--cooldown must be zero or more seconds")
    gt = catalog.gpu_type(gpu_type)
    reg = catalog.region(region)
    price = parse_money(max_price, "--max-price")
    if price is None or price <= 0:
        raise InvalidInput("--max-price must be more than 0 USD per hour")
    from shifty_ent.gpu.serving import spec_for

    rule = ctx.session.scalars(
        select(GpuAutoscaleRule).where(
            col(GpuAutoscaleRule.tenant_id) == ctx.tenant_id, col(GpuAutoscaleRule.model) == model
        )
    ).first()
    if rule is None and not (checkpoint or "").strip():
        raise InvalidInput(
            f"a new autoscale rule for {model!r} needs --checkpoint (the Hugging Face id or "
            "Ollama name:tag its replicas serve); without it they would rent GPUs serving nothing"
        )
    spec_for(checkpoint or (rule.checkpoint if rule else model), None)  # validates the name
    created = rule is None
    if rule is None:
        rule = GpuAutoscaleRule(
            tenant_id=ctx.tenant_id,
            model=model,
            checkpoint=checkpoint or model,
            min_replicas=min_replicas,
            max_replicas=max_replicas,
            target_util=float(target_util),
            gpu_type=gt.name,
            max_price_per_hour=price,
            created_by=ctx.actor,
            created_at=ctx.now(),
        )
    rule.checkpoint = checkpoint or rule.checkpoint or model
    rule.min_replicas = min_replicas
    rule.max_replicas = max_replicas
    rule.target_util = float(target_util)
    rule.gpu_type = gt.name
    rule.max_price_per_hour = price
    rule.disk_gb = int(disk_gb)
    rule.region = reg.name if reg else None
    rule.cooldown_seconds = int(cooldown_seconds)
    rule.updated_at = ctx.now()
    rule.version += 1
    ctx.session.add(rule)
    ctx.session.flush()
    ctx.audit(
        "gpu.autoscale.set",
        target_type="gpu_autoscale_rule",
        target_id=rule.id,
        details={"created": created, **rule.public()},
    )
    return rule


def list_rules(ctx: Context) -> list[dict[str, Any]]:
    authorize(ctx, permissions.AUTOSCALE_READ)
    rules = ctx.session.scalars(
        select(GpuAutoscaleRule)
        .where(col(GpuAutoscaleRule.tenant_id) == ctx.tenant_id)
        .order_by(GpuAutoscaleRule.model)
    ).all()
    out = []
    for rule in rules:
        p = plan(rule, replicas_of(ctx.session, rule))
        out.append({**rule.public(), "replicas": p.current, "mean_util": p.mean_util})
    return out


def clear_rule(ctx: Context, model: str) -> GpuAutoscaleRule:
    authorize(ctx, permissions.AUTOSCALE_SET)
    rule = ctx.session.scalars(
        select(GpuAutoscaleRule).where(
            col(GpuAutoscaleRule.tenant_id) == ctx.tenant_id, col(GpuAutoscaleRule.model) == model
        )
    ).first()
    if rule is None:
        raise NotFound(f"no autoscale rule for model {model!r}")
    ctx.session.delete(rule)
    ctx.session.flush()
    ctx.audit(
        "gpu.autoscale.clear",
        target_type="gpu_autoscale_rule",
        target_id=rule.id,
        details={"model": model},
    )
    return rule
