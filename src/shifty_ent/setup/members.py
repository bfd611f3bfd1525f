"""Tenant and user commands as service functions, each checking its permission first, so that
any caller, not only the CLI, meets the same gate (see :mod:`.permissions`)."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from shifty_ent.core import installation, tenancy
from shifty_ent.core.asking import Confirm, ask
from shifty_ent.core.authz import authorize
from shifty_ent.core.context import Context
from shifty_ent.core.errors import InvalidInput
from shifty_ent.core.tables import Tenant, TenantUser
from shifty_ent.setup import permissions


def show_tenant(ctx: Context, ref: str | None = None) -> Tenant:
    """The tenant ``ref`` (default: the context's); any member of that tenant may look."""
    target = tenancy.get_tenant(ctx.session, ref) if ref else ctx.tenant
    if target is None:
        raise InvalidInput("name a tenant, or pass --tenant")
    authorize(ctx, permissions.TENANT_SHOW, tenant=target)
    return target


def add_user(
    ctx: Context, username: str, roles: Sequence[str], *, timezone: str | None = None
) -> TenantUser:
    """Add a user to the context's tenant, or grant more roles to one."""
    authorize(ctx, permissions.USER_ADD)
    assert ctx.tenant is not None
    return tenancy.add_user(
        ctx.session, ctx.tenant, username=username, roles=roles, actor=ctx.actor, timezone=timezone
    )


def list_users(ctx: Context, *, include_removed: bool = False) -> list[TenantUser]:
    authorize(ctx, permissions.USER_LIST)
    assert ctx.tenant is not None
    return tenancy.list_users(ctx.session, ctx.tenant, include_removed=include_removed)


def remove_user(ctx: Context, username: str, *, confirm: Confirm | None = None) -> TenantUser:
    """Revoke every role of ``username`` in the context's tenant (asking after the role check)."""
    authorize(ctx, permissions.USER_REMOVE)
    ask(confirm)
    assert ctx.tenant is not None
    return tenancy.remove_user(ctx.session, ctx.tenant, username=username, actor=ctx.actor)


def list_tenants(ctx: Context, *, all_tenants: bool = False) -> list[Tenant]:
    """The caller's tenants; with ``all_tenants`` every tenant (installation administrators)."""
    if all_tenants:
        authorize(ctx, permissions.TENANT_LIST_ALL)
    return tenancy.list_tenants(ctx.session, username=ctx.actor, all_tenants=all_tenants)


def list_admins(ctx: Context) -> list[dict[str, Any]]:
    return installation.list_admins(ctx.session)


def add_admin(ctx: Context, name: str) -> dict[str, Any]:
    authorize(ctx, permissions.ADMIN_CHANGE)
    return installation.add_admin(ctx.session, name=name, actor=ctx.actor)


def check_admin_change(ctx: Context) -> None:
    """The gate before ``admin remove`` asks for confirmation."""
    authorize(ctx, permissions.ADMIN_CHANGE)


def remove_admin(ctx: Context, name: str) -> dict[str, Any]:
    authorize(ctx, permissions.ADMIN_CHANGE)
    return installation.remove_admin(ctx.session, name=name, actor=ctx.actor)


def create_tenant(
    ctx: Context,
    name: str,
    *,
    monthly_budget: str | None = None,
    hourly_budget: str | None = None,
    data_roots: Sequence[str] = (),
) -> dict[str, Any]:
    """A new tenant whose first admin is the caller; roots only from an installation admin."""
    from shifty_ent.data import api as data_api

    if data_roots:
        authorize(ctx, permissions.TENANT_ROOTS)
    tenant = tenancy.create_tenant(
        ctx.session,
        name=name,
        actor=ctx.actor,
        monthly_budget=monthly_budget,
        hourly_budget=hourly_budget,
    )
    added = [data_api.add_root(ctx, tenant, path) for path in data_roots]
    return {
        **tenant.public(),
        "data_roots": [r["path"] for r in added],
        "data_roots_created": [r["path"] for r in added if r["created"]],
    }


def add_root(ctx: Context, tenant: Tenant, path: str) -> dict[str, Any]:
    from shifty_ent.data import api as data_api

    authorize(ctx, permissions.TENANT_ROOTS)
    return data_api.add_root(ctx, tenant, path)


def remove_root(
    ctx: Context, tenant: Tenant, path: str, *, host: str | None, confirm: Confirm | None = None
) -> dict[str, Any]:
    from shifty_ent.data import api as data_api

    authorize(ctx, permissions.TENANT_ROOTS)
    ask(confirm)
    return data_api.remove_root(ctx, tenant, path, host=host)


def list_roots(
    ctx: Context, tenant: Tenant | None, *, include_removed: bool = False
) -> list[dict[str, Any]]:
    from shifty_ent.data import api as data_api

    authorize(ctx, permissions.TENANT_ROOTS)
    return data_api.list_roots(ctx, tenant, include_removed=include_removed)
