"""``gpu reconcile``: the cron job that keeps the local table in line with vast.ai.

One paginated list call for the account gives every machine; per-instance calls happen only when
something changed (an instance missing from the list is confirmed with one GET before it is marked
disappeared). Then, in order: update every local instance (accruing its cost), find lost creates
by label, report orphans (our label, no local row) and adopt them with ``--adopt``, terminate
instances of tenants past their budget, probe model endpoints, apply autoscale rules.

Every action is claimed (conditional UPDATE or a unique key) and committed on its own, so two runs
at once act once each, and a failure of one action does not undo the others.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass, field
from datetime import timedelta
from decimal import Decimal
from typing import Any

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlmodel import col

from shifty_ent.core.authz import authorize
from shifty_ent.core.context import Context
from shifty_ent.core.errors import ShiftyError
from shifty_ent.core.tables import Tenant
from shifty_ent.gpu import autoscale, catalog, health, ledger, permissions
from shifty_ent.gpu.budget import budget_of
from shifty_ent.gpu.instances import client, label_for, parse_label
from shifty_ent.gpu.provision import ProvisionRequest, provision_for
from shifty_ent.gpu.states import map_status, mark, normalise_util, observe
from shifty_ent.gpu.tables import (
    COMMITTED_STATES,
    FAILED,
    FINAL_STATES,
    PROVIDER,
    REQUESTED,
    RUNNING,
    TERMINATING,
    GpuAutoscaleRule,
    GpuInstance,
)
from shifty_ent.gpu.terminate import STALE_CLAIM_S, terminate_instance
from shifty_ent.gpu.vastai import ProviderInstance

LOST_CREATE_AFTER = timedelta(minutes=15)
ACTOR = "gpu-reconcile"


@dataclass
class Summary:
    dry_run: bool = False
    listed: int = 0
    http_requests: int = 0
    checked: int = 0
    changed: list[dict[str, Any]] = field(default_factory=list)
    disappeared: list[dict[str, Any]] = field(default_factory=list)
    recovered: list[dict[str, Any]] = field(default_factory=list)
    orphans: list[dict[str, Any]] = field(default_factory=list)
    budget_terminations: list[dict[str, Any]] = field(default_factory=list)
    health: list[dict[str, Any]] = field(default_factory=list)
    autoscale: list[dict[str, Any]] = field(default_factory=list)
    accrued: Decimal = Decimal(0)
    failures: list[dict[str, Any]] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not self.failures

    def public(self) -> dict[str, Any]:
        return {
            "dry_run": self.dry_run,
            "listed": self.listed,
            "http_requests": self.http_requests,
            "checked": self.checked,
            "changed": self.changed,
            "disappeared": self.disappeared,
            "recovered": self.recovered,
            "orphans": self.orphans,
            "budget_terminations": self.budget_terminations,
            "health": self.health,
            "autoscale": self.autoscale,
            "accrued": ledger.q(self.accrued),
            "failures": self.failures,
            "ok": self.ok,
        }


def _fail(summary: Summary, step: str, inst: Any, exc: Exception) -> None:
    summary.failures.append(
        {
            "step": step,
            "instance_id": getattr(inst, "id", None),
            "error": getattr(exc, "message", None) or f"{type(exc).__name__}: {exc}",
        }
    )


def reconcile(ctx: Context, *, dry_run: bool = False, adopt: bool = False) -> Summary:
    """Sync, accrue, enforce budgets, health-check, adopt or flag orphans, autoscale.

    With a tenant in the context only that tenant's instances are touched; without one (cron),
    every tenant's.
    """
    if ctx.tenant is not None:
        authorize(ctx, permissions.RECONCILE)
    else:
        ctx.require_installation_admin("gpu reconcile without --tenant")
    scope = ctx.tenant.id if ctx.tenant is not None else None
    summary = Summary(dry_run=dry_run)
    session = ctx.session
    session.commit()
    api = client(ctx)
    try:
        listing = list(api.iter_instances())
        summary.listed = len(listing)
        by_id = {str(p.id): p for p in listing}
        by_label = {p.label: p for p in listing if p.label}
        _sync_local(ctx, api, scope, by_id, by_label, summary, dry_run)
        _orphans(ctx, scope, listing, summary, dry_run, adopt)
        _enforce_budgets(ctx, scope, summary, dry_run)
        if not dry_run:
            _health(ctx, scope, summary)
        _autoscale(ctx, scope, summary, dry_run)
        summary.http_requests = api.request_count
    finally:
        api.close()
    return summary


def _local(ctx: Context, scope: uuid.UUID | None) -> list[GpuInstance]:
    stmt = select(GpuInstance).where(col(GpuInstance.status).not_in(sorted(FINAL_STATES)))
    if scope is not None:
        stmt = stmt.where(col(GpuInstance.tenant_id) == scope)
    return list(ctx.session.scalars(stmt.order_by(col(GpuInstance.created_at))).all())


def _sync_local(
    ctx: Context,
    api: Any,
    scope: uuid.UUID | None,
    by_id: dict[str, ProviderInstance],
    by_label: dict[str, ProviderInstance],
    summary: Summary,
    dry_run: bool,
) -> None:
    session = ctx.session
    now = ctx.now()
    for inst in _local(ctx, scope):
        summary.checked += 1
        try:
            session.refresh(inst)
            if inst.status in FINAL_STATES:
                continue
            if inst.status == REQUESTED:
                _requested(ctx, inst, by_label.get(inst.label), summary, dry_run)
                continue
            seen = by_id.get(inst.provider_instance_id or "")
            if inst.status == TERMINATING:
                stale = (
                    inst.claimed_at is None
                    or (now - inst.claimed_at).total_seconds() >= STALE_CLAIM_S
                )
                if stale and not dry_run:
                    terminate_instance(ctx, inst, reason="retry", actor=ACTOR)
                    summary.changed.append(_row(inst, TERMINATING, inst.status))
                continue
            if seen is None:
                # missing from the list: confirm with one GET before believing it
                seen = api.get_instance(inst.provider_instance_id or "0")
                if seen is not None and seen.cur_state == "unloaded":
                    seen = None
            new_status = map_status(seen)
            if dry_run:
                if new_status != inst.status:
                    target = summary.disappeared if seen is None else summary.changed
                    target.append(_row(inst, inst.status, new_status))
                continue
            before_cost = inst.cost_to_date
            old = inst.status
            changed = observe(ctx, inst, seen, now, actor=ACTOR)
            summary.accrued += (inst.cost_to_date or Decimal(0)) - (before_cost or Decimal(0))
            session.commit()
            if changed:
                target = summary.disappeared if seen is None else summary.changed
                target.append(_row(inst, old, inst.status))
        except ShiftyError as exc:
            session.rollback()
            _fail(summary, "sync", inst, exc)


def _row(inst: GpuInstance, old: str, new: str) -> dict[str, Any]:
    return {
        "instance_id": inst.id,
        "tenant_id": inst.tenant_id,
        "provider_instance_id": inst.provider_instance_id,
        "from": old,
        "to": new,
    }


def _requested(
    ctx: Context,
    inst: GpuInstance,
    seen: ProviderInstance | None,
    summary: Summary,
    dry_run: bool,
) -> None:
    """A row whose rent was never confirmed: the label tells whether a machine exists."""
    session = ctx.session
    now = ctx.now()
    if seen is not None:
        summary.recovered.append(
            {"instance_id": inst.id, "provider_instance_id": seen.id, "label": inst.label}
        )
        if dry_run:
            return
        stamp = now.replace(microsecond=0)
        from sqlalchemy import update

        done = session.execute(
            update(GpuInstance)
            .where(col(GpuInstance.id) == inst.id, col(GpuInstance.version) == inst.version)
            .values(
                provider_instance_id=str(seen.id),
                status=map_status(seen),
                gpu_name=seen.gpu_name,
                gpu_price_per_hour=ledger.q(seen.dph_base or Decimal(0)),
                storage_price_per_hour=ledger.q(seen.storage_total_cost or Decimal(0)),
                price_per_hour=ledger.q(seen.dph_total or inst.price_per_hour or Decimal(0)),
                rented_at=stamp,
                accrued_until=stamp,
                last_seen_at=stamp,
                version=GpuInstance.version + 1,
            )
            .execution_options(synchronize_session=False)
        )
        if done.rowcount == 1:  # type: ignore[attr-defined]  # DML returns a CursorResult
            ctx.audit(
                "gpu.recover",
                target_type="gpu_instance",
                target_id=inst.id,
                details={"provider_instance_id": seen.id, "label": inst.label},
                tenant_id=inst.tenant_id,
                actor=ACTOR,
            )
        session.commit()
        return
    if now - inst.created_at >= LOST_CREATE_AFTER:
        summary.changed.append(_row(inst, REQUESTED, FAILED))
        if not dry_run:
            mark(ctx, inst, FAILED, actor=ACTOR, details={"reason": "rent never confirmed"})
            session.commit()


def _orphans(
    ctx: Context,
    scope: uuid.UUID | None,
    listing: list[ProviderInstance],
    summary: Summary,
    dry_run: bool,
    adopt: bool,
) -> None:
    session = ctx.session
    labelled = [(p, parse_label(p.label)) for p in listing]
    ours = [(p, parsed) for p, parsed in labelled if parsed is not None]
    if not ours:
        return
    known_ids = set(
        session.scalars(
            select(col(GpuInstance.provider_instance_id)).where(
                col(GpuInstance.provider_instance_id).in_([str(p.id) for p, _ in ours])
            )
        ).all()
    )
    known_labels = set(
        session.scalars(
            select(col(GpuInstance.label)).where(
                col(GpuInstance.label).in_([p.label for p, _ in ours])
            )
        ).all()
    )
    for p, (tenant_id, local_id) in ours:
        if str(p.id) in known_ids or p.label in known_labels:
            continue
        if scope is not None and tenant_id != scope:
            continue
        tenant = session.get(Tenant, tenant_id)
        entry: dict[str, Any] = {
            "provider_instance_id": p.id,
            "label": p.label,
            "tenant_id": tenant_id,
            "gpu_name": p.gpu_name,
            "status": p.actual_status,
            "adopted": False,
        }
        summary.orphans.append(entry)
        if tenant is None:
            entry["note"] = "tenant in the label does not exist"
            continue
        if not adopt or dry_run:
            continue
        try:
            entry["adopted"] = _adopt(ctx, tenant, local_id, p)
            entry["instance_id"] = local_id if entry["adopted"] else None
        except ShiftyError as exc:
            session.rollback()
            _fail(summary, "adopt", None, exc)


def _adopt(ctx: Context, tenant: Tenant, local_id: uuid.UUID, p: ProviderInstance) -> bool:
    session = ctx.session
    if session.scalars(
        select(col(GpuInstance.id)).where(
            (col(GpuInstance.provider_instance_id) == str(p.id))
            | (col(GpuInstance.label) == p.label)
        )
    ).first():
        session.commit()
        return False  # another run adopted it first
    gtype = next(
        (t.name for t in catalog.GPU_TYPES.values() if t.matches(p.gpu_name, p.raw.get("gpu_ram"))),
        (p.gpu_name or "unknown")[:32],
    )
    now = ctx.now().replace(microsecond=0)
    total = p.dph_total or Decimal(0)
    if session.get(GpuInstance, local_id) is not None:
        local_id = uuid.uuid4()
    inst = GpuInstance(
        id=local_id,
        tenant_id=tenant.id,
        provider=PROVIDER,
        provider_instance_id=str(p.id),
        label=p.label or label_for(tenant.id, local_id),
        gpu_type=gtype,
        gpu_name=p.gpu_name,
        gpu_count=int(p.num_gpus or 1),
        disk_gb=int(p.disk_space or 0),
        geolocation=(p.geolocation or "")[:128] or None,
        status=map_status(p),
        provider_status=p.actual_status,
        max_price_per_hour=ledger.q(total),
        price_per_hour=ledger.q(total),
        gpu_price_per_hour=ledger.q(p.dph_base or Decimal(0)),
        storage_price_per_hour=ledger.q(p.storage_total_cost or Decimal(0)),
        image=(p.raw.get("image_uuid") or None),
        gpu_util=normalise_util(p.gpu_util),
        created_at=now,
        created_by=ACTOR,
        rented_at=now,
        accrued_until=now,
        last_seen_at=now,
    )
    try:
        with session.begin_nested():
            session.add(inst)
            session.flush()
    except IntegrityError:
        session.rollback()
        return False
    ctx.audit(
        "gpu.adopt",
        target_type="gpu_instance",
        target_id=inst.id,
        details={"provider_instance_id": p.id, "label": p.label, "status": inst.status},
        tenant_id=tenant.id,
        actor=ACTOR,
    )
    session.commit()
    return True


def _tenants(ctx: Context, scope: uuid.UUID | None) -> list[Tenant]:
    stmt = select(Tenant)
    if scope is not None:
        stmt = stmt.where(col(Tenant.id) == scope)
    return list(ctx.session.scalars(stmt.order_by(Tenant.name)).all())


def _enforce_budgets(
    ctx: Context, scope: uuid.UUID | None, summary: Summary, dry_run: bool
) -> None:
    """Terminate instances of a tenant over its monthly budget (all) or hourly budget (dearest)."""
    session = ctx.session
    for tenant in _tenants(ctx, scope):
        if tenant.gpu_monthly_budget is None and tenant.gpu_hourly_budget is None:
            continue
        status = budget_of(ctx, tenant)
        if not (status["over_monthly_budget"] or status["over_hourly_budget"]):
            continue
        live = session.scalars(
            select(GpuInstance).where(
                col(GpuInstance.tenant_id) == tenant.id,
                col(GpuInstance.status).in_(sorted(COMMITTED_STATES - {REQUESTED})),
            )
        ).all()
        live = sorted(live, key=lambda i: (-(i.price_per_hour or 0), str(i.id)))
        burn = status["burn_rate_per_hour"]
        for inst in live:
            if not status["over_monthly_budget"]:
                hourly = tenant.gpu_hourly_budget
                if hourly is None or burn <= hourly:
                    break
            reason = "monthly budget" if status["over_monthly_budget"] else "hourly budget"
            entry = {
                "instance_id": inst.id,
                "tenant_id": tenant.id,
                "provider_instance_id": inst.provider_instance_id,
                "reason": reason,
                "price_per_hour": inst.price_per_hour,
            }
            burn -= inst.price_per_hour or Decimal(0)
            if dry_run:
                summary.budget_terminations.append(entry)
                continue
            try:
                session.refresh(inst)
                if inst.status not in COMMITTED_STATES:
                    continue  # another run has it
                ctx.audit(
                    "gpu.budget.enforce",
                    target_type="gpu_instance",
                    target_id=inst.id,
                    details={"reason": reason, "price_per_hour": inst.price_per_hour},
                    tenant_id=tenant.id,
                    actor=ACTOR,
                )
                terminate_instance(ctx, inst, reason=reason, actor=ACTOR)
                summary.budget_terminations.append(entry)
            except ShiftyError as exc:
                session.rollback()
                _fail(summary, "budget", inst, exc)


def _health(ctx: Context, scope: uuid.UUID | None, summary: Summary) -> None:
    stmt = select(GpuInstance).where(
        col(GpuInstance.status) == RUNNING, col(GpuInstance.endpoint_url).is_not(None)
    )
    if scope is not None:
        stmt = stmt.where(col(GpuInstance.tenant_id) == scope)
    targets = list(ctx.session.scalars(stmt).all())
    # no transaction while the probes wait on the network; results are stored here, on this
    # thread, one short transaction each
    ctx.session.commit()
    for inst, result in zip(targets, health.probe_many(targets), strict=True):
        result["checked_at"] = ctx.now().isoformat()
        result["endpoint_url"] = inst.endpoint_url
        try:
            health.store_health(ctx, inst, result, actor=ACTOR)
            ctx.session.commit()
        except ShiftyError as exc:
            ctx.session.rollback()
            _fail(summary, "health", inst, exc)
            continue
        summary.health.append({"instance_id": inst.id, "status": result.get("status")})


def _autoscale(ctx: Context, scope: uuid.UUID | None, summary: Summary, dry_run: bool) -> None:
    session = ctx.session
    stmt = select(GpuAutoscaleRule)
    if scope is not None:
        stmt = stmt.where(col(GpuAutoscaleRule.tenant_id) == scope)
    rules = list(session.scalars(stmt.order_by(GpuAutoscaleRule.model)).all())
    for rule in rules:
        try:
            session.refresh(rule)
            p = autoscale.plan(rule, autoscale.replicas_of(session, rule))
            if p.wanted == p.current:
                continue
            entry = {**p.public(), "tenant_id": rule.tenant_id, "actions": []}
            summary.autoscale.append(entry)
            if dry_run:
                continue
            if not autoscale.claim(ctx, rule, ctx.now()):
                entry["actions"].append("skipped: cooldown or another run")
                session.commit()
                continue
            session.commit()
            tenant = session.get(Tenant, rule.tenant_id)
            assert tenant is not None
            if p.wanted > p.current:
                for _ in range(p.wanted - p.current):
                    request = ProvisionRequest(
                        gpu_type=rule.gpu_type,
                        max_price=rule.max_price_per_hour,
                        disk_gb=rule.disk_gb,
                        region=rule.region,
                        model_checkpoint=rule.checkpoint,
                        autoscale_model=rule.model,
                    )
                    inst = provision_for(ctx, tenant, request, actor=ACTOR)
                    entry["actions"].append(f"provisioned {inst.id}")
            else:
                replicas = autoscale.replicas_of(session, rule)
                # broken replicas first, then the least busy
                replicas.sort(key=lambda i: (i.status == RUNNING, i.gpu_util or 0.0, str(i.id)))
                for inst in replicas[: p.current - p.wanted]:
                    terminate_instance(ctx, inst, reason="autoscale", actor=ACTOR)
                    entry["actions"].append(f"terminated {inst.id}")
        except ShiftyError as exc:
            session.rollback()
            _fail(summary, "autoscale", None, exc)
            if summary.autoscale:
                summary.autoscale[-1].setdefault("actions", []).append(f"failed: {exc.message}")
