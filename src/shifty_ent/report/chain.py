"""Verify a tenant's audit chain while streaming it, fast enough for millions of events.

The chain's hashes are SHA-256 over RFC 8785 JSON (see :mod:`shifty_ent.core.audit`). Pure-Python
RFC 8785 costs tens of microseconds an event; the C JSON encoder with sorted keys and no spaces
produces the very same bytes whenever an event holds no floats or exotic keys. So each event is
hashed the fast way first, and only when that does not match the stored hash is it recomputed the
canonical way. This is sound: a fast serialisation that hashes to the stored digest *is* the
canonical text that was hashed into the chain (SHA-256 collisions aside), and parsing it gives back
the event we read.

Rows are read through the raw DB-API cursor of the report's snapshot connection in keyset pages
(no ORM objects, no per-column type processing), which is most of the speed.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from json.encoder import encode_basestring
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from shifty_ent.core import audit
from shifty_ent.core.tables import AuditHead

PAGE = 10000


def compact_encoder(*, sort_keys: bool, default: Any = None) -> Any:
    """A reusable C JSON encoder (``JSONEncoder.encode`` rebuilds one on every call)."""
    from json.encoder import c_make_encoder  # type: ignore[attr-defined]

    if c_make_encoder is None:  # pragma: no cover - CPython always has it
        enc = json.JSONEncoder(
            ensure_ascii=False, separators=(",", ":"), sort_keys=sort_keys, default=default
        )
        return enc.encode
    fallback = default or json.JSONEncoder().default
    make = c_make_encoder(None, fallback, encode_basestring, None, ":", ",", sort_keys, False, True)

    def encode(obj: Any) -> str:
        return "".join(make(obj, 0))

    return encode


def _json_loader() -> Any:
    from json.scanner import c_make_scanner  # type: ignore[attr-defined]

    if c_make_scanner is None:  # pragma: no cover
        return json.loads
    scan = c_make_scanner(json.JSONDecoder())

    def load(text: str | bytes) -> Any:
        if isinstance(text, bytes):
            text = text.decode()
        value, end = scan(text, 0)
        if end != len(text) and text[end:].strip():
            return json.loads(text)  # trailing data: let the full parser report it
        return value

    return load


_details_json = compact_encoder(sort_keys=True)
_load = _json_loader()
_sha = hashlib.sha256
_BODY = (
    '{"action":%s,"actor":%s,"at":"%s","chain":"%s","details":%s,"prev_hash":"%s","seq":%d,'
    '"target_id":%s,"target_type":%s}'
)

# (seq, at_iso, actor, action, target_type, target_id, details, hash)
Event = tuple[int, str, str, str, str | None, str | None, dict[str, Any], str]


@dataclass
class ChainStatus:
    chain: str
    ok: bool = True
    events: int = 0
    head_seq: int = 0
    head_hash: str = audit.GENESIS
    first_bad_seq: int | None = None
    problem: str | None = None
    fallback_hashes: int = 0

    def fail(self, seq: int, problem: str) -> None:
        if self.ok:
            self.ok = False
            self.first_bad_seq = seq
            self.problem = problem


def iso_utc(value: Any) -> str:
    """``datetime.isoformat()`` of the stored instant in UTC (what the chain hashed)."""
    if isinstance(value, datetime):
        aware = value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)
        return aware.isoformat()
    raw = str(value)
    # SQLite as SQLAlchemy writes it: "YYYY-MM-DD HH:MM:SS.ffffff" (UTC, naive)
    if len(raw) == 26 and raw[10] == " " and raw[19] == ".":
        frac = raw[19:]
        return raw[:10] + "T" + raw[11:19] + ("" if frac == ".000000" else frac) + "+00:00"
    return iso_utc(datetime.fromisoformat(raw))


def walk_pages(
    session: Session, chain: str, status: ChainStatus, *, page: int = PAGE
) -> Iterator[list[Event]]:
    """Yield the chain's events in order, one keyset page (a list) at a time, while verifying
    them into ``status``.

    Verification continues past the first problem (so a report still lists every event) but
    ``status`` keeps the first bad sequence number. Pages rather than single events keep the
    per-event cost down: this loop is the hot path of a million-event report.
    """
    conn = session.connection()
    head = conn.execute(
        select(AuditHead.seq, AuditHead.hash).where(AuditHead.chain == chain)
    ).first()
    status.head_seq, status.head_hash = (head[0], head[1]) if head else (0, audit.GENESIS)
    dbapi = conn.connection.dbapi_connection
    assert dbapi is not None
    mark = "?" if conn.dialect.name == "sqlite" else "%s"
    sql = (
        "SELECT seq, at, actor, action, target_type, target_id, details, prev_hash, hash "
        f"FROM audit_events WHERE chain = {mark} AND seq > {mark} ORDER BY seq LIMIT {int(page)}"
    )
    expected = 1
    prev = audit.GENESIS
    last = 0
    loads = _load
    dumps = _details_json
    body_fmt = _BODY
    esc = encode_basestring
    sha = _sha
    iso = iso_utc
    cur = dbapi.cursor()
    try:
        while True:
            cur.execute(sql, (chain, last))
            rows = cur.fetchall()
            if not rows:
                break
            out: list[Event] = []
            append = out.append
            for seq, at_raw, actor, action, ttype, tid, det_raw, prev_hash, digest in rows:
                at_iso = iso(at_raw)
                details = loads(det_raw) if det_raw.__class__ is str else _plain(det_raw)
                if seq != expected:
                    status.fail(expected, f"event {expected} is missing (next is {seq})")
                elif prev_hash != prev:
                    status.fail(seq, f"event {seq} does not link to event {seq - 1}")
                elif (
                    sha(
                        (
                            body_fmt
                            % (
                                esc(action),
                                esc(actor),
                                at_iso,
                                chain,
                                dumps(details),
                                prev_hash,
                                seq,
                                "null" if tid is None else esc(tid),
                                "null" if ttype is None else esc(ttype),
                            )
                        ).encode()
                    ).hexdigest()
                    != digest
                ):
                    _slow_check(
                        status,
                        chain,
                        seq,
                        at_iso,
                        actor,
                        action,
                        ttype,
                        tid,
                        details,
                        prev_hash,
                        digest,
                    )
                prev = digest
                expected = seq + 1
                append((seq, at_iso, actor, action, ttype, tid, details, digest))
            status.events += len(rows)
            last = rows[-1][0]
            yield out
            if len(rows) < page:
                break
    finally:
        cur.close()
    last_seq = expected - 1
    if status.ok and (last_seq != status.head_seq or prev != status.head_hash):
        status.fail(last_seq + 1, f"chain ends at {last_seq} but its head is at {status.head_seq}")


def _plain(value: Any) -> dict[str, Any]:
    if isinstance(value, bytes):
        return _load(value)  # type: ignore[no-any-return]
    return value or {}


def walk(session: Session, chain: str, status: ChainStatus, *, page: int = PAGE) -> Iterator[Event]:
    """Like :func:`walk_pages`, one event at a time."""
    for events in walk_pages(session, chain, status, page=page):
        yield from events


def _slow_check(
    status: ChainStatus,
    chain: str,
    seq: int,
    at_iso: str,
    actor: str,
    action: str,
    ttype: str | None,
    tid: str | None,
    details: dict[str, Any],
    prev_hash: str,
    digest: str,
) -> None:
    """The RFC 8785 recomputation, for events the fast form cannot reproduce (floats...)."""
    status.fallback_hashes += 1
    canonical = audit.event_hash(
        chain=chain,
        seq=seq,
        at=datetime.fromisoformat(at_iso),
        actor=actor,
        action=action,
        target_type=ttype,
        target_id=tid,
        details=details,
        prev_hash=prev_hash,
    )
    if canonical != digest:
        status.fail(seq, f"event {seq} was changed (hash mismatch)")
