"""The installation: its identity mode and its administrators.

Installation administrators are the account (or PostgreSQL role) that created the store or migrated
its schema, plus those they name. Only they may act across tenants: list every tenant, verify
every audit chain, reconcile every tenant's GPUs, and assign data roots to tenants.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import func, select
from sqlmodel import Session, col

from shifty_ent.core import audit, identity
from shifty_ent.core.errors import NotFound, PermissionDenied, Refused
from shifty_ent.core.tables import Installation, InstallationAdmin


def read(session: Session) -> Installation | None:
    return session.get(Installation, 1)


def record(session: Session, *, mode: str, created_by: str) -> Installation:
    """Write the installation row once (mode fixed from then on) and make its creator an admin."""
    existing = read(session)
    if existing is not None:
        return existing
    row = Installation(id=1, identity_mode=mode, created_by=created_by)
    session.add(row)
    session.flush()
    _add(session, created_by, added_by=created_by)
    audit.append(
        session,
        tenant_id=None,
        actor=created_by,
        action="installation.create",
        target_type="installation",
        target_id="1",
        details={"identity_mode": mode},
    )
    return row


def _add(session: Session, name: str, *, added_by: str) -> InstallationAdmin:
    row = InstallationAdmin(name_key=identity.name_key(name), name=name, added_by=added_by)
    session.add(row)
    session.flush()
    return row


def is_admin(session: Session, name: str) -> bool:
    key = identity.name_key(name)
    return (
        session.scalar(
            select(col(InstallationAdmin.name_key)).where(col(InstallationAdmin.name_key) == key)
        )
        is not None
    )


def require_admin(session: Session, name: str, what: str) -> None:
    if not is_admin(session, name):
        raise PermissionDenied(
            f"{what} needs an installation administrator; {name!r} is not one "
            "(see: shifty-ent admin list)"
        )


def list_admins(session: Session) -> list[dict[str, Any]]:
    rows = session.scalars(select(InstallationAdmin).order_by(InstallationAdmin.name_key)).all()
    return [{"user": r.name, "added_by": r.added_by, "added_at": r.added_at} for r in rows]


def add_admin(session: Session, *, name: str, actor: str) -> dict[str, Any]:
    require_admin(session, actor, "admin add")
    name = identity.normalize_name(name)
    key = identity.name_key(name)
    row = session.get(InstallationAdmin, key)
    if row is None:
        row = _add(session, name, added_by=actor)
        audit.append(
            session,
            tenant_id=None,
            actor=actor,
            action="installation.admin_add",
            target_type="user",
            target_id=name,
            details={"user": name},
        )
    return {"user": row.name, "added_by": row.added_by, "added_at": row.added_at}


def remove_admin(session: Session, *, name: str, actor: str) -> dict[str, Any]:
    require_admin(session, actor, "admin remove")
    key = identity.name_key(identity.normalize_name(name))
    # serialise removals: two admins removing each other at once must leave one
    admins = session.scalars(select(InstallationAdmin).with_for_update()).all()
    row = next((a for a in admins if a.name_key == key), None)
    if row is None:
        raise NotFound(f"{name!r} is not an installation administrator")
    if len(admins) <= 1:
        raise Refused(f"{row.name!r} is the last installation administrator; add another first")
    session.delete(row)
    audit.append(
        session,
        tenant_id=None,
        actor=actor,
        action="installation.admin_remove",
        target_type="user",
        target_id=row.name,
        details={"user": row.name},
    )
    session.flush()
    return {"user": row.name, "removed_by": actor}


def add_admin_unchecked(session: Session, *, name: str, reason: str) -> None:
    """Make ``name`` an administrator because of what they just did (created or migrated the
    store), not because another administrator named them."""
    _add(session, name, added_by=name)
    audit.append(
        session,
        tenant_id=None,
        actor=name,
        action="installation.admin_add",
        target_type="user",
        target_id=name,
        details={"user": name, "reason": reason},
    )


def admin_count(session: Session) -> int:
    return int(session.scalar(select(func.count()).select_from(InstallationAdmin)) or 0)
