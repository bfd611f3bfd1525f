"""The per-command Context: settings, one session, the tenant, the acting user and the clock.

Commands build it with :func:`open_context`; services receive it and never open their own
sessions, so everything a command changes (and the audit events recording it) commits together,
or not at all.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from sqlalchemy import Engine
from sqlalchemy.exc import IntegrityError, OperationalError
from sqlmodel import Session

from shifty_ent.core import audit, clock, tenancy
from shifty_ent.core.config import Settings
from shifty_ent.core.errors import Conflict, ExternalServiceError, InvalidInput, ShiftyError
from shifty_ent.core.signing import KeyPair, load_or_create_key, register_key
from shifty_ent.core.store import (
    connection_error,
    ensure_schema,
    get_engine,
    new_session,
    sqlite_path,
)
from shifty_ent.core.tables import AuditEvent, Tenant


@dataclass
class Context:
    settings: Settings
    engine: Engine
    session: Session
    actor: str
    tenant: Tenant | None = None
    _key: KeyPair | None = field(default=None, repr=False)

    @property
    def tenant_id(self) -> uuid.UUID:
        if self.tenant is None:
            raise InvalidInput("no tenant: pass --tenant or set SHIFTY_TENANT")
        return self.tenant.id

    @property
    def dialect(self) -> str:
        return self.engine.dialect.name

    def now(self) -> datetime:
        return clock.now()

    def roles(self) -> set[str]:
        if self.tenant is None:
            return set()
        return tenancy.roles_of(self.session, self.tenant.id, self.actor)

    def require_role(self, *roles: str) -> set[str]:
        if self.tenant is None:
            raise InvalidInput("no tenant: pass --tenant or set SHIFTY_TENANT")
        return tenancy.require_role(self.session, self.tenant, self.actor, roles)

    def audit(
        self,
        action: str,
        *,
        target_type: str | None = None,
        target_id: Any = None,
        details: dict[str, Any] | None = None,
        tenant_id: uuid.UUID | None = None,
        actor: str | None = None,
    ) -> AuditEvent:
        """Append to this tenant's audit chain in the command's transaction."""
        return audit.append(
            self.session,
            tenant_id=tenant_id
            if tenant_id is not None
            else (self.tenant.id if self.tenant else None),
            actor=actor or self.actor,
            action=action,
            target_type=target_type,
            target_id=target_id,
            details=details,
            at=self.now(),
        )

    def signing_key(self) -> KeyPair:
        """The installation key, created on first use and registered in the store."""
        if self._key is None:
            pair, _ = load_or_create_key(self.settings.signing_key_path)
            if register_key(self.session, pair, self.actor):
                audit.append(
                    self.session,
                    tenant_id=None,
                    actor=self.actor,
                    action="signing_key.register",
                    target_type="signing_key",
                    target_id=pair.fingerprint[:64],
                    details={"fingerprint": pair.fingerprint, "public_key": pair.public_b64},
                )
            self._key = pair
        return self._key


def engine_for(settings: Settings) -> Engine:
    """Engine for the configured store; embedded SQLite is created and upgraded on first use."""
    engine = get_engine(settings.database_url)
    ensure_schema(engine, auto_upgrade=engine.dialect.name == "sqlite")
    return engine


@contextmanager
def open_context(
    settings: Settings,
    *,
    tenant: str = "required",
    roles: Sequence[str] = (),
) -> Iterator[Context]:
    """Open a session, resolve the tenant, check roles; commit on success, roll back on error.

    ``tenant`` is ``required``, ``optional`` (resolved when given) or ``none``.
    """
    try:
        engine = engine_for(settings)
        session = new_session(engine)
    except OperationalError as exc:
        raise connection_error(settings.database_url, exc) from None
    try:
        ctx = Context(settings=settings, engine=engine, session=session, actor=settings.user)
        if tenant != "none" and settings.tenant:
            ctx.tenant = tenancy.get_tenant(session, settings.tenant)
        elif tenant == "required":
            raise InvalidInput("no tenant: pass --tenant or set SHIFTY_TENANT")
        if roles:
            ctx.require_role(*roles)
        yield ctx
        session.commit()
    except IntegrityError as exc:
        session.rollback()
        raise Conflict(f"the store refused the change: {_short(exc)}") from exc
    except OperationalError as exc:
        session.rollback()
        if "locked" in str(exc).lower() or "could not serialize" in str(exc).lower():
            raise Conflict(f"the store is busy: {_short(exc)}; try again") from exc
        raise ExternalServiceError(f"database error: {_short(exc)}") from exc
    except BaseException:
        session.rollback()
        raise
    finally:
        session.close()


def _short(exc: Exception) -> str:
    text = str(getattr(exc, "orig", exc)).strip()
    return text.splitlines()[0] if text else type(exc).__name__


def describe_store(settings: Settings) -> dict[str, Any]:
    path = sqlite_path(settings.database_url)
    return {"database_url": settings.masked()["database_url"]["value"], "sqlite_file": path}


__all__ = ["Context", "ShiftyError", "engine_for", "open_context"]
