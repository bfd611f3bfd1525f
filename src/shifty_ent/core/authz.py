"""Permissions: each is declared once, in its group's ``permissions`` module, and checked by the
service function that does the work, so every caller (CLI, other groups, quickstart, tests) meets
the same gate.

A permission names the roles that may use it; admin satisfies every role (see
:func:`shifty_ent.core.tenancy.require_role`). This module stays light (no store imports) because
the permission declarations are imported wherever the docs and the CLI need them.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from shifty_ent.core.context import Context
    from shifty_ent.core.tables import Tenant

ANY_MEMBER: tuple[str, ...] = ("admin", "operator", "auditor", "labeler")
#: the pseudo-role of installation-wide actions (no tenant role grants them)
INSTALLATION_ADMIN = "installation administrator"


@dataclass(frozen=True)
class Permission:
    """What one kind of action needs: a dotted ``name`` (``gpu.provision``), the roles that may
    do it (admin may always) and a one-line summary for the docs."""

    name: str
    roles: tuple[str, ...]
    summary: str


PERMISSIONS: dict[str, Permission] = {}


def declare(name: str, roles: tuple[str, ...], summary: str) -> Permission:
    """Register a permission; a second declaration of the same name is a programming error."""
    if name in PERMISSIONS:
        raise ValueError(f"permission {name!r} is declared twice")
    if not roles:
        raise ValueError(f"permission {name!r} names no role")
    if INSTALLATION_ADMIN in roles and len(roles) > 1:
        raise ValueError(f"permission {name!r}: installation administration stands alone")
    perm = Permission(name=name, roles=tuple(roles), summary=summary)
    PERMISSIONS[name] = perm
    return perm


def authorize(ctx: Context, permission: Permission, *, tenant: Tenant | None = None) -> set[str]:
    """Refuse (exit 4) unless the acting user holds one of the permission's roles (admin holds
    them all) in the context's tenant, or in ``tenant`` when the action is about another one.
    Returns the roles the user holds. Installation-wide permissions need an installation
    administrator whatever the tenant."""
    if permission.roles == (INSTALLATION_ADMIN,):
        ctx.require_installation_admin(permission.summary.rstrip("."))
        return {INSTALLATION_ADMIN}
    if tenant is None:
        return ctx.require_role(*permission.roles)
    from shifty_ent.core import tenancy

    return tenancy.require_role(ctx.session, tenant, ctx.actor, permission.roles)
