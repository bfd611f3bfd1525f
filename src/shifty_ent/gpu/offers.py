"""Offers: validate a request, ask vast.ai for matching machines, re-check them on our side."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from shifty_ent.core.authz import authorize
from shifty_ent.core.context import Context
from shifty_ent.core.errors import InvalidInput
from shifty_ent.core.tenancy import parse_money
from shifty_ent.gpu import catalog, permissions
from shifty_ent.gpu.instances import client
from shifty_ent.gpu.vastai import Offer, VastClient

DEFAULT_DISK_GB = 50


def validate_request(
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
    gt, reg, price = validate_request(gpu_type, count, disk_gb, region, max_price)
    ctx.session.commit()
    with client(ctx) as api:
        offers = find_offers(api, gt, count, disk_gb, reg, price, limit)
    return [{"gpu_type": gt.name, **o.public(disk_gb)} for o in offers]
