"""Hash-chained audit log.

Each tenant has one chain (global events use ``_system``). :func:`append` runs inside the caller's
transaction, so an event exists exactly when the change it records was committed. Appenders
serialise on the chain's row in ``audit_heads`` (``SELECT ... FOR UPDATE`` on PostgreSQL; SQLite
transactions already hold the write lock), which keeps ``seq`` gap-free under concurrency.
:func:`verify` recomputes every hash and reports the first sequence number that does not fit, and
compares the tail with the head row, so a changed, removed, inserted or reordered event is found
(the streaming walk that does it, fast enough for millions of events, is
:mod:`shifty_ent.core.audit_walk`).
"""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.orm import Session as OrmSession
from sqlmodel import Session, col

from shifty_ent.core import collector
from shifty_ent.core.audit_walk import (
    CURRENT_FORMAT,
    GENESIS,
    SYSTEM_CHAIN,
    ChainStatus,
    event_hash,
    walk_pages,
)
from shifty_ent.core.canonical import to_jsonable
from shifty_ent.core.clock import as_utc, now
from shifty_ent.core.errors import InvalidInput
from shifty_ent.core.tables import AuditEvent, AuditHead


def chain_of(tenant_id: uuid.UUID | None) -> str:
    return str(tenant_id) if tenant_id else SYSTEM_CHAIN


def _storable(value: Any) -> Any:
    """Strings every store and RFC 8785 accept: NUL (PostgreSQL JSONB refuses it) and lone
    surrogates (not UTF-8) become U+FFFD, so a hostile file name cannot make an append fail."""
    if isinstance(value, str):
        if "\x00" in value or any("\ud800" <= ch <= "\udfff" for ch in value):
            return "".join(
                "\ufffd" if ch == "\x00" or "\ud800" <= ch <= "\udfff" else ch for ch in value
            )
        return value
    if isinstance(value, dict):
        return {_storable(k): _storable(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_storable(v) for v in value]
    return value


def _lock_head(session: Session, chain: str) -> AuditHead:
    dialect = session.get_bind().dialect.name
    ins = pg_insert if dialect == "postgresql" else sqlite_insert
    stmt = ins(AuditHead).values(chain=chain, seq=0, hash=GENESIS).on_conflict_do_nothing()
    session.execute(stmt)
    head = session.scalars(
        select(AuditHead)
        .where(col(AuditHead.chain) == chain)
        .with_for_update()
        .execution_options(populate_existing=True)
    ).one()
    return head


def append(
    session: Session,
    *,
    tenant_id: uuid.UUID | None,
    actor: str,
    action: str,
    target_type: str | None = None,
    target_id: Any = None,
    details: dict[str, Any] | None = None,
    at: datetime | None = None,
) -> AuditEvent:
    """Add one event to the tenant's chain in the current transaction."""
    chain = chain_of(tenant_id)
    head = _lock_head(session, chain)
    actor = _storable(actor)
    clean = _storable(to_jsonable(details or {}))
    when = at or now()
    last = as_utc(head.at)
    # declared stores (sandboxes, tests) may move their clock; every other store's chain only
    # moves forward, so a backdated event cannot be slipped in
    moving_clock = session.info.get("identity_mode") == "declared"
    if last is not None and when < last and not moving_clock:
        raise InvalidInput(
            f"refusing an audit event dated {when.isoformat()} before the chain's last event "
            f"({last.isoformat()}); check this host's clock (or SHIFTY_NOW)"
        )
    seq = head.seq + 1
    target = _storable(str(target_id)) if target_id is not None else None
    digest = event_hash(
        chain=chain,
        seq=seq,
        at=when,
        actor=actor,
        action=action,
        target_type=target_type,
        target_id=target,
        details=clean,
        prev_hash=head.hash,
        v=CURRENT_FORMAT,
        tenant_id=str(tenant_id) if tenant_id else None,
    )
    event = AuditEvent(
        chain=chain,
        seq=seq,
        tenant_id=tenant_id,
        at=when,
        actor=actor,
        action=action,
        target_type=target_type,
        target_id=target,
        details=clean,
        prev_hash=head.hash,
        hash=digest,
        v=CURRENT_FORMAT,
    )
    head.seq = seq
    head.hash = digest
    head.at = max(when, last) if last is not None else when
    session.add(event)
    session.add(head)
    session.flush()
    return event


@dataclass
class ChainReport:
    """Outcome of :func:`verify`; ``first_bad_seq`` is None when the chain is intact."""

    chain: str
    tenant_id: uuid.UUID | None
    events: int
    head_seq: int
    head_hash: str
    ok: bool
    first_bad_seq: int | None = None
    problem: str | None = None
    # the checkpoints held against the chain (core.checkpoint), and the first that failed
    checkpoints: list[dict[str, Any]] = field(default_factory=list)
    failed_checkpoint: dict[str, Any] | None = None

    @classmethod
    def of(cls, status: ChainStatus, tenant_id: uuid.UUID | None) -> ChainReport:
        """The report of a finished walk."""
        return cls(
            status.chain,
            tenant_id,
            status.events,
            status.head_seq,
            status.head_hash,
            status.ok,
            status.first_bad_seq,
            status.problem,
        )

    def public(self) -> dict[str, Any]:
        return {
            "chain": self.chain,
            "tenant_id": self.tenant_id,
            "ok": self.ok,
            "events": self.events,
            "head_seq": self.head_seq,
            "head_hash": self.head_hash,
            "first_bad_seq": self.first_bad_seq,
            "problem": self.problem,
            "checkpoints": self.checkpoints,
            "failed_checkpoint": self.failed_checkpoint,
        }


def iter_events(session: Session, chain: str, batch: int = 5000) -> Iterator[AuditEvent]:
    """Events of a chain in sequence order, fetched in keyset pages (flat memory)."""
    last = 0
    while True:
        rows = session.scalars(
            select(AuditEvent)
            .where(col(AuditEvent.chain) == chain, col(AuditEvent.seq) > last)
            .order_by(col(AuditEvent.seq))
            .limit(batch)
        ).all()
        if not rows:
            return
        yield from rows
        last = rows[-1].seq
        session.expunge_all()


def verify(session: Session, tenant_id: uuid.UUID | None) -> ChainReport:
    """Walk the whole chain, recomputing every hash; the first event that does not fit is
    reported (and the chain's tail must be its head row)."""
    chain = chain_of(tenant_id)
    status = ChainStatus(chain=chain)
    with collector.paused():
        for _page in walk_pages(session, chain, status):
            pass
    return ChainReport.of(status, tenant_id)


def head_of(session: OrmSession, tenant_id: uuid.UUID | None) -> tuple[int, str]:
    head = session.get(AuditHead, chain_of(tenant_id))
    return (head.seq, head.hash) if head else (0, GENESIS)
