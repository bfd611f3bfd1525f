"""Provisioning: rent the cheapest matching offer within the price ceiling and the budgets.

HTTP calls to vast.ai never run inside an open transaction (on SQLite every transaction holds the
write lock): the local row is committed as ``requested`` before the rent, so a lost answer is
found again by its label.
"""

from __future__ import annotations

import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from shifty_ent.core.authz import authorize
from shifty_ent.core.context import Context
from shifty_ent.core.errors import Conflict, ExternalServiceError, InvalidInput, Refused
from shifty_ent.core.tables import Tenant
from shifty_ent.core.types import money_str
from shifty_ent.gpu import ledger, permissions, serving
from shifty_ent.gpu.budget import check_budget, lock_tenant
from shifty_ent.gpu.instances import client, label_for
from shifty_ent.gpu.offers import DEFAULT_DISK_GB, find_offers, validate_request
from shifty_ent.gpu.states import mark, observe
from shifty_ent.gpu.tables import (
    EXITED,
    FAILED,
    FINAL_STATES,
    LOADING,
    OFFLINE,
    PROVIDER,
    REQUESTED,
    RUNNING,
    STOPPED,
    UNKNOWN,
    GpuInstance,
)
from shifty_ent.gpu.vastai import (
    AmbiguousCreate,
    Offer,
    OfferGone,
    VastClient,
    VastError,
)

DEFAULT_TIMEOUT_S = 900.0
DEFAULT_POLL_S = 10.0
MAX_RENT_ATTEMPTS = 5
# states --wait stops at: vast.ai says exited/unknown/offline never turn into running by themselves
WAIT_TERMINAL = frozenset({EXITED, OFFLINE, UNKNOWN, STOPPED, *FINAL_STATES})


@dataclass(frozen=True)
class ProvisionRequest:
    """What to rent: the arguments ``gpu provision``, ``model deploy`` and the autoscaler share."""

    gpu_type: str
    max_price: Any
    count: int = 1
    disk_gb: int = DEFAULT_DISK_GB
    region: str | None = None
    model_checkpoint: str | None = None
    image: str | None = None
    wait: bool = False
    timeout: float = DEFAULT_TIMEOUT_S
    poll_interval: float = DEFAULT_POLL_S
    on_progress: Callable[[GpuInstance], None] | None = None
    autoscale_model: str | None = None
    lora: serving.LoraModule | None = None  # serve this adapter on top of model_checkpoint


def provision(ctx: Context, request: ProvisionRequest) -> GpuInstance:
    """Rent the cheapest matching offer within ``max_price`` ($/h, GPU + storage) and budgets.

    Refused (exit 4, nothing rented) when no offer is under the ceiling or a budget would break.
    Offers taken between search and rent are skipped. A create whose answer is lost is looked up
    by label before anything is rented again, so one call rents at most one machine. Commits.
    """
    authorize(ctx, permissions.PROVISION)
    assert ctx.tenant is not None
    return provision_for(ctx, ctx.tenant, request)


def provision_for(
    ctx: Context, tenant: Tenant, request: ProvisionRequest, *, actor: str | None = None
) -> GpuInstance:
    """:func:`provision` for an explicit tenant, no role check (reconcile's autoscaler)."""
    if request.max_price is None:
        raise InvalidInput("--max-price is required")
    count, disk_gb = request.count, request.disk_gb
    gt, reg, price = validate_request(
        request.gpu_type, count, disk_gb, request.region, request.max_price
    )
    assert price is not None
    spec = serving.spec_for(request.model_checkpoint, request.image, request.lora)
    if request.timeout <= 0 or request.poll_interval <= 0:
        raise InvalidInput("--timeout and the poll interval must be positive")
    autoscale_model = request.autoscale_model
    actor = actor or ctx.actor
    session = ctx.session
    session.commit()
    api = client(ctx)
    try:
        if not ctx.settings.vastai_api_key:
            raise InvalidInput("no vast.ai API key: set VASTAI_API_KEY")
        offers = find_offers(api, gt, count, disk_gb, reg, price, limit=MAX_RENT_ATTEMPTS * 2)
        if not offers:
            where = f" in {reg.name}" if reg else ""
            raise Refused(
                f"no {gt.name} x{count} offer{where} at or under ${money_str(price)}/h "
                f"(GPU + {disk_gb} GB storage); nothing rented"
            )
        # budget check and the local row in one transaction, under the tenant lock
        tenant = lock_tenant(ctx, tenant.id)
        first = offers[0]
        check_budget(ctx, tenant, first.total_per_hour(disk_gb))
        inst_id = uuid.uuid4()
        inst = GpuInstance(
            id=inst_id,
            tenant_id=tenant.id,
            provider=PROVIDER,
            label=label_for(tenant.id, inst_id),
            gpu_type=gt.name,
            gpu_count=int(count),
            disk_gb=int(disk_gb),
            region=reg.name if reg else None,
            status=REQUESTED,
            max_price_per_hour=price,
            price_per_hour=first.total_per_hour(disk_gb),
            model_checkpoint=spec.checkpoint,
            image=spec.image,
            server_kind=spec.server_kind,
            service_port=spec.port,
            autoscale_model=autoscale_model,
            created_at=ctx.now(),
            created_by=actor,
        )
        session.add(inst)
        session.flush()
        session.commit()
        secrets = {"HF_TOKEN": ctx.settings.hf_token} if ctx.settings.hf_token else {}
        if spec.server_kind != "openai":
            secrets = {}
        body = spec.create_body(disk_gb=int(disk_gb), label=inst.label, secrets=secrets)
        rented, offer, tried = _rent(ctx, api, inst, offers, body, disk_gb)
        if rented is None or offer is None:
            mark(ctx, inst, FAILED, actor=actor, details={"offers_tried": tried})
            session.commit()
            raise Conflict(
                f"every matching offer was taken or unavailable ({len(tried)} tried); "
                "nothing rented, try again"
            )
        now = ctx.now().replace(microsecond=0)
        inst.provider_instance_id = str(rented)
        inst.offer_id = str(offer.id)
        inst.gpu_name = offer.gpu_name
        inst.geolocation = (offer.geolocation or "")[:128] or None
        inst.gpu_price_per_hour = ledger.q(offer.dph_base or Decimal(0))
        inst.storage_price_per_hour = ledger.q(offer.storage_per_hour(disk_gb))
        inst.price_per_hour = ledger.q(offer.total_per_hour(disk_gb))
        inst.status = LOADING
        inst.rented_at = now
        inst.accrued_until = now
        inst.last_seen_at = now
        inst.version += 1
        session.add(inst)
        session.flush()
        ctx.audit(
            "gpu.provision",
            target_type="gpu_instance",
            target_id=inst.id,
            details={
                "provider_instance_id": inst.provider_instance_id,
                "offer_id": offer.id,
                "gpu_type": gt.name,
                "gpu_count": int(count),
                "price_per_hour": inst.price_per_hour,
                "max_price_per_hour": price,
                "model_checkpoint": inst.model_checkpoint,
                "autoscale_model": autoscale_model,
                "offers_tried": tried,
            },
            tenant_id=tenant.id,
            actor=actor,
        )
        session.commit()
        if request.wait:
            wait_until_settled(
                ctx, inst, api, request.timeout, request.poll_interval, request.on_progress
            )
        return inst
    finally:
        api.close()


def _rent(
    ctx: Context,
    api: VastClient,
    inst: GpuInstance,
    offers: list[Offer],
    body: dict[str, Any],
    disk_gb: int,
) -> tuple[int | None, Offer | None, list[int]]:
    """Try offers cheapest first; returns (vast.ai instance id, offer, offer ids tried)."""
    tried: list[int] = []
    session = ctx.session
    for offer in offers[:MAX_RENT_ATTEMPTS]:
        tried.append(offer.id)
        total = offer.total_per_hour(disk_gb)
        if total != inst.price_per_hour:
            # a dearer offer must pass the budget too
            tenant = lock_tenant(ctx, inst.tenant_id)
            inst.price_per_hour = Decimal(0)
            session.add(inst)
            session.flush()
            try:
                check_budget(ctx, tenant, total)
            except Refused:
                inst.price_per_hour = total
                mark(ctx, inst, FAILED, details={"offers_tried": tried, "reason": "budget"})
                session.commit()
                raise
            inst.price_per_hour = total
            inst.offer_id = str(offer.id)
            session.add(inst)
            session.commit()
        for _recheck in range(2):
            try:
                result = api.create_instance(offer.id, body)
            except OfferGone:
                break  # next offer
            except AmbiguousCreate as lost:
                try:
                    found = api.find_by_label(inst.label)
                except VastError as exc:
                    raise ExternalServiceError(
                        f"renting offer {offer.id} got no answer ({lost.message}) and the label "
                        f"check failed ({exc.message}); instance {str(inst.id)[:8]} stays "
                        "'requested' and 'gpu reconcile' will find it by its label"
                    ) from None
                if found:
                    keep = sorted(found, key=lambda p: p.id)
                    for extra in keep[1:]:  # never keep two machines for one request
                        api.destroy_instance(extra.id)
                    return keep[0].id, offer, tried
                continue  # nothing was rented: safe to try this offer again
            except VastError:
                mark(ctx, inst, FAILED, details={"offers_tried": tried})
                session.commit()
                raise
            if result.instance_id is None:
                break
            if not result.success:
                # created stopped (could not start now): it bills storage, so destroy it
                api.destroy_instance(result.instance_id)
                break
            return result.instance_id, offer, tried
    return None, None, tried


def wait_until_settled(
    ctx: Context,
    inst: GpuInstance,
    api: VastClient,
    timeout: float,
    poll_interval: float,
    on_progress: Callable[[GpuInstance], None] | None,
) -> GpuInstance:
    """Poll until running (return) or a state that will not become running (exit 6)."""
    deadline = time.monotonic() + timeout
    while True:
        seen = api.get_instance(inst.provider_instance_id or "0")
        observe(ctx, inst, seen, ctx.now())
        ctx.session.commit()
        if on_progress is not None:
            on_progress(inst)
        if inst.status == RUNNING:
            return inst
        if inst.status in WAIT_TERMINAL:
            raise ExternalServiceError(
                f"instance {str(inst.id)[:8]} (vast.ai {inst.provider_instance_id}) stopped at "
                f"{inst.status}: {inst.status_msg or 'no message'}; terminate it with "
                f"'gpu terminate {str(inst.id)[:8]}'"
            )
        left = deadline - time.monotonic()
        if left <= 0:
            raise ExternalServiceError(
                f"instance {str(inst.id)[:8]} still {inst.status} after {timeout:g}s; it is rented "
                f"and billing storage: check 'gpu status {str(inst.id)[:8]} --refresh'"
            )
        time.sleep(min(poll_interval, left))
