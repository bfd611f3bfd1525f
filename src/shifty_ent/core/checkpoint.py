"""Signed audit checkpoints: a chain's head, signed and kept outside the database.

The chain has no secret: whoever can write the database can delete its tail and fix
``audit_heads``, or change an event and re-hash everything after it, and the chain still
verifies. A checkpoint (``{schema, chain, tenant_id, seq, head_hash, at, key_fingerprint}``,
Ed25519-signed by the installation key over ``DOMAIN`` + its RFC 8785 JSON) written to a witness
(:mod:`shifty_ent.core.witness`) pins the chain up to ``seq``: the event at ``seq`` must still
have ``head_hash``, so any rewrite, truncation or deletion at or below it is found by
:func:`check`. The format is written out for auditors in docs/evidence.md.
"""

from __future__ import annotations

import json
import uuid
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import TYPE_CHECKING, Any, TypeGuard

from sqlalchemy import select
from sqlmodel import col

from shifty_ent.core import audit, collector
from shifty_ent.core.audit_walk import GENESIS, SYSTEM_CHAIN, ChainStatus, walk_pages
from shifty_ent.core.canonical import canonical_json
from shifty_ent.core.errors import ExternalServiceError, ShiftyError
from shifty_ent.core.signing import KeyPair, fingerprint_of, sign_bytes, verify_bytes
from shifty_ent.core.tables import AuditHead
from shifty_ent.core.trust import TrustSet
from shifty_ent.core.witness import open_witness

if TYPE_CHECKING:
    from shifty_ent.core.context import Context

SCHEMA = "shifty-ent.audit-checkpoint/v1"
DOMAIN = b"shifty-ent-audit-checkpoint-v1\n"
HEX = frozenset("0123456789abcdef")


@dataclass
class Checkpoint:
    """A head some evidence names: a signed checkpoint, or a report's recorded head (unsigned:
    it comes from the store). ``problem`` is set when it cannot be used (unreadable, bad or
    untrusted signature); such a checkpoint fails verification by itself."""

    source: str
    chain: str | None
    seq: int
    head_hash: str
    at: str | None = None
    key_fingerprint: str | None = None
    signed: bool = True
    problem: str | None = None

    def public(self, ok: bool, problem: str | None) -> dict[str, Any]:
        return {
            "source": self.source,
            "seq": self.seq,
            "head_hash": self.head_hash,
            "at": self.at,
            "key_fingerprint": self.key_fingerprint,
            "signed": self.signed,
            "ok": ok,
            "problem": problem,
        }


def statement(
    chain: str, seq: int, head_hash: str, at: datetime, fingerprint: str
) -> dict[str, Any]:
    return {
        "schema": SCHEMA,
        "chain": chain,
        "tenant_id": None if chain == SYSTEM_CHAIN else chain,
        "seq": seq,
        "head_hash": head_hash,
        "at": at.isoformat(),
        "key_fingerprint": fingerprint,
    }


def signed_bytes(stmt: dict[str, Any]) -> bytes:
    """What the signature covers: a domain tag (so it is never valid as a report's or a
    certificate's) and the statement's RFC 8785 JSON."""
    return DOMAIN + canonical_json(stmt)


def envelope(pair: KeyPair, stmt: dict[str, Any]) -> dict[str, Any]:
    return {
        "schema": SCHEMA,
        "algorithm": "Ed25519",
        "statement": stmt,
        "public_key": pair.public_b64,
        "signature": sign_bytes(pair, signed_bytes(stmt)),
    }


def file_name(stmt: dict[str, Any]) -> str:
    """``SEQ-TIME-HASH.json``: sorts by position, never collides for different heads."""
    at = datetime.fromisoformat(stmt["at"]).strftime("%Y%m%dT%H%M%S%fZ")
    return f"{stmt['seq']:012d}-{at}-{stmt['head_hash'][:16]}.json"


def _is_hash(value: Any) -> TypeGuard[str]:
    return isinstance(value, str) and len(value) == 64 and set(value) <= HEX


def _chain_ok(chain: Any, tenant_id: Any) -> bool:
    if chain == SYSTEM_CHAIN:
        return tenant_id is None
    try:
        return isinstance(chain, str) and tenant_id == chain == str(uuid.UUID(chain))
    except ValueError:
        return False


def parse(
    body: bytes | Any, source: str, trust: TrustSet, *, filed: str | None = None
) -> Checkpoint:
    """Read one checkpoint document; every way it can be unusable is a ``problem``, never an
    exception. ``filed`` is the chain the witness files it under (it must be the one signed)."""
    bad = Checkpoint(source=source, chain=filed, seq=0, head_hash=GENESIS)
    try:
        doc = json.loads(body) if isinstance(body, bytes | str) else body
    except ValueError:
        bad.problem = "not JSON"
        return bad
    stmt = doc.get("statement") if isinstance(doc, dict) else None
    if not isinstance(stmt, dict) or doc.get("schema") != SCHEMA or stmt.get("schema") != SCHEMA:
        bad.problem = f"not an audit checkpoint ({SCHEMA})"
        return bad
    seq, head_hash, at, fp = (stmt.get(k) for k in ("seq", "head_hash", "at", "key_fingerprint"))
    if (
        not _chain_ok(stmt.get("chain"), stmt.get("tenant_id"))
        or not isinstance(seq, int)
        or isinstance(seq, bool)
        or seq < 0
        or not _is_hash(head_hash)
        or not isinstance(at, str)
        or not isinstance(fp, str)
    ):
        bad.problem = "the checkpoint's statement is malformed"
        return bad
    found = Checkpoint(source, stmt["chain"], seq, head_hash, at, fp)
    if filed is not None and filed != found.chain:
        found.problem = f"filed under chain {filed} but signed for chain {found.chain}"
        return found
    public_key, signature = doc.get("public_key"), doc.get("signature")
    try:
        actual = fingerprint_of(public_key)
    except (ValueError, TypeError):
        found.problem = "the checkpoint holds no readable public key"
        return found
    if actual != fp:
        found.problem = "its public key does not match the fingerprint it signed"
        return found
    trusted, why = trust.check(fp)
    if not trusted:
        found.problem = why
        return found
    if not isinstance(signature, str) or not verify_bytes(
        signed_bytes(stmt), signature, public_key
    ):
        found.problem = "the signature does not match the checkpoint"
    return found


# ------------------------------------------------------------------ writing


def take(ctx: Context, chains: Iterable[str], spec: str) -> list[dict[str, Any]]:
    """Sign each chain's committed head and write it to the witness ``spec``."""
    pair = ctx.signing_key()
    witness = open_witness(spec, ctx.settings)
    written = []
    for chain in chains:
        row = ctx.session.execute(
            select(col(AuditHead.seq), col(AuditHead.hash)).where(col(AuditHead.chain) == chain)
        ).first()
        seq, head_hash = (int(row[0]), str(row[1])) if row else (0, GENESIS)
        stmt = statement(chain, seq, head_hash, ctx.now(), pair.fingerprint)
        body = json.dumps(envelope(pair, stmt), indent=2, sort_keys=True).encode() + b"\n"
        where = witness.write(chain, file_name(stmt), body)
        written.append({**{k: v for k, v in stmt.items() if k != "schema"}, "witness": where})
    return written


def after_commit(ctx: Context, tenant_id: uuid.UUID | None) -> None:
    """When a witness is configured, checkpoint the tenant's chain once the command's
    transaction has committed (the key is registered in that transaction)."""
    spec = ctx.settings.audit_witness
    if not spec:
        return
    ctx.signing_key()
    chain = audit.chain_of(tenant_id)

    def write() -> None:
        try:
            take(ctx, [chain], spec)
        except ShiftyError as exc:
            raise ExternalServiceError(
                f"the command's changes were committed, but its audit checkpoint was not "
                f"written: {exc}; run 'report audit checkpoint' once the witness works"
            ) from exc

    ctx.after_commit(f"audit-checkpoint:{chain}", write)


# ------------------------------------------------------------------ checking


def check(
    session: Any, chain: str, tenant_id: uuid.UUID | None, checkpoints: Sequence[Checkpoint]
) -> audit.ChainReport:
    """Walk the chain (every hash, as :func:`shifty_ent.core.audit.verify`) and hold each
    checkpoint against it: the event at its ``seq`` must exist and carry its ``head_hash``."""
    status = ChainStatus(chain=chain)
    results: list[tuple[Checkpoint, str | None]] = [
        (c, c.problem) for c in checkpoints if c.problem
    ]
    pending = sorted((c for c in checkpoints if not c.problem), key=lambda c: c.seq)
    for cp in pending:
        if cp.seq == 0:
            bad = None if cp.head_hash == GENESIS else "a checkpoint at seq 0 must name the genesis"
            results.append((cp, bad))
    pending = [c for c in pending if c.seq > 0]
    i = 0
    with collector.paused():
        for page in walk_pages(session, chain, status):
            last = page[-1][0]
            if i < len(pending) and pending[i].seq <= last:
                i = _check_page(page, pending, i, results)
    for cp in pending[i:]:
        results.append(
            (
                cp,
                f"the chain holds {status.events} events (head at seq {status.head_seq}) but "
                f"this checkpoint signed seq {cp.seq}: events were removed"
                + (" (the whole chain is gone)" if status.events == 0 else ""),
            )
        )
    report = audit.ChainReport.of(status, tenant_id)
    report.checkpoints = [cp.public(bad is None, bad) for cp, bad in results]
    failed = [(cp, bad) for cp, bad in results if bad is not None]
    if failed:
        cp, bad = min(failed, key=lambda f: f[0].seq)
        report.ok = False
        report.failed_checkpoint = {"source": cp.source, "seq": cp.seq, "problem": bad}
        if report.first_bad_seq is None:
            report.first_bad_seq = cp.seq if cp.seq else None
            report.problem = f"checkpoint {cp.source} (seq {cp.seq}): {bad}"
    return report


def _check_page(
    page: list[Any], pending: list[Checkpoint], i: int, results: list[tuple[Checkpoint, str | None]]
) -> int:
    first, last = page[0][0], page[-1][0]
    while i < len(pending) and pending[i].seq <= last:
        cp = pending[i]
        at = cp.seq - first
        row = page[at] if 0 <= at < len(page) and page[at][0] == cp.seq else None
        if row is None:
            row = next((r for r in page if r[0] == cp.seq), None)
        if row is None:
            results.append((cp, f"event {cp.seq} is missing: events were removed"))
        elif row[8] != cp.head_hash:
            results.append(
                (
                    cp,
                    f"event {cp.seq} has hash {str(row[8])[:16]}..., not the "
                    f"{cp.head_hash[:16]}... this checkpoint signed: the chain was rewritten at "
                    f"or before seq {cp.seq}",
                )
            )
        else:
            results.append((cp, None))
        i += 1
    return i
