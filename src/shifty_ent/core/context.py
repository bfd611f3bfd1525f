"""The per-command Context: settings, one session, the tenant, the acting user and the clock.

Commands build it with :func:`open_context`; services receive it and never open their own
sessions, so everything a command changes (and the audit events recording it) commits together,
or not at all.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import datetime
from typing import TYPE_CHECKING, Any

from sqlalchemy import Engine, event
from sqlalchemy.exc import IntegrityError, OperationalError, StatementError
from sqlmodel import Session

from shifty_ent.core import audit, clock, hosts, identity, installation, tenancy
from shifty_ent.core.config import Settings
from shifty_ent.core.errors import (
    Conflict,
    ExternalServiceError,
    InvalidInput,
    Refused,
    ShiftyError,
)
from shifty_ent.core.store import (
    StoreFacts,
    connection_error,
    ensure_schema,
    get_engine,
    get_reader,
    new_session,
    probe,
    read_only_fs,
    script_heads,
    sqlite_path,
)
from shifty_ent.core.tables import AuditEvent, Tenant

if TYPE_CHECKING:
    from shifty_ent.core.signing import KeyPair


@dataclass
class Context:
    settings: Settings
    engine: Engine
    session: Session
    actor: str
    tenant: Tenant | None = None
    identity_mode: str = "declared"
    _key: KeyPair | None = field(default=None, repr=False)
    # the actor's roles in the tenant, read with the member lookup when the command opened
    _roles: set[str] | None = field(default=None, repr=False)
    _host: hosts.HostInfo | None = field(default=None, repr=False)
    # a read-only command's audit events (reading a classified record) go through a writing
    # session of their own, committed before the command shows anything
    _audit_writer: Session | None = field(default=None, repr=False)

    @property
    def readonly(self) -> bool:
        return bool(self.session.info.get("readonly"))

    def _audit_session(self) -> Session:
        if not self.readonly:
            return self.session
        if self._audit_writer is None:
            path = sqlite_path(self.settings.database_url)
            if path is not None and read_only_fs(path):
                raise Refused(
                    "this read is audited (classified records) and the store is on a read-only "
                    "file system, where no audit event can be written"
                )
            writer = new_session(get_engine(self.settings.database_url))
            writer.info["identity_mode"] = self.identity_mode
            _guard_clock(writer, self.identity_mode)
            self._audit_writer = writer
        return self._audit_writer

    @property
    def host(self) -> hosts.HostInfo:
        """The machine this command runs on: local files are acted on only by their own host."""
        if self._host is None:
            self._host = hosts.this_host(self.settings, self.identity_mode)
        return self._host

    # run once the command's transaction has committed, one per key (see after_commit)
    _after_commit: dict[str, Callable[[], Any]] = field(default_factory=dict, repr=False)

    def after_commit(self, key: str, action: Callable[[], Any]) -> None:
        """Run ``action`` after the command's final commit (work that must describe committed
        state, like an audit checkpoint); a second action under the same key replaces nothing."""
        self._after_commit.setdefault(key, action)

    @property
    def identity(self) -> str:
        """How documents name the identity this command ran under."""
        return identity.stamp(self.identity_mode)

    def is_installation_admin(self) -> bool:
        return installation.is_admin(self.session, self.actor)

    def require_installation_admin(self, what: str) -> None:
        """Refuse (exit 4) a tenant-less or installation-wide action by anyone else."""
        installation.require_admin(self.session, self.actor, what)

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
        if self._roles is None:
            self._roles = tenancy.roles_of(self.session, self.tenant.id, self.actor)
        return set(self._roles)

    def require_role(self, *roles: str) -> set[str]:
        if self.tenant is None:
            raise InvalidInput("no tenant: pass --tenant or set SHIFTY_TENANT")
        return tenancy.require_role(self.session, self.tenant, self.actor, roles, have=self.roles())

    def forget_roles(self) -> None:
        """Re-read the actor's roles on the next check (after a command changed them)."""
        self._roles = None

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
        if (
            actor
            and self.identity_mode == "postgres"
            and not identity.same_person(actor, self.actor)
        ):
            # the database records only the login as actor; a system label (gpu-reconcile) is kept
            details, actor = {**(details or {}), "system_actor": actor}, None
        return audit.append(
            self._audit_session(),
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
        # imported here: most commands never sign, and cryptography is not free to import
        from shifty_ent.core.signing import load_or_create_key, register_key

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
    return _open_store(settings)[0]


def _open_store(settings: Settings, *, readonly: bool = False) -> tuple[Engine, StoreFacts]:
    if readonly:
        reader = _open_reader(settings)
        if reader is not None:
            return reader
    engine = get_engine(settings.database_url)
    facts = ensure_schema(engine, auto_upgrade=engine.dialect.name == "sqlite")
    return engine, facts


def _open_reader(settings: Settings) -> tuple[Engine, StoreFacts] | None:
    """The read-only engine when the store is current and has its identity mode recorded;
    otherwise None, and the command takes the writing road (which upgrades an embedded store).
    A store that needs writing on a read-only file system is refused by that road's first write.
    """
    engine = get_reader(settings.database_url)
    if engine is None:
        return None
    try:
        facts = probe(engine)
    except OperationalError:
        return None
    if set(facts.heads) != script_heads() or facts.identity_mode is None:
        return None
    return engine, facts


def _identity_mode(settings: Settings, session: Session, facts: StoreFacts, dialect: str) -> str:
    """The store's recorded mode. An embedded store without one (new, or from an earlier version)
    records ``SHIFTY_IDENTITY`` or the default now; a PostgreSQL store gets its row from ``init``
    or ``db upgrade`` only, so nobody becomes installation admin by merely connecting."""
    wanted = settings.identity
    mode = facts.identity_mode
    if mode is None and dialect == "sqlite":
        mode = identity.check_mode(wanted or identity.default_mode(dialect), dialect)
        creator = identity.resolve_actor(mode, None, settings.user)
        installation.record(session, mode=mode, created_by=creator)
        session.commit()
    elif mode is None:
        mode = identity.default_mode(dialect)
    if wanted and identity.check_mode(wanted, dialect) != mode:
        raise Refused(
            f"SHIFTY_IDENTITY={wanted} does not apply: this store's identity mode is {mode!r}, "
            "fixed when it was created"
        )
    return mode


def _guard_clock(session: Session, mode: str) -> None:
    """Outside declared stores a fixed clock (``SHIFTY_NOW``) may preview, never write."""
    if mode == "declared" or not clock.is_fixed():
        return

    def refuse() -> None:
        raise InvalidInput(
            f"SHIFTY_NOW is set: a {mode}-identity store records only the real time; "
            "unset it (or use --dry-run to preview)"
        )

    @event.listens_for(session, "before_flush")
    def _flush(sess: Session, _ctx: Any, _instances: Any) -> None:
        if sess.new or sess.dirty or sess.deleted:
            refuse()

    @event.listens_for(session, "do_orm_execute")
    def _execute(state: Any) -> None:
        if state.is_insert or state.is_update or state.is_delete:
            refuse()


@contextmanager
def open_context(
    settings: Settings,
    *,
    tenant: str = "required",
    roles: Sequence[str] = (),
    readonly: bool = False,
) -> Iterator[Context]:
    """Open a session, resolve the tenant, check roles; commit on success, roll back on error.

    ``tenant`` is ``required``, ``optional`` (resolved when given) or ``none``. ``readonly``
    commands open an embedded store without its write lock (see :func:`get_reader`).
    """
    try:
        engine, facts = _open_store(settings, readonly=readonly)
        session = new_session(engine)
    except OperationalError as exc:
        raise connection_error(settings.database_url, exc) from None
    ctx: Context | None = None
    try:
        mode = _identity_mode(settings, session, facts, engine.dialect.name)
        actor = identity.resolve_actor(mode, facts.session_user, settings.user)
        session.info["identity_mode"] = mode
        session.info["readonly"] = readonly and engine.url.query.get("mode") == "ro"
        hosts.check_override(settings, mode)
        _guard_clock(session, mode)
        ctx = Context(
            settings=settings, engine=engine, session=session, actor=actor, identity_mode=mode
        )
        if tenant != "none" and settings.tenant:
            ctx.tenant = tenancy.get_tenant(session, settings.tenant)
            member, ctx._roles = tenancy.member_and_roles(session, ctx.tenant.id, actor)
            if member is not None:  # one spelling per person in everything recorded
                ctx.actor = member
        elif tenant == "required":
            raise InvalidInput("no tenant: pass --tenant or set SHIFTY_TENANT")
        if roles:
            ctx.require_role(*roles)
        yield ctx
        session.commit()
        if ctx._audit_writer is not None:
            ctx._audit_writer.commit()
        for action in ctx._after_commit.values():
            action()
    except IntegrityError as exc:
        _rollback(session, ctx)
        raise Conflict(f"the store refused the change: {_short(exc)}") from exc
    except OperationalError as exc:
        _rollback(session, ctx)
        if "locked" in str(exc).lower() or "could not serialize" in str(exc).lower():
            raise Conflict(f"the store is busy: {_short(exc)}; try again") from exc
        raise ExternalServiceError(f"database error: {_short(exc)}") from exc
    except StatementError as exc:
        session.rollback()
        if isinstance(exc.orig, ShiftyError):  # refused while binding (core.storable)
            raise exc.orig from None
        raise
    except BaseException:
        _rollback(session, ctx)
        raise
    finally:
        session.close()
        if ctx is not None and ctx._audit_writer is not None:
            ctx._audit_writer.close()


def _rollback(session: Session, ctx: Context | None) -> None:
    session.rollback()
    if ctx is not None and ctx._audit_writer is not None:
        ctx._audit_writer.rollback()


def _short(exc: Exception) -> str:
    text = str(getattr(exc, "orig", exc)).strip()
    return text.splitlines()[0] if text else type(exc).__name__


def describe_store(settings: Settings) -> dict[str, Any]:
    path = sqlite_path(settings.database_url)
    return {"database_url": settings.masked()["database_url"]["value"], "sqlite_file": path}


__all__ = ["Context", "ShiftyError", "engine_for", "open_context"]
