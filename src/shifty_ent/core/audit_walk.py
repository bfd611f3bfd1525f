"""Verify an audit chain while streaming it, fast enough for millions of events.

The chain's hashes are SHA-256 over RFC 8785 JSON (:func:`event_hash`, defined here so that the
walk and :mod:`shifty_ent.core.audit`, which appends, share it without importing each other).
Pure-Python RFC 8785 costs tens of microseconds an event; the C JSON encoder with sorted keys and
no spaces produces the very same bytes whenever an event holds no floats or exotic keys. Three
tries, cheapest first, each sound because a text that hashes to the stored digest *is* the
canonical text that was hashed into the chain (SHA-256 collisions aside):

1. the details text exactly as stored (SQLite stores JSON in that compact sorted form, see
   :func:`shifty_ent.core.store.get_engine`), so most events cost one string format and one hash;
2. the details parsed and re-encoded the fast way (older rows, PostgreSQL's JSONB);
3. RFC 8785 proper (floats, keys outside the Basic Multilingual Plane).

Rows are read through the raw DB-API cursor in keyset pages (no ORM objects, no per-column type
processing), and details are handed on as text: a consumer parses only the events it needs.
Both ``report audit verify`` (:func:`shifty_ent.core.audit.verify`) and the ``access_audit``
report walk the chain here.

Event formats (the ``v`` column): format 1 hashed the fields above; format 2 (every event appended
since migration ``0011_audit_v2``) also hashes ``tenant_id`` and ``v`` itself, so an event cannot
be moved to another tenant, and once a chain holds a format 2 event a later format 1 event is a
downgrade and refused. A row the walk cannot read (details that are not a JSON object, a value of
the wrong type) is reported as a bad event like any other, never raised.
"""

from __future__ import annotations

import hashlib
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any, cast

import orjson
from sqlalchemy import select
from sqlalchemy.orm import Session
from sqlmodel import col

from shifty_ent.core.canonical import canonical_json, compact_json, sha256_hex
from shifty_ent.core.tables import AuditHead

PAGE = 10000


_dumps = orjson.dumps
_Fragment = orjson.Fragment
_load = orjson.loads
_sha = hashlib.sha256


GENESIS = "0" * 64
#: the format :func:`shifty_ent.core.audit.append` writes
CURRENT_FORMAT = 2
SYSTEM_CHAIN = "_system"

# (seq, at_iso, actor, action, target_type, target_id, details as JSON text, prev_hash, hash,
# form): on SQLite the driver's own row, as fetched (see walk_pages). ``form`` is the event's
# format (``v``), or 0 when its tenant_id is not the chain's.
Event = tuple[int, str, str, str, str | None, str | None, str, str, str, int]


def _body(
    action: str,
    actor: str,
    at_iso: str,
    chain: str,
    details: str,
    prev_hash: str,
    seq: int,
    target_id: str | None,
    target_type: str | None,
) -> dict[str, Any]:
    """The format 1 hash input in RFC 8785 key order, the stored details text inlined as is."""
    return {
        "action": action,
        "actor": actor,
        "at": at_iso,
        "chain": chain,
        "details": _Fragment(details),
        "prev_hash": prev_hash,
        "seq": seq,
        "target_id": target_id,
        "target_type": target_type,
    }


def fast_hash(
    action: str,
    actor: str,
    at_iso: str,
    chain: str,
    details: str,
    prev_hash: str,
    seq: int,
    target_id: str | None,
    target_type: str | None,
) -> str:
    """SHA-256 of the event body in compact form with its keys in sorted order (RFC 8785 for
    every event whose details text is in that form and holds no floats). orjson escapes strings
    exactly as RFC 8785 does."""
    body = _body(action, actor, at_iso, chain, details, prev_hash, seq, target_id, target_type)
    return _sha(_dumps(body)).hexdigest()


def fast_hash2(
    action: str,
    actor: str,
    at_iso: str,
    chain: str,
    details: str,
    prev_hash: str,
    seq: int,
    target_id: str | None,
    target_type: str | None,
    tenant_json: str,
) -> str:
    """:func:`fast_hash` for format 2; ``tenant_json`` is the tenant id as JSON (or ``null``).
    The two added keys sort after all the others, so the body stays in RFC 8785 key order."""
    body = _body(action, actor, at_iso, chain, details, prev_hash, seq, target_id, target_type)
    body["tenant_id"] = _Fragment(tenant_json)
    body["v"] = 2
    return _sha(_dumps(body)).hexdigest()


def tenant_of_chain(chain: str) -> str | None:
    """The tenant id a chain belongs to, as text (None for the installation's own chain)."""
    return None if chain == SYSTEM_CHAIN else chain


def load_details(text: str) -> dict[str, Any]:
    """The details of an :data:`Event` as a dict."""
    return _load(text) if text else {}


@dataclass
class ChainStatus:
    chain: str
    ok: bool = True
    events: int = 0
    head_seq: int = 0
    head_hash: str = GENESIS
    first_bad_seq: int | None = None
    problem: str | None = None
    fallback_hashes: int = 0
    # a walk over part of the chain: the link it starts from and the hash it ends on, which the
    # caller checks against the neighbouring parts
    first_prev: str | None = None
    last_hash: str | None = None

    def fail(self, seq: int, problem: str) -> None:
        if self.ok:
            self.ok = False
            self.first_bad_seq = seq
            self.problem = problem


def iso_utc(value: Any) -> str:
    """``datetime.isoformat()`` of the stored instant in UTC (what the chain hashed), for the
    times the walk's query does not format itself: PostgreSQL's datetimes and SQLite text in any
    form but the one SQLAlchemy writes (naive values are UTC)."""
    if not isinstance(value, datetime):
        value = datetime.fromisoformat(str(value))
    aware = value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)
    return aware.isoformat()


def walk_pages(
    session: Session,
    chain: str,
    status: ChainStatus,
    *,
    page: int = PAGE,
    after: int = 0,
    upto: int | None = None,
) -> Iterator[list[Event]]:
    """Yield the chain's events in order, one keyset page (a list) at a time, while verifying
    them into ``status``.

    Verification continues past the first problem (so a report still lists every event) but
    ``status`` keeps the first bad sequence number. Pages rather than single events keep the
    per-event cost down: this loop is the hot path of a million-event report. The head is read
    in the caller's transaction, so a consistent snapshot gives a consistent answer.

    ``after``/``upto`` walk only events ``after < seq <= upto`` (parts of one chain checked in
    parallel): the first event's link is then taken as given and kept in ``status.first_prev``,
    the last hash in ``status.last_hash``, and with ``upto`` the end is checked against ``upto``
    instead of the head.
    """
    conn = session.connection()
    head = conn.execute(
        select(col(AuditHead.seq), col(AuditHead.hash)).where(col(AuditHead.chain) == chain)
    ).first()
    status.head_seq, status.head_hash = (head[0], head[1]) if head else (0, GENESIS)
    dbapi = conn.connection.dbapi_connection
    assert dbapi is not None
    sqlite = conn.dialect.name == "sqlite"
    mark = "?" if sqlite else "%s"
    tenant_text = tenant_of_chain(chain)
    tenant_json = _dumps(tenant_text).decode()
    bound = "" if upto is None else f" AND seq <= {int(upto)}"
    sql = (
        f"SELECT seq, {_SQLITE_AT_ISO if sqlite else 'at'}, actor, action, target_type, "
        f"target_id, details, prev_hash, hash, {_SQLITE_FORM if sqlite else _PG_FORM} "
        f"FROM audit_events WHERE chain = {mark} AND seq > {mark}{bound} ORDER BY seq "
        f"LIMIT {int(page)}"
    )
    tenant_param = _sqlite_uuid(tenant_text) if sqlite else tenant_text
    expected = after + 1
    prev: str | None = GENESIS if after == 0 else None
    last = after
    newest = 0  # the highest format seen: a format 1 event after a format 2 one is a downgrade
    hashed, hashed2 = fast_hash, fast_hash2
    cur = dbapi.cursor()
    try:
        while True:
            cur.execute(sql, (tenant_param, chain, last))
            rows = cast("list[Event]", cur.fetchall())
            if not rows:
                break
            if prev is None:
                prev = status.first_prev = rows[0][7]
            fixed: dict[int, Event] = {}
            # The rows are handed on as fetched: on SQLite the query formats the time and the
            # details are text, so nearly every row needs no new tuple. The rest (PostgreSQL's
            # datetimes and JSONB, odd stored text, rows re-encoded to verify, rows that cannot
            # be read) are replaced after the loop, keyed by the fetched row object (alive in
            # ``rows``, so never reused).
            for fetched in rows:
                try:
                    seq, at_iso, actor, action, ttype, tid, det, prev_hash, digest, form = row = (
                        fetched
                    )
                    if at_iso.__class__ is not str or det.__class__ is not str:
                        row = fixed[id(fetched)] = _normalised(dbapi, chain, fetched)
                        at_iso, det = row[1], row[6]
                    if seq != expected:
                        status.fail(expected, f"event {expected} is missing (next is {seq})")
                    elif prev_hash != prev:
                        status.fail(seq, f"event {seq} does not link to event {seq - 1}")
                    elif form == 2:
                        newest = 2
                        if (
                            hashed2(
                                action,
                                actor,
                                at_iso,
                                chain,
                                det,
                                prev_hash,
                                seq,
                                tid,
                                ttype,
                                tenant_json,
                            )
                            != digest
                        ):
                            text = _recheck(status, row, chain, at_iso, det, tenant_text)
                            if text is not det:
                                fixed[id(fetched)] = (*row[:6], text, *row[7:])
                    elif form != 1 or newest == 2:
                        status.fail(seq, _form_problem(seq, form))
                    elif (
                        hashed(action, actor, at_iso, chain, det, prev_hash, seq, tid, ttype)
                        != digest
                    ):
                        text = _recheck(status, row, chain, at_iso, det, tenant_text)
                        if text is not det:
                            fixed[id(fetched)] = (*row[:6], text, *row[7:])
                    prev = digest
                    expected = seq + 1
                except Exception as exc:  # an unreadable row is a bad event, never a traceback
                    bad = fetched[0] if fetched[0].__class__ is int else expected
                    status.fail(bad, f"event {bad} is malformed: {_reason(exc)}")
                    fixed[id(fetched)] = _placeholder(fetched, bad)
                    prev = fetched[8] if fetched[8].__class__ is str else None
                    expected = bad + 1
            status.events += len(rows)
            last = rows[-1][0]
            yield [fixed.get(id(r), r) for r in rows] if fixed else rows
            if len(rows) < page:
                break
    finally:
        cur.close()
    last_seq = expected - 1
    status.last_hash = prev
    if upto is not None:
        if last_seq != upto:
            status.fail(last_seq + 1, f"event {last_seq + 1} is missing (next is beyond {upto})")
    elif status.ok and (last_seq != status.head_seq or prev != status.head_hash):
        status.fail(last_seq + 1, f"chain ends at {last_seq} but its head is at {status.head_seq}")


# the event's format, or 0 when its tenant_id is not its chain's (compared in SQL, in C)
_SQLITE_FORM = "CASE WHEN tenant_id IS ? THEN v ELSE 0 END"
_PG_FORM = "CASE WHEN tenant_id::text IS NOT DISTINCT FROM %s THEN v ELSE 0 END"


def _sqlite_uuid(tenant: str | None) -> str | None:
    """How SQLite stores a UUID column (32 lower-case hex digits)."""
    if tenant is None:
        return None
    try:
        return uuid.UUID(tenant).hex
    except ValueError:
        return tenant


def _form_problem(seq: int, form: Any) -> str:
    if form == 0:
        return f"event {seq} does not belong to this chain's tenant (tenant_id was changed)"
    if form == 1:
        return f"event {seq} is in format 1 after format 2 events (a downgrade)"
    return f"event {seq} is malformed: unknown format {form!r}"


def _reason(exc: Exception) -> str:
    text = str(exc).splitlines()[0] if str(exc) else ""
    return f"{type(exc).__name__}: {text}"[:200]


def _placeholder(row: Any, seq: int) -> Event:
    """What consumers get for a row the walk could not read: no time (outside every period),
    no details, its texts as text."""

    def text(value: Any) -> str:
        return value if isinstance(value, str) else ""

    return (seq, "", text(row[2]), text(row[3]), None, None, "{}", text(row[7]), text(row[8]), 0)


# SQLite keeps times as SQLAlchemy writes them, naive UTC "YYYY-MM-DD HH:MM:SS.ffffff"; the
# query turns them into isoformat()'s text itself, as iso_utc would (in C, for less than Python
# spends per event). Text in any other form comes back NULL and goes through iso_utc.
_SQLITE_AT_ISO = (
    "CASE WHEN length(at) = 26 AND substr(at, 11, 1) = ' ' AND substr(at, 20, 1) = '.' "
    "THEN replace(replace(at, '.000000', ''), ' ', 'T') || '+00:00' END"
)


def _normalised(dbapi: Any, chain: str, row: Any) -> Event:
    """A row whose time is not yet isoformat() text (PostgreSQL's datetime, or SQLite text the
    query did not recognise) or whose details are not JSON text (PostgreSQL's JSONB)."""
    seq, at, actor, action, ttype, tid, det, prev_hash, digest, form = row
    if at is None:  # SQLite: read the stored text itself
        cur = dbapi.cursor()
        try:
            cur.execute("SELECT at FROM audit_events WHERE chain = ? AND seq = ?", (chain, seq))
            at = iso_utc(cur.fetchone()[0])
        finally:
            cur.close()
    elif at.__class__ is not str:
        at = iso_utc(at)
    if det.__class__ is not str:
        det = compact_json(_plain(det))
    return (seq, at, actor, action, ttype, tid, det, prev_hash, digest, form)


def _plain(value: Any) -> Any:
    if isinstance(value, bytes):
        value = _load(value)
    if not isinstance(value, dict):
        raise ValueError(f"details are not a JSON object ({type(value).__name__})")
    return value


def event_body(
    *,
    chain: str,
    seq: int,
    at: datetime,
    actor: str,
    action: str,
    target_type: str | None,
    target_id: str | None,
    details: dict[str, Any],
    prev_hash: str,
    v: int = CURRENT_FORMAT,
    tenant_id: str | None = None,
) -> dict[str, Any]:
    """What an event's hash covers: format 1 its nine fields, format 2 also ``tenant_id`` (the
    chain's tenant as text, null for the installation's chain) and ``v``."""
    body: dict[str, Any] = {
        "chain": chain,
        "seq": seq,
        "at": at.isoformat(),
        "actor": actor,
        "action": action,
        "target_type": target_type,
        "target_id": target_id,
        "details": details,
        "prev_hash": prev_hash,
    }
    if v == 2:
        body["tenant_id"] = tenant_id
        body["v"] = 2
    elif v != 1:
        raise ValueError(f"unknown audit event format {v!r}")
    return body


def event_hash(**fields: Any) -> str:
    """The event's hash: SHA-256 over the RFC 8785 JSON of :func:`event_body`, the chain's one
    definition (the walk's faster forms must produce the same digest)."""
    return sha256_hex(canonical_json(event_body(**fields)))


def _recheck(
    status: ChainStatus,
    row: Event,
    chain: str,
    at_iso: str,
    stored: str,
    tenant_text: str | None,
) -> str:
    """Tries 2 and 3 for an event whose stored details text did not hash to its digest; returns
    the details text to hand on (the fast canonical one when that verifies). Details that are
    not a JSON object raise (the walk reports the row as malformed)."""
    seq, _at, actor, action, ttype, tid, _det, prev_hash, digest, form = row
    details = _load(stored)
    if not isinstance(details, dict):
        raise ValueError(f"details are not a JSON object ({type(details).__name__})")
    fast = compact_json(details)
    if fast != stored:
        args = (action, actor, at_iso, chain, fast, prev_hash, seq, tid, ttype)
        again = fast_hash2(*args, _dumps(tenant_text).decode()) if form == 2 else fast_hash(*args)
        if again == digest:
            return fast
    status.fallback_hashes += 1
    canonical = event_hash(
        chain=chain,
        seq=seq,
        at=datetime.fromisoformat(at_iso),
        actor=actor,
        action=action,
        target_type=ttype,
        target_id=tid,
        details=details,
        prev_hash=prev_hash,
        v=form,
        tenant_id=tenant_text,
    )
    if canonical != digest:
        status.fail(seq, f"event {seq} was changed (hash mismatch)")
    return stored
