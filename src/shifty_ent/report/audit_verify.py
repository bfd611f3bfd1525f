"""Walk audit chains (one tenant's, or every chain in the store) and hold every checkpoint we can
find against them: the witness's, ``--checkpoint`` files, and the heads the store's own signed
reports recorded. Also write checkpoints (``report audit checkpoint``)."""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from sqlalchemy import select
from sqlmodel import col

from shifty_ent.core import audit, checkpoint, infiles, trust
from shifty_ent.core.audit_walk import SYSTEM_CHAIN
from shifty_ent.core.authz import authorize
from shifty_ent.core.context import Context
from shifty_ent.core.errors import InvalidInput, NotFound, Refused
from shifty_ent.core.tables import AuditHead, SigningKey, Tenant
from shifty_ent.core.witness import open_witness
from shifty_ent.report import permissions
from shifty_ent.report.tables import Report


def _chains(ctx: Context, what: str, permission: Any) -> dict[str, uuid.UUID | None]:
    """chain -> tenant id of the chains the caller may see: the tenant's (auditor or admin), or
    with no tenant every chain (installation administrator); the system chain first."""
    if ctx.tenant is not None:
        authorize(ctx, permission)
        return {audit.chain_of(ctx.tenant.id): ctx.tenant.id}
    ctx.require_installation_admin(what)
    chains: dict[str, uuid.UUID | None] = {}
    heads = set(ctx.session.scalars(select(col(AuditHead.chain))).all())
    if SYSTEM_CHAIN in heads:
        chains[SYSTEM_CHAIN] = None
    for tenant in ctx.session.scalars(select(Tenant).order_by(Tenant.name)).all():
        chains[audit.chain_of(tenant.id)] = tenant.id
    for chain in sorted(heads - set(chains)):
        chains[chain] = _tenant_of(chain)
    return chains


def _tenant_of(chain: str) -> uuid.UUID | None:
    try:
        return None if chain == SYSTEM_CHAIN else uuid.UUID(chain)
    except ValueError:
        return None


def _witness(ctx: Context, witness: str | None) -> str | None:
    return witness or ctx.settings.audit_witness


def checkpoint_chains(ctx: Context, *, witness: str | None = None) -> list[dict[str, Any]]:
    """Sign the head of every chain the caller may see and write it to the witness."""
    chains = _chains(ctx, "report audit checkpoint without --tenant", permissions.AUDIT_CHECKPOINT)
    spec = _witness(ctx, witness)
    if not spec:
        raise InvalidInput("no audit witness: pass --witness or set SHIFTY_AUDIT_WITNESS")
    ctx.signing_key()
    ctx.session.commit()  # the key's registration (if new) is part of the heads we sign
    return checkpoint.take(ctx, chains, spec)


def _trust(ctx: Context) -> trust.TrustSet:
    """The trust file's keys and the store's registered ones, read in this command's session (a
    second connection would wait on this one's SQLite write lock)."""
    stored = set(ctx.session.scalars(select(col(SigningKey.fingerprint))).all())
    return trust.TrustSet(trusted=trust.file_fingerprints(ctx.settings) | stored)


def _from_witness(
    ctx: Context, spec: str, chains: set[str] | None, keys: trust.TrustSet
) -> list[checkpoint.Checkpoint]:
    witness = open_witness(spec, ctx.settings)
    return [
        checkpoint.parse(body, where, keys, filed=filed)
        for where, filed, body in witness.read(chains)
    ]


def _from_files(files: Sequence[Path], keys: trust.TrustSet) -> list[checkpoint.Checkpoint]:
    found = []
    for path in files:
        try:
            body = infiles.read_bounded(path, "checkpoint file", infiles.DOCUMENT_MAX)
        except FileNotFoundError:
            raise NotFound(f"checkpoint file {path} does not exist") from None
        except OSError as exc:
            raise InvalidInput(f"cannot read checkpoint file {path}: {exc}") from None
        found.append(checkpoint.parse(body, str(path), keys))
    return found


def _from_reports(ctx: Context, tenant_id: uuid.UUID | None) -> list[checkpoint.Checkpoint]:
    stmt = select(
        col(Report.id),
        col(Report.tenant_id),
        col(Report.audit_head_seq),
        col(Report.audit_head_hash),
        col(Report.generated_at),
        col(Report.key_fingerprint),
    ).order_by(col(Report.audit_head_seq))
    if tenant_id is not None:
        stmt = stmt.where(col(Report.tenant_id) == tenant_id)
    return [
        checkpoint.Checkpoint(
            source=f"report {rid}",
            chain=audit.chain_of(tid),
            seq=int(seq),
            head_hash=str(head),
            at=at.isoformat() if at else None,
            key_fingerprint=fp,
            signed=False,
        )
        for rid, tid, seq, head, at, fp in ctx.session.execute(stmt).all()
    ]


def verify_chains(
    ctx: Context, *, witness: str | None = None, checkpoint_files: Sequence[Path] = ()
) -> list[audit.ChainReport]:
    """Verify the tenant's chain (auditor or admin), or with no tenant every chain there is,
    against every checkpoint found."""
    chains = _chains(ctx, "report audit verify without --tenant", permissions.AUDIT_VERIFY)
    scoped = ctx.tenant is not None
    keys = _trust(ctx)
    found = _from_files(checkpoint_files, keys)
    spec = _witness(ctx, witness)
    if spec:
        found += _from_witness(ctx, spec, set(chains) if scoped else None, keys)
    found += _from_reports(ctx, ctx.tenant.id if ctx.tenant else None)
    per_chain: dict[str, list[checkpoint.Checkpoint]] = {c: [] for c in chains}
    for cp in found:
        chain = cp.chain
        if chain is None:  # unreadable: it fails with the first chain it could belong to
            chain = next(iter(chains), SYSTEM_CHAIN)
        if chain not in per_chain:
            if scoped:
                if cp.source in {str(p) for p in checkpoint_files}:
                    raise InvalidInput(
                        f"checkpoint {cp.source} is for chain {chain}, not this tenant's; "
                        "verify it with that tenant (or without --tenant)"
                    )
                continue
            # a chain the store no longer knows: a deleted tenant's, which is the point
            chains[chain] = _tenant_of(chain)
            per_chain[chain] = []
        per_chain[chain].append(cp)
    return [
        checkpoint.check(ctx.session, chain, tenant_id, per_chain[chain])
        for chain, tenant_id in chains.items()
    ]


def raise_if_broken(reports: list[audit.ChainReport]) -> None:
    bad = [r for r in reports if not r.ok]
    if bad:
        first = bad[0]
        message = f"audit chain {first.chain} is broken at seq {first.first_bad_seq}: "
        message += str(first.problem)
        failed = first.failed_checkpoint
        if failed is not None and str(failed["source"]) not in message:
            message += (
                f"; it contradicts checkpoint {failed['source']} (seq {failed['seq']}): "
                f"{failed['problem']}"
            )
        raise Refused(
            message,
            first_bad_seq=first.first_bad_seq,
            chain=first.chain,
            checkpoint=failed,
        )
