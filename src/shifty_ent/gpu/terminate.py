"""Termination: destroy on vast.ai, verify it is gone, close the ledger. Idempotent.

A run claims the instance (``terminating``, ``claimed_at``) through a version check, so two runs
never destroy twice; a claim older than :data:`STALE_CLAIM_S` is taken over.
"""

from __future__ import annotations

from collections.abc import Callable

from sqlalchemy import update
from sqlmodel import col

from shifty_ent.core import retry
from shifty_ent.core.authz import authorize
from shifty_ent.core.context import Context
from shifty_ent.core.errors import Conflict, ExternalServiceError, NotFound
from shifty_ent.gpu import ledger, permissions
from shifty_ent.gpu.instances import client, get_instance
from shifty_ent.gpu.tables import FINAL_STATES, TERMINATED, TERMINATING, GpuInstance
from shifty_ent.gpu.vastai import VastClient

STALE_CLAIM_S = 120


def terminate(
    ctx: Context,
    ref: str | GpuInstance,
    *,
    confirm: Callable[[GpuInstance], None] | None = None,
) -> GpuInstance:
    """Destroy on vast.ai, verify it is gone, close the ledger, mark terminated. Idempotent.

    ``confirm`` sees the resolved instance before anything changes (the CLI asks there), after
    the role check, so a user without the role is refused before being asked.
    """
    authorize(ctx, permissions.TERMINATE)
    inst = ref if isinstance(ref, GpuInstance) else get_instance(ctx, ref)
    if inst.tenant_id != ctx.tenant_id:
        raise NotFound(f"instance {ref!r} not found")
    if confirm is not None:
        confirm(inst)
    return terminate_instance(ctx, inst, reason="requested")


def terminate_instance(
    ctx: Context, inst: GpuInstance, *, reason: str, actor: str | None = None
) -> GpuInstance:
    session = ctx.session
    session.refresh(inst)
    if inst.status in FINAL_STATES:
        return inst
    now = ctx.now()
    if inst.status == TERMINATING and inst.claimed_at is not None:
        age = (now - inst.claimed_at).total_seconds()
        if 0 <= age < STALE_CLAIM_S:
            raise Conflict(
                f"instance {str(inst.id)[:8]} is being terminated by another run; "
                f"retry in {STALE_CLAIM_S - int(age)}s if it is still terminating"
            )
    if inst.status == TERMINATING:
        # a stale claim (the run that took it failed): take it over
        claimed = session.execute(
            update(GpuInstance)
            .where(col(GpuInstance.id) == inst.id, col(GpuInstance.version) == inst.version)
            .values(claimed_at=now, version=GpuInstance.version + 1)
            .execution_options(synchronize_session=False)
        )
        session.refresh(inst)
        if claimed.rowcount != 1:  # type: ignore[attr-defined]  # DML returns a CursorResult
            raise Conflict(f"instance {str(inst.id)[:8]} is being changed by another run; retry")
    else:
        ledger.accrue(session, inst, now)
        claimed = session.execute(
            update(GpuInstance)
            .where(col(GpuInstance.id) == inst.id, col(GpuInstance.version) == inst.version)
            .values(status=TERMINATING, claimed_at=now, version=GpuInstance.version + 1)
            .execution_options(synchronize_session=False)
        )
        session.refresh(inst)
        if claimed.rowcount != 1:  # type: ignore[attr-defined]  # DML returns a CursorResult
            if inst.status in FINAL_STATES:
                return inst
            raise Conflict(f"instance {str(inst.id)[:8]} is being changed by another run; retry")
        ctx.audit(
            "gpu.terminate.start",
            target_type="gpu_instance",
            target_id=inst.id,
            details={"reason": reason, "provider_instance_id": inst.provider_instance_id},
            tenant_id=inst.tenant_id,
            actor=actor,
        )
    session.commit()
    gone = True
    if inst.provider_instance_id:
        with client(ctx) as api:
            api.destroy_instance(inst.provider_instance_id)
            gone = _verify_gone(api, inst.provider_instance_id)
    if not gone:
        raise ExternalServiceError(
            f"vast.ai still lists instance {inst.provider_instance_id} after destroy; it stays "
            f"'terminating' and a terminate or reconcile after {STALE_CLAIM_S}s retries"
        )
    now = ctx.now()
    ledger.accrue(session, inst, now)
    done = session.execute(
        update(GpuInstance)
        .where(col(GpuInstance.id) == inst.id, col(GpuInstance.status) == TERMINATING)
        .values(status=TERMINATED, terminated_at=now, version=GpuInstance.version + 1)
        .execution_options(synchronize_session=False)
    )
    session.refresh(inst)
    if done.rowcount == 1:  # type: ignore[attr-defined]  # DML returns a CursorResult
        ctx.audit(
            "gpu.terminate",
            target_type="gpu_instance",
            target_id=inst.id,
            details={
                "reason": reason,
                "provider_instance_id": inst.provider_instance_id,
                "cost_to_date": inst.cost_to_date,
            },
            tenant_id=inst.tenant_id,
            actor=actor,
        )
    session.commit()
    return inst


class _StillListed(Exception):
    pass


def _verify_gone(api: VastClient, provider_id: str, tries: int = 5) -> bool:
    """Poll until vast.ai stops listing the instance, waiting as every retry does (jittered
    backoff, about 3 s over 5 looks in all)."""

    def look(_n: int) -> bool:
        seen = api.get_instance(provider_id)
        if seen is None or seen.cur_state == "unloaded":
            return True
        raise retry.TryAgain(_StillListed())

    try:
        return retry.call(look, retry.Policy(attempts=tries, base=0.4, max_wait=4.0))
    except _StillListed:
        return False
