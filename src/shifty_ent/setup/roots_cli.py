"""Commands: tenant root add|remove|list (installation administrators only)."""

from __future__ import annotations

from typing import TYPE_CHECKING, Annotated

import typer

from shifty_ent.core.choices import StoreValues
from shifty_ent.core.options import YesOpt
from shifty_ent.core.runtime import asker, command, emit, info, make_app, settings

if TYPE_CHECKING:
    from shifty_ent.core.context import Context
    from shifty_ent.core.tables import Tenant

root_app = make_app("Data roots: where a tenant's local files may be erased, per host.")

PathArg = Annotated[str, typer.Argument(metavar="PATH", help="Absolute directory path.")]
TenantRefOpt = Annotated[
    str | None,
    typer.Option(
        "--tenant",
        "-t",
        metavar="TENANT",
        parser=StoreValues("tenant"),
        help="Tenant id, prefix or name (default: --tenant).",
    ),
]
ROOT_COLUMNS = ("tenant", "path", "host_name", "host_id", "this_host", "added_by", "added_at")


def _tenant(ctx: Context, ref: str | None, *, required: bool = True) -> Tenant | None:
    from shifty_ent.core import tenancy
    from shifty_ent.core.errors import InvalidInput

    ref = ref or settings().tenant
    if ref:
        return tenancy.get_tenant(ctx.session, ref)
    if required:
        raise InvalidInput("name the tenant: -t TENANT")
    return None


@root_app.command("add")
def root_add(path: PathArg, tenant: TenantRefOpt = None) -> None:
    """Give the tenant the directory PATH on this host. Needs an installation administrator.

    PATH must be an absolute directory path with no symbolic link on it; a missing directory
    is created (mode 0700). A root equal to, inside or above another tenant's root on this host
    is refused (exit 4).
    """
    from shifty_ent.setup import members

    with command(tenant="none") as ctx:
        target = _tenant(ctx, tenant)
        assert target is not None
        row = members.add_root(ctx, target, path)
    if row["created"]:
        info(f"created the data root directory {row['path']} (mode 0700)")
    emit(row)


@root_app.command("remove")
def root_remove(
    path: PathArg,
    tenant: TenantRefOpt = None,
    host: Annotated[
        str | None,
        typer.Option("--host", metavar="HOST_ID", help="Host the root is on (default: this one)."),
    ] = None,
    yes: YesOpt = False,
) -> None:
    """Withdraw a data root. Needs an installation administrator.

    Refused (exit 5) while a live asset or workspace of the tenant lies below it.
    """
    from shifty_ent.setup import members

    with command(tenant="none") as ctx:
        target = _tenant(ctx, tenant)
        assert target is not None
        ask = asker(f"Withdraw data root {path} of tenant {target.name}?", yes=yes)
        emit(members.remove_root(ctx, target, path, host=host, confirm=ask))


@root_app.command("list")
def root_list(
    tenant: TenantRefOpt = None,
    removed: Annotated[bool, typer.Option("--removed", help="Include removed roots.")] = False,
) -> None:
    """Data roots of one tenant (or of every tenant), on every host. Needs an installation
    administrator."""
    from shifty_ent.setup import members

    with command(tenant="none") as ctx:
        target = _tenant(ctx, tenant, required=False)
        rows = members.list_roots(ctx, target, include_removed=removed)
    emit(rows, columns=ROOT_COLUMNS)
