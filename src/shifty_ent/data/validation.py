"""Certificate validation (NIST SP 800-88 Appendix G "validated by"): a second person checks a
deletion certificate and signs a statement naming themselves.

The certificate itself is immutable once signed, so a validation is a separate signed document,
kept in the tenant's audit chain (``data.certificate.validate``), which is append-only and
anchored by checkpoints: a validation cannot be removed or backdated without breaking the chain.
The validator is the authenticated identity of the store (OS account or PostgreSQL login outside
declared stores), and never the person who requested or performed the sanitization.
"""

from __future__ import annotations

from typing import Any

from sqlmodel import col, select

from shifty_ent.core import identity
from shifty_ent.core.authz import authorize
from shifty_ent.core.canonical import canonical_json, to_jsonable
from shifty_ent.core.context import Context
from shifty_ent.core.errors import Conflict, InvalidInput, Refused
from shifty_ent.core.signing import known_public_key, sign_bytes, verify_bytes
from shifty_ent.core.tables import AuditEvent
from shifty_ent.data import permissions
from shifty_ent.data.certificates import verify_stored
from shifty_ent.data.tables import DeletionCertificate

SCHEMA = "shifty-ent.certificate-validation/v1"
DOMAIN = b"shifty-ent certificate validation v1\n"
ACTION = "data.certificate.validate"
NOTE_MAX = 500


def signed_bytes(statement: dict[str, Any]) -> bytes:
    """What the validation signature covers: a domain tag, then RFC 8785 JSON."""
    return DOMAIN + canonical_json(statement)


def validate(ctx: Context, ref: str, *, note: str | None = None) -> dict[str, Any]:
    """Check the certificate (signature, digest, job, media) and, when it holds, record a signed
    validation by the acting person. Exit 4 when it does not hold or the validator is not
    independent; exit 5 for a second validation by the same person."""
    authorize(ctx, permissions.CERTIFICATE_VALIDATE)
    if note is not None and (len(note) > NOTE_MAX or not note.isprintable()):
        raise InvalidInput(f"--note: at most {NOTE_MAX} printable characters, on one line")
    ok, reason, cert = verify_stored(ctx, ref)
    if not ok:
        raise Refused(f"cannot validate certificate {cert.id}: {reason}")
    sanitization = cert.document.get("sanitization") or {}
    for role in ("requested_by", "performed_by"):
        who = sanitization.get(role)
        if isinstance(who, str) and identity.same_person(who, ctx.actor):
            raise Refused(
                f"{ctx.actor} {role.replace('_', ' ')} this sanitization; another person must "
                "validate it"
            )
    for earlier in _events(ctx, cert):
        if identity.same_person(earlier.actor, ctx.actor):
            raise Conflict(f"{ctx.actor} already validated certificate {cert.id}")
    pair = ctx.signing_key()
    statement = to_jsonable(
        {
            "schema": SCHEMA,
            "certificate_id": cert.id,
            "job_id": cert.job_id,
            "certificate_sha256": cert.document_sha256,
            "certificate_key_fingerprint": cert.key_fingerprint,
            "validated_by": ctx.actor,
            "identity": ctx.identity,
            "validated_at": ctx.now(),
            "result": "valid",
            "checks": reason,
            "note": note,
            "key_fingerprint": pair.fingerprint,
        }
    )
    record = {
        "statement": statement,
        "signature": sign_bytes(pair, signed_bytes(statement)),
        "public_key": pair.public_b64,
    }
    ctx.audit(ACTION, target_type="certificate", target_id=cert.id, details=record)
    return record


def _events(ctx: Context, cert: DeletionCertificate) -> list[AuditEvent]:
    return list(
        ctx.session.scalars(
            select(AuditEvent)
            .where(
                col(AuditEvent.tenant_id) == ctx.tenant_id,
                col(AuditEvent.action) == ACTION,
                col(AuditEvent.target_id) == str(cert.id),
            )
            .order_by(col(AuditEvent.seq))
        ).all()
    )


def validations(ctx: Context, cert: DeletionCertificate) -> list[dict[str, Any]]:
    """The certificate's validations, each re-checked: its signature, a key this installation
    registered, and that it names this very certificate content."""
    out = []
    for event in _events(ctx, cert):
        details = event.details or {}
        statement = details.get("statement") or {}
        signature, public_key = details.get("signature"), details.get("public_key")
        known = known_public_key(ctx.session, str(statement.get("key_fingerprint")))
        good = (
            isinstance(signature, str)
            and known is not None
            and known == public_key
            and verify_bytes(signed_bytes(statement), signature, known)
            and statement.get("certificate_sha256") == cert.document_sha256
            and statement.get("validated_by") == event.actor
        )
        out.append(
            {
                "validated_by": statement.get("validated_by"),
                "identity": statement.get("identity"),
                "validated_at": statement.get("validated_at"),
                "note": statement.get("note"),
                "key_fingerprint": statement.get("key_fingerprint"),
                "signature_valid": bool(good),
                "audit_seq": event.seq,
            }
        )
    return out
