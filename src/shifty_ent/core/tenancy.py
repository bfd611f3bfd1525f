"""Tenants, their users and roles, and the role check every command uses.

Roles are per tenant: ``admin``, ``operator``, ``labeler``, ``auditor``. An admin satisfies any
role requirement except where a rule says otherwise (four-eyes approval compares people, not
roles). The user who creates a tenant becomes its first admin; the last admin cannot be removed.
"""

from __future__ import annotations

import re
import uuid
from collections.abc import Iterable, Sequence
from decimal import ROUND_DOWN, Decimal, InvalidOperation
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from sqlalchemy import func, select
from sqlmodel import Session, col

from shifty_ent.core import audit, installation, pgroles
from shifty_ent.core.clock import now
from shifty_ent.core.errors import Conflict, InvalidInput, NotFound, PermissionDenied, Refused
from shifty_ent.core.identity import name_key, normalize_name
from shifty_ent.core.ids import resolve
from shifty_ent.core.tables import ROLES, Tenant, TenantUser, UserRole

NAME_CHARS = set("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789-_.")


def validate_name(name: str, what: str, *, max_len: int = 64) -> str:
    name = (name or "").strip()
    if not name or len(name) > max_len or not set(name) <= NAME_CHARS:
        raise InvalidInput(
            f"{what} {name!r} is not valid: use 1-{max_len} letters, digits, '-', '_' or '.'"
        )
    if len(name) == 36 and name.count("-") == 4:
        raise InvalidInput(f"{what} {name!r} looks like a UUID; choose a name")
    return name


# digits with at most six decimals: no exponent (1e-400 rounds to zero), no "1_000", no spaces
_MONEY = re.compile(r"-?[0-9]{1,13}(\.[0-9]{1,12})?")
MONEY_MAX = Decimal(10) ** 12


def parse_money(value: str | Decimal | None, what: str) -> Decimal | None:
    if value is None:
        return None
    text = str(value)
    if not isinstance(value, Decimal) and not _MONEY.fullmatch(text):
        raise InvalidInput(f"{what}: {value!r} is not a number of USD (e.g. 12.50)")
    try:
        dec = Decimal(text)
    except InvalidOperation:
        raise InvalidInput(f"{what}: {value!r} is not a number of USD") from None
    if not dec.is_finite() or dec < 0:
        raise InvalidInput(f"{what}: {value!r} must be zero or more USD")
    if dec > MONEY_MAX:
        raise InvalidInput(f"{what}: {value!r} is out of range (at most {MONEY_MAX} USD)")
    if dec != dec.quantize(Decimal("0.000001"), rounding=ROUND_DOWN):
        raise InvalidInput(f"{what}: {value!r} is finer than a micro-dollar (0.000001 USD)")
    return dec


def validate_roles(roles: Iterable[str]) -> list[str]:
    out = []
    for role in roles:
        if role not in ROLES:
            raise InvalidInput(f"unknown role {role!r}; choose from {', '.join(ROLES)}")
        if role not in out:
            out.append(role)
    if not out:
        raise InvalidInput("give at least one --role")
    return out


def get_tenant(session: Session, ref: str) -> Tenant:
    return resolve(session, Tenant, ref, what="tenant")


def create_tenant(
    session: Session,
    *,
    name: str,
    actor: str,
    monthly_budget: str | Decimal | None = None,
    hourly_budget: str | Decimal | None = None,
) -> Tenant:
    """A new tenant with ``actor`` as its first admin. Data roots are given separately, by an
    installation administrator (:func:`shifty_ent.data.roots.add_root`)."""
    name = validate_name(name, "tenant name")
    if session.scalars(select(Tenant).where(col(Tenant.name) == name)).first():
        raise Conflict(f"tenant {name!r} already exists")
    tenant = Tenant(
        name=name,
        created_by=actor,
        gpu_monthly_budget=parse_money(monthly_budget, "--gpu-monthly-budget"),
        gpu_hourly_budget=parse_money(hourly_budget, "--gpu-hourly-budget"),
    )
    session.add(tenant)
    session.flush()
    user = TenantUser(tenant_id=tenant.id, username=actor, username_key=name_key(actor))
    session.add(user)
    session.flush()
    session.add(UserRole(tenant_id=tenant.id, user_id=user.id, role="admin", granted_by=actor))
    audit.append(
        session,
        tenant_id=tenant.id,
        actor=actor,
        action="tenant.create",
        target_type="tenant",
        target_id=tenant.id,
        details={
            "name": name,
            **{k: v for k, v in tenant.public().items() if k.startswith("gpu_")},
        },
    )
    session.flush()
    return tenant


def tenants_of(session: Session, username: str) -> list[Tenant]:
    stmt = (
        select(Tenant)
        .join(TenantUser, col(TenantUser.tenant_id) == col(Tenant.id))
        .where(
            col(TenantUser.username_key) == name_key(username),
            col(TenantUser.removed_at).is_(None),
        )
        .order_by(Tenant.name)
    )
    return list(session.scalars(stmt).unique().all())


def list_tenants(session: Session, *, username: str, all_tenants: bool = False) -> list[Tenant]:
    """The caller's tenants; every tenant only for an installation administrator."""
    if all_tenants:
        installation.require_admin(session, username, "tenant list --all")
        return list(session.scalars(select(Tenant).order_by(Tenant.name)).all())
    return tenants_of(session, username)


def find_user(session: Session, tenant_id: uuid.UUID, username: str) -> TenantUser | None:
    return session.scalars(
        select(TenantUser).where(
            col(TenantUser.tenant_id) == tenant_id,
            col(TenantUser.username_key) == name_key(username),
        )
    ).first()


def roles_of(session: Session, tenant_id: uuid.UUID, username: str) -> set[str]:
    stmt = (
        select(col(UserRole.role))
        .join(
            TenantUser,
            (col(TenantUser.id) == col(UserRole.user_id))
            & (col(TenantUser.tenant_id) == col(UserRole.tenant_id)),
        )
        .where(
            col(UserRole.tenant_id) == tenant_id,
            col(TenantUser.username_key) == name_key(username),
            col(TenantUser.removed_at).is_(None),
        )
    )
    return set(session.scalars(stmt).all())


def member_and_roles(
    session: Session, tenant_id: uuid.UUID, username: str
) -> tuple[str | None, set[str]]:
    """The member's stored spelling and roles, in one round trip (None: not an active member)."""
    stmt = (
        select(col(TenantUser.username), col(UserRole.role))
        .outerjoin(
            UserRole,
            (col(TenantUser.id) == col(UserRole.user_id))
            & (col(TenantUser.tenant_id) == col(UserRole.tenant_id)),
        )
        .where(
            col(TenantUser.tenant_id) == tenant_id,
            col(TenantUser.username_key) == name_key(username),
            col(TenantUser.removed_at).is_(None),
        )
    )
    rows = session.execute(stmt).all()
    if not rows:
        return None, set()
    return rows[0][0], {role for _, role in rows if role is not None}


def require_role(
    session: Session,
    tenant: Tenant,
    username: str,
    roles: Sequence[str],
    *,
    have: set[str] | None = None,
) -> set[str]:
    """Refuse (exit 4) unless ``username`` holds one of ``roles`` (admin holds them all)."""
    if have is None:
        have = roles_of(session, tenant.id, username)
    if "admin" in have or have & set(roles):
        return have
    needed = " or ".join(roles)
    held = ", ".join(sorted(have)) or "no role"
    raise PermissionDenied(
        f"user {username!r} needs role {needed} in tenant {tenant.name!r} (has {held})"
    )


def user_view(session: Session, user: TenantUser) -> dict[str, Any]:
    roles = sorted(
        session.scalars(
            select(col(UserRole.role)).where(
                col(UserRole.tenant_id) == user.tenant_id, col(UserRole.user_id) == user.id
            )
        ).all()
    )
    return {
        "id": user.id,
        "tenant_id": user.tenant_id,
        "user": user.username,
        "roles": roles,
        "timezone": user.timezone,
        "created_at": user.created_at,
        "removed_at": user.removed_at,
    }


def add_user(
    session: Session,
    tenant: Tenant,
    *,
    username: str,
    roles: Sequence[str],
    actor: str,
    timezone: str | None = None,
) -> TenantUser:
    """Add a user, or grant more roles to an existing one (re-activating a removed user)."""
    username = normalize_name(username)
    wanted = validate_roles(roles)
    if timezone is not None:
        try:
            ZoneInfo(timezone)
        except (ZoneInfoNotFoundError, ValueError):
            raise InvalidInput(f"unknown time zone {timezone!r} (use an IANA name)") from None
    lock_tenant(session, tenant)
    pgroles.provision_and_tell(session, username)  # postgres stores: their own database login
    user = find_user(session, tenant.id, username)
    if user is None:
        user = TenantUser(
            tenant_id=tenant.id,
            username=username,
            username_key=name_key(username),
            timezone=timezone or "UTC",
        )
        session.add(user)
        session.flush()
    else:
        user.removed_at = None
        if timezone is not None:
            user.timezone = timezone
        session.add(user)
    existing = set(
        session.scalars(
            select(col(UserRole.role)).where(
                col(UserRole.tenant_id) == tenant.id, col(UserRole.user_id) == user.id
            )
        ).all()
    )
    granted = [r for r in wanted if r not in existing]
    for role in granted:
        session.add(UserRole(tenant_id=tenant.id, user_id=user.id, role=role, granted_by=actor))
    audit.append(
        session,
        tenant_id=tenant.id,
        actor=actor,
        action="user.add",
        target_type="user",
        target_id=user.id,
        details={"user": username, "roles_granted": granted, "timezone": user.timezone},
    )
    session.flush()
    return user


def list_users(
    session: Session, tenant: Tenant, *, include_removed: bool = False
) -> list[TenantUser]:
    stmt = select(TenantUser).where(col(TenantUser.tenant_id) == tenant.id)
    if not include_removed:
        stmt = stmt.where(col(TenantUser.removed_at).is_(None))
    return list(session.scalars(stmt.order_by(TenantUser.username)).all())


def lock_tenant(session: Session, tenant: Tenant) -> None:
    """Serialise membership changes of one tenant (PostgreSQL row lock; SQLite's write lock is
    already held), so two admins removing each other at once cannot leave the tenant with none."""
    session.execute(select(col(Tenant.id)).where(col(Tenant.id) == tenant.id).with_for_update())


def remove_user(session: Session, tenant: Tenant, *, username: str, actor: str) -> TenantUser:
    lock_tenant(session, tenant)
    user = find_user(session, tenant.id, username)
    if user is None or user.removed_at is not None:
        raise NotFound(f"user {username!r} not found in tenant {tenant.name!r}")
    roles = roles_of(session, tenant.id, username)
    if "admin" in roles:
        admins = session.scalar(
            select(func.count())
            .select_from(UserRole)
            .join(
                TenantUser,
                (col(TenantUser.id) == col(UserRole.user_id))
                & (col(TenantUser.tenant_id) == col(UserRole.tenant_id)),
            )
            .where(
                col(UserRole.tenant_id) == tenant.id,
                col(UserRole.role) == "admin",
                col(TenantUser.removed_at).is_(None),
            )
        )
        if (admins or 0) <= 1:
            raise Refused(
                f"{username!r} is the last admin of tenant {tenant.name!r}; add another first"
            )
    for role in session.scalars(
        select(UserRole).where(
            col(UserRole.tenant_id) == tenant.id, col(UserRole.user_id) == user.id
        )
    ).all():
        session.delete(role)
    user.removed_at = now()
    session.add(user)
    audit.append(
        session,
        tenant_id=tenant.id,
        actor=actor,
        action="user.remove",
        target_type="user",
        target_id=user.id,
        details={"user": username, "roles_revoked": sorted(roles)},
    )
    session.flush()
    return user
