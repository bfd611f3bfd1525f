"""Data roots: directories on one host below which one tenant's local files may be erased.

A root is what lets the tool overwrite and unlink files, so it is an installation-wide decision:
only an installation administrator adds or removes one, and every change is audited in the
tenant's chain. Roots of different tenants on one host never nest (equal, inside or above is
refused, exit 4), checked under a lock (PostgreSQL advisory lock; SQLite transactions already hold
the write lock), so two concurrent additions cannot overlap. One live row per (host, path) is the
database's own rule besides. A root is removed only when no live asset or workspace of its
tenant lies below it (exit 5); its row stays, with ``removed_at``, for history.
"""

from __future__ import annotations

import os
import uuid
from pathlib import Path
from typing import Any

from sqlalchemy import or_, select, text
from sqlmodel import Session, col

from shifty_ent.core import audit, hosts, installation
from shifty_ent.core.clock import now
from shifty_ent.core.errors import Conflict, InvalidInput, NotFound, Refused
from shifty_ent.core.tables import DataRoot, Tenant

LOCK_KEY = 0x5348494654590001  # pg_advisory_xact_lock key serialising root changes


# directories that hold the system, not a tenant's data: never a root, never registered whole
SYSTEM_ROOTS = frozenset(
    [
        "/",
        "/bin",
        "/boot",
        "/dev",
        "/etc",
        "/home",
        "/lib",
        "/lib32",
        "/lib64",
        "/opt",
        "/proc",
        "/root",
        "/run",
        "/sbin",
        "/srv",
        "/sys",
        "/tmp",
        "/usr",
        "/var",
        "/var/tmp",
        "/mnt",
        "/media",
        "/snap",
        "/Users",
        "/System",
        "/Library",
        "/private",
        "/Volumes",
    ]
)


def normalize(raw: str, *, must_exist: bool = True) -> str:
    """An absolute, normalised directory path with no symbolic link anywhere on it."""
    raw = (raw or "").strip()
    if not raw or "\x00" in raw:
        raise InvalidInput("a data root must be a directory path")
    expanded = os.path.expanduser(raw)
    if not os.path.isabs(expanded):
        raise InvalidInput(f"data root {raw!r} must be an absolute path")
    path = os.path.abspath(expanded)
    if path in SYSTEM_ROOTS:
        raise Refused(f"{path} is a system directory; give a directory below it as a data root")
    if not must_exist:
        return path
    if not os.path.isdir(path):
        raise InvalidInput(f"data root {raw!r} is not an existing directory")
    real = os.path.realpath(path)
    if real != path:
        raise InvalidInput(
            f"data root {raw!r} goes through a symbolic link; give the real path {real}"
        )
    return path


def _refuse_links_above(raw: str, path: str) -> None:
    """A root that does not exist yet may not be reached through a symbolic link either."""
    real = os.path.realpath(path)
    if real != path:
        raise InvalidInput(
            f"data root {raw!r} goes through a symbolic link; give the real path {real}"
        )


def _create_private(path: str) -> None:
    """Create a missing root (and missing parents) readable by its owner only."""
    try:
        os.makedirs(path, mode=0o700, exist_ok=False)
        os.chmod(path, 0o700)
    except FileExistsError:
        if not os.path.isdir(path) or os.path.realpath(path) != path:
            raise InvalidInput(
                f"data root {path} appeared meanwhile and is not a directory"
            ) from None
    except OSError as exc:
        raise InvalidInput(f"data root {path} cannot be created: {exc.strerror}") from None


def _nested(a: str, b: str) -> bool:
    """Equal, or one inside the other."""
    pa, pb = Path(a), Path(b)
    return pa == pb or pa.is_relative_to(pb) or pb.is_relative_to(pa)


def lock(session: Session) -> None:
    """Serialise root changes (and registrations checked against roots) across processes."""
    if session.get_bind().dialect.name == "postgresql":
        session.execute(text("SELECT pg_advisory_xact_lock(:k)"), {"k": LOCK_KEY})


def live_roots(
    session: Session, *, host_id: str | None = None, tenant_id: uuid.UUID | None = None
) -> list[DataRoot]:
    stmt = select(DataRoot).where(col(DataRoot.removed_at).is_(None))
    if host_id is not None:
        stmt = stmt.where(col(DataRoot.host_id) == host_id)
    if tenant_id is not None:
        stmt = stmt.where(col(DataRoot.tenant_id) == tenant_id)
    return list(session.scalars(stmt.order_by(DataRoot.path)).all())


def paths_on(session: Session, tenant_id: uuid.UUID, host_id: str) -> list[str]:
    """The tenant's live roots on one host: where its local files there may be erased."""
    return [r.path for r in live_roots(session, host_id=host_id, tenant_id=tenant_id)]


def owner_of(session: Session, host_id: str, path: str) -> DataRoot | None:
    """The live root (of any tenant) on ``host_id`` that holds ``path``, if any."""
    for root in live_roots(session, host_id=host_id):
        if Path(path) == Path(root.path) or Path(path).is_relative_to(root.path):
            return root
    return None


def _below(column: Any, path: str) -> Any:
    """SQL: ``column`` is ``path`` or lies below it (LIKE with the prefix escaped)."""
    escaped = path.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
    return or_(column == path, column.like(escaped + "/%", escape="\\"))


def _tenant_name(session: Session, tenant_id: uuid.UUID) -> str:
    tenant = session.get(Tenant, tenant_id)
    return tenant.name if tenant else str(tenant_id)


def add_root(
    session: Session,
    tenant: Tenant,
    raw: str,
    *,
    actor: str,
    host: hosts.HostInfo,
) -> DataRoot:
    """Give ``tenant`` the directory ``raw`` on this host (installation administrator only).

    A directory that does not exist yet is created (mode 0700, owned by the caller) once every
    check has passed, so a first ``tenant create --data-root ~/acme-data`` works as written; a
    path through a symbolic link is refused either way.
    """
    from shifty_ent.data.tables import Asset

    installation.require_admin(session, actor, "tenant root add")
    path = normalize(raw, must_exist=False)
    missing = not os.path.lexists(path)
    if missing:
        _refuse_links_above(raw, path)
    else:
        path = normalize(raw)
    lock(session)
    for other in live_roots(session, host_id=host.id):
        if not _nested(path, other.path):
            continue
        if other.tenant_id == tenant.id:
            raise Conflict(f"{path} overlaps data root {other.path} that {tenant.name!r} has")
        raise Refused(
            f"{path} overlaps data root {other.path} of tenant "
            f"{_tenant_name(session, other.tenant_id)!r} on host {host.name}; "
            "roots of different tenants never nest"
        )
    foreign = session.scalars(
        select(Asset).where(
            col(Asset.host_id) == host.id,
            col(Asset.tenant_id) != tenant.id,
            col(Asset.status) != "deleted",
            _below(Asset.location, path),
        )
    ).first()
    if foreign is not None:
        raise Refused(
            f"{path} holds {foreign.location}, a live asset of tenant "
            f"{_tenant_name(session, foreign.tenant_id)!r}; refused"
        )
    if missing:
        _create_private(path)
    hosts.remember(session, host)
    row = DataRoot(
        tenant_id=tenant.id,
        path=path,
        host_id=host.id,
        host_name=host.name,
        added_by=actor,
        added_at=now(),
    )
    return _record(session, tenant, row, actor=actor, action="tenant.root.add")


def _record(
    session: Session, tenant: Tenant, row: DataRoot, *, actor: str, action: str
) -> DataRoot:
    """Store the root's change and its audit event in the same transaction."""
    session.add(row)
    session.flush()
    audit.append(
        session,
        tenant_id=tenant.id,
        actor=actor,
        action=action,
        target_type="data_root",
        target_id=row.id,
        details={"path": row.path, "host_id": row.host_id, "host_name": row.host_name},
    )
    return row


def remove_root(
    session: Session,
    tenant: Tenant,
    raw: str,
    *,
    actor: str,
    host_id: str,
) -> DataRoot:
    """Withdraw a root; refused (exit 5) while a live asset or workspace of the tenant is below."""
    from shifty_ent.data.tables import Asset, Workspace

    installation.require_admin(session, actor, "tenant root remove")
    path = normalize(raw, must_exist=False)
    lock(session)
    row = next(
        (r for r in live_roots(session, host_id=host_id, tenant_id=tenant.id) if r.path == path),
        None,
    )
    if row is None:
        raise NotFound(f"{path} is not a data root of {tenant.name!r} on host {host_id}")
    asset = session.scalars(
        select(Asset).where(
            col(Asset.tenant_id) == tenant.id,
            col(Asset.host_id) == host_id,
            col(Asset.status) != "deleted",
            _below(Asset.location, path),
        )
    ).first()
    if asset is not None:
        raise Conflict(
            f"asset {asset.name!r} ({asset.location}) is still live below {path}; "
            "erase it (or its workspace) first"
        )
    ws = session.scalars(
        select(Workspace).where(
            col(Workspace.tenant_id) == tenant.id,
            col(Workspace.host_id) == host_id,
            col(Workspace.status) != "destroyed",
            _below(Workspace.path, path),
        )
    ).first()
    if ws is not None:
        raise Conflict(f"workspace {ws.name!r} is still live below {path}; destroy it first")
    row.removed_at, row.removed_by = now(), actor
    return _record(session, tenant, row, actor=actor, action="tenant.root.remove")


def list_roots(
    session: Session,
    *,
    actor: str,
    host: hosts.HostInfo,
    tenant: Tenant | None = None,
    include_removed: bool = False,
) -> list[dict[str, Any]]:
    """Roots of one tenant, or of every tenant (installation administrator only)."""
    installation.require_admin(session, actor, "tenant root list")
    stmt = select(DataRoot, col(Tenant.name)).join(
        Tenant, col(Tenant.id) == col(DataRoot.tenant_id)
    )
    if tenant is not None:
        stmt = stmt.where(col(DataRoot.tenant_id) == tenant.id)
    if not include_removed:
        stmt = stmt.where(col(DataRoot.removed_at).is_(None))
    rows = session.execute(stmt.order_by(Tenant.name, DataRoot.host_name, DataRoot.path)).all()
    return [
        {"tenant": name, **root.public(), "this_host": root.host_id == host.id}
        for root, name in rows
    ]
