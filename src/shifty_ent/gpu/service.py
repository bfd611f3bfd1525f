"""GPU Provisioner services: offers, provisioning under budgets, status, termination, costs.

Other groups use these functions (never the tables or the client directly):
:func:`get_instance`, :func:`provision`, :func:`terminate`, :func:`check_health`,
:func:`cost_rows`, :func:`budget_status`. ``Instance`` is the table class; ``Instance.public()``
is the instance object of docs/cli-contract.md.

HTTP calls to vast.ai never run inside an open transaction: on SQLite every transaction holds the
write lock, so each service commits what it has before it talks to the network.
"""

from __future__ import annotations

import time
import uuid
from collections.abc import Callable
from datetime import datetime
from decimal import Decimal
from typing import Any

from sqlalchemy import func, select, update
from sqlalchemy.orm.attributes import set_committed_value

from shifty_ent.core import ids, retry
from shifty_ent.core.authz import authorize
from shifty_ent.core.clock import parse_instant
from shifty_ent.core.context import Context
from shifty_ent.core.errors import (
    Conflict,
    ExternalServiceError,
    InvalidInput,
    NotFound,
    Refused,
)
from shifty_ent.core.tables import Tenant
from shifty_ent.core.tenancy import parse_money
from shifty_ent.core.types import money_str
from shifty_ent.gpu import catalog, health, ledger, permissions, serving
from shifty_ent.gpu.tables import (
    COMMITTED_STATES,
    DISAPPEARED,
    EXISTING_STATES,
    EXITED,
    FAILED,
    FINAL_STATES,
    FROZEN,
    LOADING,
    OFFLINE,
    PROVIDER,
    REQUESTED,
    RUNNING,
    STATES,
    STOPPED,
    TERMINATED,
    TERMINATING,
    UNKNOWN,
    GpuInstance,
)
from shifty_ent.gpu.vastai import (
    AmbiguousCreate,
    Offer,
    OfferGone,
    ProviderInstance,
    VastClient,
    VastError,
    client_from_settings,
)

Instance = GpuInstance
DEFAULT_DISK_GB = 50
DEFAULT_TIMEOUT_S = 900.0
DEFAULT_POLL_S = 10.0
MAX_RENT_ATTEMPTS = 5
LABEL_PREFIX = "shifty-ent"
# states --wait stops at: vast.ai says exited/unknown/offline never turn into running by themselves
WAIT_TERMINAL = frozenset({EXITED, OFFLINE, UNKNOWN, STOPPED, *FINAL_STATES})
STALE_CLAIM_S = 120


def client(ctx: Context) -> VastClient:
    return client_from_settings(ctx.settings)


def label_for(tenant_id: uuid.UUID, instance_id: uuid.UUID) -> str:
    """The vast.ai label that lets reconcile find an instance (and its tenant) again."""
    return f"{LABEL_PREFIX}:{tenant_id}:{instance_id}"


def parse_label(label: str | None) -> tuple[uuid.UUID, uuid.UUID] | None:
    if not label or not label.startswith(LABEL_PREFIX + ":"):
        return None
    parts = label.split(":")
    if len(parts) != 3:
        return None
    try:
        return uuid.UUID(parts[1]), uuid.UUID(parts[2])
    except ValueError:
        return None


# ------------------------------------------------------------------------------ lookups


def get_instance(ctx: Context, ref: str) -> GpuInstance:
    """One instance of the current tenant by UUID, unique prefix, vast.ai id or label."""
    ref = (ref or "").strip()
    base = select(GpuInstance).where(GpuInstance.tenant_id == ctx.tenant_id)
    if ref.isdigit():
        row = ctx.session.scalars(base.where(GpuInstance.provider_instance_id == ref)).first()
        if row is not None:
            return row
    return ids.resolve(
        ctx.session, GpuInstance, ref, what="instance", tenant_id=ctx.tenant_id, name_attr="label"
    )


def list_instances(
    ctx: Context, *, state: str | None = None, refresh: bool = False
) -> list[GpuInstance]:
    authorize(ctx, permissions.READ)
    if state is not None and state not in (*STATES, "active"):
        raise InvalidInput(f"--state must be one of active, {', '.join(STATES)}")
    if refresh:
        refresh_tenant(ctx)
    return _instances(ctx, state)


def _instances(ctx: Context, state: str | None = None) -> list[GpuInstance]:
    stmt = select(GpuInstance).where(GpuInstance.tenant_id == ctx.tenant_id)
    if state == "active":
        stmt = stmt.where(GpuInstance.status.in_(sorted(COMMITTED_STATES)))
    elif state:
        stmt = stmt.where(GpuInstance.status == state)
    return list(ctx.session.scalars(stmt.order_by(GpuInstance.created_at)).all())


def instance_status(ctx: Context, ref: str, *, refresh: bool = False) -> GpuInstance:
    authorize(ctx, permissions.READ)
    inst = get_instance(ctx, ref)
    if refresh and inst.provider_instance_id and inst.status not in FINAL_STATES:
        ctx.session.commit()
        with client(ctx) as api:
            seen = api.get_instance(inst.provider_instance_id)
        observe(ctx, inst, seen, ctx.now())
    return inst


def refresh_tenant(ctx: Context) -> None:
    """Sync this tenant's live instances with one paginated list call."""
    live = [i for i in _instances(ctx) if i.provider_instance_id and i.status not in FINAL_STATES]
    if not live:
        return
    ctx.session.commit()
    with client(ctx) as api:
        seen = {str(p.id): p for p in api.iter_instances()}
        now = ctx.now()
        for inst in live:
            found = seen.get(inst.provider_instance_id or "")
            if found is None:
                found = api.get_instance(inst.provider_instance_id or "0")
            observe(ctx, inst, found, now)


# ------------------------------------------------------------------------------ states


def map_status(p: ProviderInstance | None) -> str:
    """vast.ai's (actual, intended, cur_state) -> our state; unknown values map to ``unknown``."""
    if p is None or p.cur_state == "unloaded":
        return DISAPPEARED
    actual = (p.actual_status or "").lower() or None
    if p.intended_status == "stopped" or p.cur_state == "stopped" or actual == "stopped":
        return STOPPED
    if actual == "running":
        return RUNNING
    if actual in (None, "created", "loading", "rebooting"):
        return LOADING
    if actual == "frozen":
        return FROZEN
    if actual == "exited":
        return EXITED
    if actual == "offline":
        return OFFLINE
    return UNKNOWN


def normalise_util(value: float | None) -> float | None:
    """vast.ai's ``gpu_util`` as a 0-1 fraction (values above 1 are taken as percent)."""
    if value is None:
        return None
    return round(value / 100.0 if value > 1.0 else value, 4)


def observe(
    ctx: Context,
    inst: GpuInstance,
    seen: ProviderInstance | None,
    now: datetime,
    *,
    actor: str | None = None,
) -> bool:
    """Accrue costs to ``now`` at the old state, then apply what vast.ai reported.

    Returns True when the state changed (and this process made the change). The change goes
    through a version claim, so a concurrent reconcile applies it once.
    """
    session = ctx.session
    ledger.accrue(session, inst, now)
    new_status = map_status(seen)
    values: dict[str, Any] = {"last_seen_at": now}
    if seen is not None:
        values["provider_status"] = (seen.actual_status or "")[:64] or None
        values["status_msg"] = (seen.status_msg or "")[:500] or None
        values["gpu_util"] = normalise_util(seen.gpu_util)
        if seen.geolocation and not inst.geolocation:
            values["geolocation"] = seen.geolocation[:128]
        endpoint = endpoint_of(inst, seen)
        if endpoint and endpoint != inst.endpoint_url:
            values["endpoint_url"] = endpoint
    changed = new_status != inst.status and inst.status != TERMINATING
    if changed:
        values["status"] = new_status
        if new_status == DISAPPEARED:
            values["terminated_at"] = now
    claimed = session.execute(
        update(GpuInstance)
        .where(GpuInstance.id == inst.id, GpuInstance.version == inst.version)
        .values(version=GpuInstance.version + 1, **values)
        .execution_options(synchronize_session=False)
    )
    old = inst.status
    if claimed.rowcount != 1:
        session.refresh(inst)
        return False
    for key, value in {**values, "version": inst.version + 1}.items():
        set_committed_value(inst, key, value)
    if changed:
        ctx.audit(
            "gpu.status",
            target_type="gpu_instance",
            target_id=inst.id,
            details={
                "from": old,
                "to": new_status,
                "provider_status": values.get("provider_status"),
            },
            tenant_id=inst.tenant_id,
            actor=actor,
        )
    return changed


def endpoint_of(inst: GpuInstance, seen: ProviderInstance) -> str | None:
    if not inst.service_port or not seen.public_ipaddr:
        return None
    port = seen.host_port(inst.service_port)
    if not port:
        return None
    host = seen.public_ipaddr
    if ":" in host and not host.startswith("["):
        host = f"[{host}]"
    return f"http://{host}:{port}"


# ------------------------------------------------------------------------------ offers


def _validate_request(
    gpu_type: str, count: int, disk_gb: int, region: str | None, max_price: Any
) -> tuple[catalog.GpuType, catalog.Region | None, Decimal | None]:
    gt = catalog.gpu_type(gpu_type)
    if not 1 <= int(count) <= 16:
        raise InvalidInput("--count must be between 1 and 16")
    if not 1 <= int(disk_gb) <= 20_000:
        raise InvalidInput("--disk must be between 1 and 20000 GB")
    reg = catalog.region(region)
    price = parse_money(max_price, "--max-price") if max_price is not None else None
    if price is not None and price <= 0:
        raise InvalidInput("--max-price must be more than 0 USD per hour")
    return gt, reg, price


def offer_query(
    gt: catalog.GpuType,
    count: int,
    disk_gb: int,
    reg: catalog.Region | None,
    max_price: Decimal | None,
    limit: int,
) -> dict[str, Any]:
    """The ``POST /api/v0/bundles/`` body: filters, the default filters sent explicitly, order."""
    query: dict[str, Any] = {
        "verified": {"eq": True},
        "external": {"eq": False},
        "rentable": {"eq": True},
        "rented": {"eq": False},
        "num_gpus": {"eq": int(count)},
        **gt.filters(),
        "type": "on-demand",
        "allocated_storage": float(disk_gb),
        "order": [["dph_total", "asc"]],
        "limit": int(limit),
    }
    if reg is not None:
        query.update(reg.filters())
    if max_price is not None:
        query["dph_total"] = {"lte": float(max_price)}
    return query


def find_offers(
    api: VastClient,
    gt: catalog.GpuType,
    count: int,
    disk_gb: int,
    reg: catalog.Region | None,
    max_price: Decimal | None,
    limit: int,
) -> list[Offer]:
    """Matching offers, cheapest total (GPU + storage share) first, re-checked on our side."""
    # regions narrower than a country are filtered here, so ask for more rows than shown
    fetch = limit if reg is None or not reg.states else max(limit * 4, 64)
    offers = api.search_offers(offer_query(gt, count, disk_gb, reg, max_price, fetch))
    out = []
    for offer in offers:
        if not gt.matches(offer.gpu_name, offer.gpu_ram):
            continue
        if offer.num_gpus != int(count):
            continue
        if reg is not None and not reg.matches(offer.geolocation):
            continue
        if max_price is not None and offer.total_per_hour(disk_gb) > max_price:
            continue
        out.append(offer)
    out.sort(key=lambda o: (o.total_per_hour(disk_gb), o.id))
    return out[:limit]


def search_offers(
    ctx: Context,
    *,
    gpu_type: str,
    count: int = 1,
    disk_gb: int = DEFAULT_DISK_GB,
    region: str | None = None,
    max_price: Any = None,
    limit: int = 20,
) -> list[dict[str, Any]]:
    authorize(ctx, permissions.OFFERS)
    gt, reg, price = _validate_request(gpu_type, count, disk_gb, region, max_price)
    ctx.session.commit()
    with client(ctx) as api:
        offers = find_offers(api, gt, count, disk_gb, reg, price, limit)
    return [{"gpu_type": gt.name, **o.public(disk_gb)} for o in offers]


# ------------------------------------------------------------------------------ budgets


def committed_per_hour(session: Any, tenant_id: uuid.UUID) -> Decimal:
    raw = session.execute(
        select(func.coalesce(func.sum(GpuInstance.price_per_hour), 0)).where(
            GpuInstance.tenant_id == tenant_id,
            GpuInstance.status.in_(sorted(COMMITTED_STATES)),
        )
    ).scalar_one()
    return raw if isinstance(raw, Decimal) else Decimal(int(raw)) / 1_000_000


def month_spend(session: Any, tenant_id: uuid.UUID, now: datetime) -> Decimal:
    """Ledger this month plus what live instances cost since their last accrual."""
    start, _ = ledger.month_bounds(now)
    spent = ledger.ledger_total(session, tenant_id, start, None)
    live = session.scalars(
        select(GpuInstance).where(
            GpuInstance.tenant_id == tenant_id,
            GpuInstance.status.in_(sorted(EXISTING_STATES)),
        )
    ).all()
    for inst in live:
        spent += inst.pending_cost(now)
    return spent


def budget_status(ctx: Context) -> dict[str, Any]:
    """The context tenant's budgets, this month's spend, burn rate and projection."""
    authorize(ctx, permissions.BUDGET_READ)
    assert ctx.tenant is not None
    return budget_of(ctx, ctx.tenant)


def budget_of(ctx: Context, tenant: Tenant) -> dict[str, Any]:
    """Budgets, this month's spend, burn rate and the projection to month end (no role check:
    reconcile reads every tenant's)."""
    now = ctx.now()
    start, end = ledger.month_bounds(now)
    spent = month_spend(ctx.session, tenant.id, now)
    burn = committed_per_hour(ctx.session, tenant.id)
    hours_left = Decimal(int((end - now).total_seconds())) / Decimal(3600)
    projected = ledger.q(spent + burn * hours_left)
    monthly, hourly = tenant.gpu_monthly_budget, tenant.gpu_hourly_budget
    return {
        "tenant_id": tenant.id,
        "monthly_budget": monthly,
        "hourly_budget": hourly,
        "month_start": start,
        "month_end": end,
        "month_spend": ledger.q(spent),
        "burn_rate_per_hour": burn,
        "projected_month_total": projected,
        "monthly_remaining": None if monthly is None else ledger.q(monthly - spent),
        "hourly_headroom": None if hourly is None else hourly - burn,
        "over_monthly_budget": monthly is not None and spent > monthly,
        "over_hourly_budget": hourly is not None and burn > hourly,
    }


def check_budget(ctx: Context, tenant: Tenant, extra_per_hour: Decimal) -> None:
    """Refuse (exit 4) when renting at ``extra_per_hour`` would break a budget."""
    session = ctx.session
    now = ctx.now()
    burn = committed_per_hour(session, tenant.id)
    hourly = tenant.gpu_hourly_budget
    if hourly is not None and burn + extra_per_hour > hourly:
        raise Refused(
            f"refused by the hourly GPU budget: ${money_str(ledger.q(extra_per_hour))}/h on top "
            f"of ${money_str(burn)}/h committed exceeds ${money_str(hourly)}/h; nothing rented"
        )
    monthly = tenant.gpu_monthly_budget
    if monthly is not None:
        _, end = ledger.month_bounds(now)
        spent = month_spend(session, tenant.id, now)
        hours_left = Decimal(int((end - now).total_seconds())) / Decimal(3600)
        projected = ledger.q(spent + (burn + extra_per_hour) * hours_left)
        if projected > monthly:
            raise Refused(
                f"refused by the monthly GPU budget: ${money_str(ledger.q(spent))} spent this "
                f"month plus ${money_str(ledger.q(burn + extra_per_hour))}/h to month end "
                f"projects ${money_str(projected)}, over ${money_str(monthly)}; nothing rented"
            )


def set_budget(ctx: Context, *, monthly: str | None, hourly: str | None) -> dict[str, Any]:
    """Update the tenant's budgets (``none`` clears one); audited."""
    authorize(ctx, permissions.BUDGET_SET)
    tenant = ctx.tenant
    assert tenant is not None
    if monthly is None and hourly is None:
        raise InvalidInput("give --monthly and/or --hourly (a USD amount, or 'none' to clear)")
    before = {"monthly": tenant.gpu_monthly_budget, "hourly": tenant.gpu_hourly_budget}

    def parse(value: str | None, what: str, current: Decimal | None) -> Decimal | None:
        if value is None:
            return current
        if value.strip().lower() in ("none", "off", ""):
            return None
        return parse_money(value, what)

    tenant.gpu_monthly_budget = parse(monthly, "--monthly", tenant.gpu_monthly_budget)
    tenant.gpu_hourly_budget = parse(hourly, "--hourly", tenant.gpu_hourly_budget)
    ctx.session.add(tenant)
    ctx.session.flush()
    ctx.audit(
        "gpu.budget.set",
        target_type="tenant",
        target_id=tenant.id,
        details={
            "before": before,
            "after": {"monthly": tenant.gpu_monthly_budget, "hourly": tenant.gpu_hourly_budget},
        },
    )
    return budget_of(ctx, tenant)


# ------------------------------------------------------------------------------ provision


def provision(
    ctx: Context,
    *,
    gpu_type: str,
    max_price: Any,
    count: int = 1,
    disk_gb: int = DEFAULT_DISK_GB,
    region: str | None = None,
    model_checkpoint: str | None = None,
    image: str | None = None,
    wait: bool = False,
    timeout: float = DEFAULT_TIMEOUT_S,
    poll_interval: float = DEFAULT_POLL_S,
    on_progress: Callable[[GpuInstance], None] | None = None,
    autoscale_model: str | None = None,
) -> GpuInstance:
    """Rent the cheapest matching offer within ``max_price`` ($/h, GPU + storage) and budgets.

    Refused (exit 4, nothing rented) when no offer is under the ceiling or a budget would break.
    Offers taken between search and rent are skipped. A create whose answer is lost is looked up
    by label before anything is rented again, so one call rents at most one machine. Commits.
    """
    authorize(ctx, permissions.PROVISION)
    assert ctx.tenant is not None
    return provision_for(
        ctx,
        ctx.tenant,
        gpu_type=gpu_type,
        max_price=max_price,
        count=count,
        disk_gb=disk_gb,
        region=region,
        model_checkpoint=model_checkpoint,
        image=image,
        wait=wait,
        timeout=timeout,
        poll_interval=poll_interval,
        on_progress=on_progress,
        autoscale_model=autoscale_model,
    )


def _lock_tenant(ctx: Context, tenant_id: uuid.UUID) -> Tenant:
    """Serialise budget checks of one tenant (PostgreSQL row lock; SQLite holds the write lock)."""
    row = ctx.session.scalars(
        select(Tenant).where(Tenant.id == tenant_id).with_for_update()
    ).first()
    if row is None:
        raise NotFound(f"tenant {tenant_id} not found")
    ctx.session.refresh(row)
    return row


def provision_for(
    ctx: Context,
    tenant: Tenant,
    *,
    gpu_type: str,
    max_price: Any,
    count: int = 1,
    disk_gb: int = DEFAULT_DISK_GB,
    region: str | None = None,
    model_checkpoint: str | None = None,
    image: str | None = None,
    wait: bool = False,
    timeout: float = DEFAULT_TIMEOUT_S,
    poll_interval: float = DEFAULT_POLL_S,
    on_progress: Callable[[GpuInstance], None] | None = None,
    autoscale_model: str | None = None,
    actor: str | None = None,
) -> GpuInstance:
    """:func:`provision` for an explicit tenant (reconcile's autoscaler uses it)."""
    if max_price is None:
        raise InvalidInput("--max-price is required")
    gt, reg, price = _validate_request(gpu_type, count, disk_gb, region, max_price)
    assert price is not None
    spec = serving.spec_for(model_checkpoint, image)
    if timeout <= 0 or poll_interval <= 0:
        raise InvalidInput("--timeout and the poll interval must be positive")
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
        tenant = _lock_tenant(ctx, tenant.id)
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
            _mark(ctx, inst, FAILED, actor=actor, details={"offers_tried": tried})
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
        if wait:
            wait_until_settled(ctx, inst, api, timeout, poll_interval, on_progress)
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
            tenant = _lock_tenant(ctx, inst.tenant_id)
            inst.price_per_hour = Decimal(0)
            session.add(inst)
            session.flush()
            try:
                check_budget(ctx, tenant, total)
            except Refused:
                inst.price_per_hour = total
                _mark(ctx, inst, FAILED, details={"offers_tried": tried, "reason": "budget"})
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
                _mark(ctx, inst, FAILED, details={"offers_tried": tried})
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


def _mark(
    ctx: Context,
    inst: GpuInstance,
    status: str,
    *,
    actor: str | None = None,
    details: dict[str, Any] | None = None,
) -> None:
    old = inst.status
    inst.status = status
    inst.version += 1
    if status in FINAL_STATES and inst.terminated_at is None:
        inst.terminated_at = ctx.now()
    ctx.session.add(inst)
    ctx.session.flush()
    ctx.audit(
        "gpu.status",
        target_type="gpu_instance",
        target_id=inst.id,
        details={"from": old, "to": status, **(details or {})},
        tenant_id=inst.tenant_id,
        actor=actor,
    )


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


# ------------------------------------------------------------------------------ terminate


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
            .where(GpuInstance.id == inst.id, GpuInstance.version == inst.version)
            .values(claimed_at=now, version=GpuInstance.version + 1)
            .execution_options(synchronize_session=False)
        )
        session.refresh(inst)
        if claimed.rowcount != 1:
            raise Conflict(f"instance {str(inst.id)[:8]} is being changed by another run; retry")
    else:
        ledger.accrue(session, inst, now)
        claimed = session.execute(
            update(GpuInstance)
            .where(GpuInstance.id == inst.id, GpuInstance.version == inst.version)
            .values(status=TERMINATING, claimed_at=now, version=GpuInstance.version + 1)
            .execution_options(synchronize_session=False)
        )
        session.refresh(inst)
        if claimed.rowcount != 1:
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
        .where(GpuInstance.id == inst.id, GpuInstance.status == TERMINATING)
        .values(status=TERMINATED, terminated_at=now, version=GpuInstance.version + 1)
        .execution_options(synchronize_session=False)
    )
    session.refresh(inst)
    if done.rowcount == 1:
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


# ------------------------------------------------------------------------------ costs


def parse_period(start: str | None, end: str | None) -> tuple[datetime | None, datetime | None]:
    a = parse_instant(start, name="--start") if start else None
    b = parse_instant(end, name="--end") if end else None
    if a and b and b <= a:
        raise InvalidInput("--end must be after --start")
    return a, b


def cost_rows(
    ctx: Context,
    start: datetime | str | None = None,
    end: datetime | str | None = None,
    group_by: str = "instance",
) -> list[dict[str, Any]]:
    """Ledger sums per instance, day or GPU type in [start, end) (plain dicts, Decimal money)."""
    authorize(ctx, permissions.COSTS)
    a = parse_instant(start, name="--start") if isinstance(start, str) else start
    b = parse_instant(end, name="--end") if isinstance(end, str) else end
    if a and b and b <= a:
        raise InvalidInput("--end must be after --start")
    rows = ledger.cost_rows(ctx.session, ctx.tenant_id, a, b, group_by)
    if group_by == "instance" and rows:
        found = ctx.session.execute(
            select(GpuInstance.id, GpuInstance.gpu_type, GpuInstance.provider_instance_id).where(
                GpuInstance.tenant_id == ctx.tenant_id,
                GpuInstance.id.in_([r["instance_id"] for r in rows]),
            )
        ).all()
        info = {row[0]: row for row in found}
        for r in rows:
            _, gtype, pid = info.get(r["instance_id"], (None, None, None))
            r["gpu_type"] = gtype
            r["provider_instance_id"] = pid
    return rows


def check_health(ctx: Context, instance_ref_or_obj: str | GpuInstance) -> dict[str, Any]:
    """Probe the instance's model endpoint now, store the result, return it. Commits.

    It lives here, not in :mod:`shifty_ent.gpu.health` (the probe itself), because it resolves the
    instance through :func:`get_instance`: health stays below the service, with no cycle."""
    authorize(ctx, permissions.HEALTH)
    if isinstance(instance_ref_or_obj, GpuInstance):
        inst = instance_ref_or_obj
        if ctx.tenant is not None and inst.tenant_id != ctx.tenant_id:
            raise NotFound(f"instance {inst.id} not found")
    else:
        inst = get_instance(ctx, instance_ref_or_obj)
    ctx.session.commit()
    result = health.probe(inst)
    result["checked_at"] = ctx.now().isoformat()
    result["endpoint_url"] = inst.endpoint_url
    health.store_health(ctx, inst, result)
    ctx.session.commit()
    return {"instance_id": inst.id, **result}


__all__ = [
    "Instance",
    "budget_status",
    "check_health",
    "cost_rows",
    "get_instance",
    "list_instances",
    "provision",
    "terminate",
]
