"""Commands: init, config show, db upgrade|current|check, tenant ..., user ..."""

from __future__ import annotations

from typing import Annotated

import typer

from shifty_ent.core.choices import ROLES, StoreValues, Values
from shifty_ent.core.identity import MODES as IDENTITY_MODES
from shifty_ent.core.options import YesOpt
from shifty_ent.core.runtime import asker, command, confirm, emit, info, make_app, settings
from shifty_ent.setup import roots_cli

init_app = typer.Typer(add_completion=False)
config_app = make_app("Show the effective settings (secrets masked).")
admin_app = make_app("Installation administrators: who may act across tenants.")
db_app = make_app("Apply and check state store migrations.")
tenant_app = make_app("Create and inspect tenants.")
user_app = make_app("Manage a tenant's users and roles.")
tenant_app.add_typer(roots_cli.root_app, name="root")


IdentityModeOpt = Annotated[
    str | None,
    typer.Option(
        "--identity",
        metavar="MODE",
        parser=Values(IDENTITY_MODES),
        help="How the store proves who acts, fixed at creation (default: os for SQLite, "
        "postgres for PostgreSQL; declared is for sandboxes and tests).",
    ),
]


@init_app.command("init")
def init_cmd(identity: IdentityModeOpt = None) -> None:
    """Create the config file, the signing key and the database (if missing); print their paths.

    No role needed: it touches only this machine's files and the configured store. Whoever
    creates the store becomes its first installation administrator.
    """
    from shifty_ent.setup import service

    emit(service.init(settings(), identity_mode=identity))


@config_app.command("show")
def config_show() -> None:
    """Print every setting with its value and source (flag, env, file, default); secrets masked.

    ``identity`` shows the store's identity mode and who you are to it.
    """
    from shifty_ent.setup import service

    emit(service.config_show(settings()))


@admin_app.command("list")
def admin_list() -> None:
    """Installation administrators. Anyone with access to the store may look."""
    from shifty_ent.setup import members

    with command(tenant="none") as ctx:
        emit(members.list_admins(ctx))


@admin_app.command("add")
def admin_add(
    user: Annotated[
        str, typer.Argument(metavar="USER", parser=StoreValues("user"), help="User name.")
    ],
) -> None:
    """Make USER an installation administrator. Needs an installation administrator."""
    from shifty_ent.setup import members

    with command(tenant="none") as ctx:
        emit(members.add_admin(ctx, user))


@admin_app.command("remove")
def admin_remove(
    user: Annotated[
        str, typer.Argument(metavar="USER", parser=StoreValues("user"), help="User name.")
    ],
    yes: YesOpt = False,
) -> None:
    """Revoke USER's installation administration (never the last one). Needs one."""
    from shifty_ent.setup import members

    with command(tenant="none") as ctx:
        members.check_admin_change(ctx)
        confirm(f"Remove {user} as installation administrator?", yes=yes)
        emit(members.remove_admin(ctx, user))


@db_app.command("upgrade")
def db_upgrade() -> None:
    """Apply all migrations to the configured store (SQLite or PostgreSQL)."""
    from shifty_ent.setup import service

    emit(service.db_upgrade(settings()))


@db_app.command("current")
def db_current() -> None:
    """Show the store's schema revision(s) and the code's."""
    from shifty_ent.setup import service

    emit(service.db_status(settings()))


@db_app.command("check")
def db_check() -> None:
    """Exit 0 when the schema is current, 4 (naming the command to run) when it is behind."""
    from shifty_ent.setup import service

    emit(service.db_check(settings()))


TenantArg = Annotated[
    str, typer.Argument(metavar="NAME", help="Tenant name (letters, digits, - _ .).")
]


@tenant_app.command("create")
def tenant_create(
    name: TenantArg,
    gpu_monthly_budget: Annotated[
        str | None, typer.Option("--gpu-monthly-budget", metavar="USD", help="Monthly GPU budget.")
    ] = None,
    gpu_hourly_budget: Annotated[
        str | None, typer.Option("--gpu-hourly-budget", metavar="USD", help="Hourly GPU budget.")
    ] = None,
    data_root: Annotated[
        list[str] | None,
        typer.Option(
            "--data-root",
            metavar="PATH",
            help="Directory on this host whose files may be erased (installation admin only; "
            "see 'tenant root add').",
        ),
    ] = None,
) -> None:
    """Create a tenant; the acting user becomes its first admin. No role needed, except that
    --data-root needs an installation administrator (exit 4 otherwise, nothing created).

    Examples:
    shifty-ent tenant create acme --gpu-monthly-budget 500
    shifty-ent tenant create acme --data-root /srv/acme/data
    """
    from shifty_ent.setup import members

    with command(tenant="none") as ctx:
        row = members.create_tenant(
            ctx,
            name,
            monthly_budget=gpu_monthly_budget,
            hourly_budget=gpu_hourly_budget,
            data_roots=data_root or [],
        )
    for path in row["data_roots_created"]:
        info(f"created the data root directory {path} (mode 0700)")
    emit(row)


@tenant_app.command("list")
def tenant_list(
    all_tenants: Annotated[
        bool, typer.Option("--all", help="Every tenant in the store, not only your own.")
    ] = False,
) -> None:
    """Tenants the acting user belongs to (or all with --all)."""
    from shifty_ent.setup import members

    with command(tenant="none") as ctx:
        emit(members.list_tenants(ctx, all_tenants=all_tenants))


@tenant_app.command("show")
def tenant_show(
    tenant: Annotated[
        str | None,
        typer.Argument(
            metavar="[TENANT]",
            parser=StoreValues("tenant"),
            help="Id, prefix or name; default --tenant.",
        ),
    ] = None,
) -> None:
    """Show one tenant (default: the --tenant one). Any role of that tenant may look."""
    from shifty_ent.setup import members

    with command(tenant="optional") as ctx:
        emit(members.show_tenant(ctx, tenant))


@user_app.command("add")
def user_add(
    user: Annotated[
        str, typer.Argument(metavar="USER", parser=StoreValues("user"), help="User name.")
    ],
    role: Annotated[
        list[str],
        typer.Option("--role", "-r", parser=Values(ROLES), help="Role (repeatable)."),
    ],
    timezone: Annotated[
        str | None,
        typer.Option("--timezone", metavar="TZ", help="IANA time zone (streaks count in it)."),
    ] = None,
) -> None:
    """Add a user to the tenant, or grant more roles. Needs admin.

    Examples:
    shifty-ent -t acme user add olga --role operator
    shifty-ent -t acme user add audrey --role auditor --timezone Europe/Berlin
    """
    from shifty_ent.core import pgroles, tenancy
    from shifty_ent.setup import members

    with command() as ctx:
        added = members.add_user(ctx, user, role, timezone=timezone)
        emit(tenancy.user_view(ctx.session, added))
        note = ctx.session.info.pop(pgroles.NOTE_KEY, None)
    if note:
        info(note)


@user_app.command("list")
def user_list(
    removed: Annotated[bool, typer.Option("--removed", help="Include removed users.")] = False,
) -> None:
    """Users of the tenant and their roles. Any role may look.

    Examples:
    shifty-ent -t acme user list
    shifty-ent user list -t acme -o csv
    """
    from shifty_ent.core import tenancy
    from shifty_ent.setup import members

    with command() as ctx:
        users = members.list_users(ctx, include_removed=removed)
        emit([tenancy.user_view(ctx.session, u) for u in users])


@user_app.command("remove")
def user_remove(
    user: Annotated[
        str, typer.Argument(metavar="USER", parser=StoreValues("user"), help="User name.")
    ],
    yes: YesOpt = False,
) -> None:
    """Revoke every role of USER in the tenant (history keeps the name). Needs admin."""
    from shifty_ent.core import tenancy
    from shifty_ent.setup import members

    with command() as ctx:
        removed = members.remove_user(
            ctx, user, confirm=asker(f"Remove {user} from the tenant?", yes=yes)
        )
        emit(tenancy.user_view(ctx.session, removed))
