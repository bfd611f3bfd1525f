"""Signed deletion certificates: build, sign, export and verify (offline).

The signed bytes are ``DOMAIN + RFC 8785(document)``: the prefix keeps a certificate signature
from ever being replayed as another kind of signed object. An exported file is self-contained
(document, signature, key fingerprint, public key) and written in one deterministic layout
(sorted keys, two-space indent, UTF-8, final newline), so verification can insist on the exact
bytes: any changed byte either alters the signed content or the layout, and fails.

The document carries the NIST SP 800-88 Rev. 1 Appendix G fields that apply to file- and
object-level sanitization, and honest notes where a method cannot guarantee a Purge.
"""

from __future__ import annotations

import json
import uuid
from pathlib import Path
from typing import TYPE_CHECKING, Any, Protocol

from sqlmodel import col, select

from shifty_ent import __version__
from shifty_ent.core import infiles, outfiles
from shifty_ent.core.authz import authorize
from shifty_ent.core.canonical import canonical_json, sha256_hex, to_jsonable
from shifty_ent.core.context import Context
from shifty_ent.core.errors import InvalidInput, NotFound, Refused
from shifty_ent.core.ids import resolve
from shifty_ent.core.signing import fingerprint_of, known_public_key, sign_bytes, verify_bytes
from shifty_ent.data import permissions
from shifty_ent.data.tables import Asset, DeletionCertificate, DeletionItem, DeletionJob

if TYPE_CHECKING:
    from shifty_ent.core.trust import TrustSet

SCHEMA = "shifty-ent.deletion-certificate/v1"
EXPORT_FORMAT = "shifty-ent.deletion-certificate-export/v1"
DOMAIN = b"shifty-ent deletion certificate v1\n"
METHOD_TITLES = {
    "standard": "Standard deletion (unlink)",
    "secure_overwrite": "3-pass overwrite (DoD 5220.22-M 'E' layout: c, ~c, random)",
    "dod_5220": "7-pass overwrite, legacy DoD 5220.22-M ECE layout (c1, ~c1, rand, c2, c3, ~c3, "
    "rand); DSS withdrew overwriting as sanitization in 2007",
    "nist_800_88": "NIST SP 800-88 Clear (1 random pass + full verification); cryptographic "
    "erase for vault assets (Purge only when the wrapping key is out of the installation's reach)",
    "cryptographic_erase": "Cryptographic erase (destruction of the AES-256 data key)",
}


def signed_bytes(document: dict[str, Any]) -> bytes:
    return DOMAIN + canonical_json(document)


def build_document(
    ctx: Context,
    *,
    cert_id: uuid.UUID,
    job: DeletionJob,
    items: list[DeletionItem],
    assets: dict[uuid.UUID, Asset],
    key_fingerprint: str,
    performed_by: str,
) -> dict[str, Any]:
    media = []
    categories = set()
    for item in items:
        asset = assets[item.asset_id]
        result = dict(item.result or {})
        categories.add(result.get("nist_category", "none"))
        status = item.status
        if status == "erased" and result.get("outcome") == "absent":
            status = "absent"  # nothing was at the location: not sanitized by this tool
        changed = bool(
            asset.sha256 and item.sha256_before and asset.sha256.lower() != item.sha256_before
        )
        notes = list(result.get("notes", []))
        if changed:
            notes.append(
                "The content erased differs from the content registered (sha256_before is not "
                "sha256_registered): the file at the location was changed or replaced after "
                "registration. What was erased is described here; the registered content may "
                "survive elsewhere."
            )
        media.append(
            {
                "asset_id": str(asset.id),
                "name": asset.name,
                "type": asset.type,
                "classification": asset.classification,
                "location": asset.location,
                "media_type": _media_type(asset.scheme, result.get("fs_type")),
                "media_source": f"shifty-ent asset registered by {asset.created_by}",
                "size_bytes": item.size_before
                if item.size_before is not None
                else asset.size_bytes,
                "sha256_before": item.sha256_before
                or (None if result.get("sha256_unmeasured") else asset.sha256),
                "sha256_source": "measured at erasure"
                if item.sha256_before
                else (
                    "not measured: the run that was hashing was interrupted"
                    if result.get("sha256_unmeasured")
                    else "as registered"
                ),
                "sha256_registered": asset.sha256,
                "content_changed": changed,
                "status": status,
                "method_used": job.method,
                "technique": result.get("technique"),
                "nist_category": result.get("nist_category", "none"),
                "pass_layout": result.get("pass_layout", []),
                "passes": result.get("passes", []),
                "passes_completed": result.get("passes_completed", 0),
                "verification": result.get("verification", {"result": "not run"}),
                "post_sanitization_state": result.get("post_sanitization_state"),
                "fs_type": result.get("fs_type"),
                "medium": result.get("medium"),
                "copies": result.get("copies", []),
                "backup_locations": _backup_locations(result.get("copies", [])),
                "classification_after": _classification_after(
                    status, asset.classification, bool(result.get("data_remains"))
                ),
                "post_sanitization_destination": _destination(asset.scheme, status),
                "data_remains": bool(result.get("data_remains")),
                "location_nist_category": result.get(
                    "location_nist_category", result.get("nist_category", "none")
                ),
                "details": {
                    k: v
                    for k, v in result.items()
                    if k
                    not in {
                        "technique",
                        "nist_category",
                        "pass_layout",
                        "passes",
                        "passes_completed",
                        "verification",
                        "post_sanitization_state",
                        "fs_type",
                        "notes",
                        "outcome",
                        "medium",
                        "copies",
                        "data_remains",
                        "location_nist_category",
                    }
                },
                "notes": notes,
                "error": item.error,
                "started_at": item.started_at,
                "completed_at": item.completed_at,
            }
        )
    erased = sum(1 for m in media if m["status"] == "erased")
    absent = sum(1 for m in media if m["status"] == "absent")
    return to_jsonable(
        {
            "schema": SCHEMA,
            "certificate_id": cert_id,
            "job_id": job.id,
            "tenant": {"id": ctx.tenant_id, "name": ctx.tenant.name if ctx.tenant else None},
            "issued_at": ctx.now(),
            "issuer": {
                "organization": ctx.tenant.name if ctx.tenant else None,
                "tool": "shifty-ent",
                "tool_version": __version__,
                "key_fingerprint": key_fingerprint,
                "signature_algorithm": "Ed25519",
            },
            "identity": ctx.identity,
            "sanitization": {
                "performed_by": performed_by,
                "requested_by": job.requested_by,
                "approved_by": job.approved_by,
                "approved_at": job.approved_at,
                "auto_approved": job.auto_approved,
                "reason": job.reason,
                "data_subject": job.subject,
                "source": job.source,
                "method": job.method,
                "method_description": METHOD_TITLES.get(job.method, job.method),
                "nist_categories": sorted(categories),
                "started_at": job.started_at,
                "completed_at": job.completed_at,
                "result": job.status,
            },
            "summary": {
                "assets": len(media),
                "erased": erased,
                "absent": absent,
                "failed": len(media) - erased - absent,
                "content_changed": sum(1 for m in media if m["content_changed"]),
                "copies_remaining": sum(
                    1
                    for m in media
                    for c in m["copies"]
                    if not c.get("erased") and not c.get("absent")
                ),
            },
            "media": media,
            "standard": "Fields after NIST SP 800-88 Rev. 1 Appendix G (certificate of "
            "sanitization); terms per Rev. 2 (2025): Clear, Purge, logical sanitization.",
        }
    )


def _backup_locations(copies: list[dict[str, Any]]) -> dict[str, Any]:
    """Appendix G "backup locations": the copies this tool made, with their fate. Copies made
    by others (file-system snapshots, storage-side backups) are outside its knowledge, and the
    certificate says so rather than implying there are none."""
    return {
        "known": [
            {
                "location": c.get("location"),
                "kind": c.get("kind", "archive"),
                "fate": c.get("fate")
                or ("erased" if c.get("erased") else "absent" if c.get("absent") else "remains"),
            }
            for c in copies
        ],
        "unknown_to_tool": "backups and snapshots made outside shifty-ent are not covered",
    }


def _classification_after(status: str, before: str, data_remains: bool) -> str:
    """Appendix G "post-sanitization confidentiality categorization": nothing readable is left
    only when the item was erased and no data remains; otherwise the data keeps its class."""
    if status == "erased" and not data_remains:
        return "none (no readable data remains at the location)"
    return before


def _destination(scheme: str, status: str) -> str:
    """Appendix G "post-sanitization destination": where the sanitized medium goes next. This
    tool sanitizes logical locations, so the medium stays in service."""
    if status != "erased":
        return "unchanged: the item was not sanitized (see status)"
    if scheme in ("file", "vault"):
        return "reuse: the blocks return to the file system's free space on the same host"
    if scheme == "s3":
        return "reuse: the object is deleted and its storage returns to the provider"
    return "reuse: the location returns to its owner"


def _media_type(scheme: str, fs_type: str | None) -> str:
    if scheme == "file":
        return f"file on a {fs_type or 'local'} file system"
    if scheme == "s3":
        return "object in S3-compatible storage"
    if scheme == "vault":
        return f"AES-256-GCM encrypted vault file on a {fs_type or 'local'} file system"
    return f"{scheme} location (outside this tool's reach)"


def issue(
    ctx: Context, job: DeletionJob, items: list[DeletionItem], *, performed_by: str
) -> DeletionCertificate:
    """Sign and store the job's certificate (the UNIQUE job_id makes a second one fail)."""
    existing = ctx.session.scalars(
        select(DeletionCertificate).where(DeletionCertificate.job_id == job.id)
    ).first()
    if existing is not None:
        return existing
    pair = ctx.signing_key()
    assets = {
        a.id: a
        for a in ctx.session.scalars(
            select(Asset).where(col(Asset.id).in_([i.asset_id for i in items]))
        ).all()
    }
    cert_id = uuid.uuid4()
    doc = build_document(
        ctx,
        cert_id=cert_id,
        job=job,
        items=items,
        assets=assets,
        key_fingerprint=pair.fingerprint,
        performed_by=performed_by,
    )
    cert = DeletionCertificate(
        id=cert_id,
        tenant_id=ctx.tenant_id,
        job_id=job.id,
        document=doc,
        signature=sign_bytes(pair, signed_bytes(doc)),
        key_fingerprint=pair.fingerprint,
        public_key=pair.public_b64,
        document_sha256=sha256_hex(canonical_json(doc)),
        created_at=ctx.now(),
    )
    ctx.session.add(cert)
    ctx.session.flush()
    return cert


# ------------------------------------------------------------------ read, export, verify


def get_certificate(ctx: Context, ref: str) -> DeletionCertificate:
    authorize(ctx, permissions.CERTIFICATE_READ)
    try:
        return resolve(
            ctx.session,
            DeletionCertificate,
            ref,
            what="certificate",
            tenant_id=ctx.tenant_id,
            name_attr=None,
        )
    except NotFound:
        # a job id is a natural handle too
        job = ctx.session.scalars(
            select(DeletionJob).where(DeletionJob.tenant_id == ctx.tenant_id)
        ).all()
        for j in job:
            if j.certificate_id and str(j.id).replace("-", "").startswith(ref.replace("-", "")):
                return ctx.session.get(DeletionCertificate, j.certificate_id)  # type: ignore[return-value]  # the job's certificate exists
        raise


def show_certificate(ctx: Context, ref: str) -> DeletionCertificate:
    cert = get_certificate(ctx, ref)
    ctx.audit(
        "data.certificate.read",
        target_type="certificate",
        target_id=cert.id,
        details={"job_id": str(cert.job_id)},
    )
    return cert


def amendments(ctx: Context, cert_id: uuid.UUID) -> list[dict[str, Any]]:
    """The ``data.certificate.amend`` audit events of a certificate, oldest first: what was
    learnt after it was signed (a key epoch closed since, which may make a Clear cryptographic
    erase a Purge); the signed document itself never changes."""
    from shifty_ent.core.tables import AuditEvent

    events = ctx.session.scalars(
        select(AuditEvent)
        .where(
            AuditEvent.tenant_id == ctx.tenant_id,
            AuditEvent.action == "data.certificate.amend",
            AuditEvent.target_id == str(cert_id),
        )
        .order_by(col(AuditEvent.seq))
    ).all()
    return [{"at": e.at, "audit_seq": e.seq, "actor": e.actor, **(e.details or {})} for e in events]


SIGNED_BYTES_NOTE = "UTF-8 'shifty-ent deletion certificate v1\\n' + RFC 8785 (certificate)"
# envelope fields that are not covered by the signature must have exactly these values
ENVELOPE = {
    "format": EXPORT_FORMAT,
    "signature_algorithm": "Ed25519",
    "signed_bytes": SIGNED_BYTES_NOTE,
}
EXPORT_KEYS = {*ENVELOPE, "certificate", "signature", "key_fingerprint", "public_key"}


class SignedCertificate(Protocol):
    """What an export needs: a stored row or the data API's ``CertificateView``."""

    @property
    def document(self) -> dict[str, Any]: ...
    @property
    def signature(self) -> str: ...
    @property
    def key_fingerprint(self) -> str: ...
    @property
    def public_key(self) -> str: ...


def export_document(cert: SignedCertificate) -> dict[str, Any]:
    return {
        **ENVELOPE,
        "certificate": cert.document,
        "signature": cert.signature,
        "key_fingerprint": cert.key_fingerprint,
        "public_key": cert.public_key,
    }


def export_bytes(doc: dict[str, Any]) -> bytes:
    """The one byte layout of an exported certificate file."""
    return (json.dumps(doc, sort_keys=True, indent=2, ensure_ascii=False) + "\n").encode("utf-8")


def export_certificate(
    ctx: Context, ref: str, out: Path, *, force: bool = False
) -> DeletionCertificate:
    cert = get_certificate(ctx, ref)
    data = export_bytes(export_document(cert))
    out = outfiles.write_file(out, data, force=force)
    ctx.audit(
        "data.certificate.export",
        target_type="certificate",
        target_id=cert.id,
        details={"file": str(out), "sha256": sha256_hex(data)},
    )
    return cert


def verify_certificate_document(
    doc: dict[str, Any], public_key_b64: str | None = None
) -> tuple[bool, str]:
    """Check an exported certificate (or a ``certificate show`` object) offline.

    ``doc`` is the export file's object (``format``, ``certificate``, ``signature``,
    ``key_fingerprint``, ``public_key``). ``public_key_b64`` pins the issuer key; without it the
    embedded key is used (then only integrity is proven, not who signed: compare the
    fingerprint with the published one). Returns (ok, one-line reason).
    """
    if not isinstance(doc, dict):
        return False, "not a certificate object"
    if "format" in doc:  # an export file: its unsigned envelope must be exactly ours
        for key, value in ENVELOPE.items():
            if doc.get(key) != value:
                return False, f"export envelope field {key!r} was changed"
        extra = set(doc) - EXPORT_KEYS
        if extra:
            return False, f"unexpected field(s) in the export: {', '.join(sorted(extra))}"
    body = doc.get("certificate")
    signature = doc.get("signature")
    embedded_key = doc.get("public_key")
    fingerprint = doc.get("key_fingerprint")
    if not isinstance(body, dict) or not isinstance(signature, str):
        return False, "missing 'certificate' or 'signature'"
    if not isinstance(embedded_key, str) or not isinstance(fingerprint, str):
        return False, "missing 'public_key' or 'key_fingerprint'"
    try:
        actual_fp = fingerprint_of(embedded_key)
    except (ValueError, TypeError):
        return False, "embedded public key is not valid base64"
    if actual_fp != fingerprint:
        return False, "embedded public key does not match key_fingerprint"
    if public_key_b64 is not None and public_key_b64 != embedded_key:
        return False, f"signed by {fingerprint}, not by the expected key"
    issuer = body.get("issuer") or {}
    if issuer.get("key_fingerprint") != fingerprint:
        return False, "certificate names another issuer key than the one that signed it"
    if body.get("schema") != SCHEMA:
        return False, f"unknown certificate schema {body.get('schema')!r}"
    try:
        ok = verify_bytes(signed_bytes(body), signature, public_key_b64 or embedded_key)
    except (TypeError, ValueError):
        ok = False
    if not ok:
        return False, "signature does not match the certificate content"
    problem = _content_problem(body)
    if problem:
        return False, problem
    summary = body.get("summary", {})
    return True, (
        f"valid: job {body.get('job_id')} ({body.get('sanitization', {}).get('result')}), "
        f"{summary.get('erased')}/{summary.get('assets')} asset(s) erased"
        + (f", {summary['absent']} absent (not sanitized)" if summary.get("absent") else "")
        + (
            f", {summary['content_changed']} changed since registration"
            if summary.get("content_changed")
            else ""
        )
        + (
            f", {summary['copies_remaining']} archive copy(ies) remain"
            if summary.get("copies_remaining")
            else ""
        )
        + f", signed by {fingerprint}"
    )


def _content_problem(body: dict[str, Any]) -> str | None:
    media = body.get("media")
    if not isinstance(media, list) or not media:
        return "certificate lists no media"
    summary = body.get("summary") or {}
    erased = sum(1 for m in media if m.get("status") == "erased")
    absent = sum(1 for m in media if m.get("status") == "absent")
    if summary.get("assets") != len(media) or summary.get("erased") != erased:
        return "summary does not match the media list"
    if summary.get("absent", 0) != absent:
        return "summary does not match the media list"
    for m in media:
        if m.get("status") == "erased" and not m.get("post_sanitization_state"):
            return f"asset {m.get('asset_id')} is marked erased without a post-sanitization state"
    return None


def verify_file(
    path: Path, public_key_b64: str | None = None, *, trust: TrustSet | None = None
) -> tuple[bool, str]:
    """Verify an exported certificate file byte for byte; with ``trust`` a valid signature
    counts only from a key it trusts (a forgery re-signed with the forger's key fails)."""
    try:
        raw = infiles.read_bounded(path, "certificate", infiles.DOCUMENT_MAX)
    except OSError as exc:
        raise InvalidInput(f"cannot read {path}: {exc.strerror}") from None
    try:
        doc = json.loads(raw.decode("utf-8"))
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        return False, f"not a JSON certificate file: {exc}"
    if isinstance(doc, dict) and set(doc) != EXPORT_KEYS:
        # an export file carries exactly its envelope: a renamed 'format' key must not turn
        # the file into an envelope-less object whose unsigned fields nobody checks
        missing, extra = EXPORT_KEYS - set(doc), set(doc) - EXPORT_KEYS
        return False, (
            "not a certificate export: "
            + (f"missing {', '.join(sorted(missing))}" if missing else "")
            + ("; " if missing and extra else "")
            + (f"unexpected {', '.join(sorted(extra))}" if extra else "")
        )
    ok, reason = verify_certificate_document(doc, public_key_b64)
    if ok and export_bytes(doc) != raw:
        return False, "file bytes differ from the signed export layout (the file was edited)"
    if ok and trust is not None:
        trusted, why = trust.check(doc.get("key_fingerprint"))
        if not trusted:
            return False, why
    return ok, reason


def verify_stored(ctx: Context, ref: str) -> tuple[bool, str, DeletionCertificate]:
    """Verify a certificate from the store, against the store's registered key and job."""
    cert = get_certificate(ctx, ref)
    known = known_public_key(ctx.session, cert.key_fingerprint)
    if known is None:
        return False, "signed by a key this installation does not know", cert
    ok, reason = verify_certificate_document(export_document(cert), known)
    if ok and sha256_hex(canonical_json(cert.document)) != cert.document_sha256:
        ok, reason = False, "stored document differs from its recorded digest"
    job = ctx.session.get(DeletionJob, cert.job_id)
    if ok and (job is None or str(job.id) != cert.document.get("job_id")):
        ok, reason = False, "certificate does not belong to its job"
    if (
        ok
        and job is not None
        and sorted(job.asset_ids)
        != sorted(m.get("asset_id") for m in cert.document.get("media", []))
    ):
        ok, reason = False, "certificate's media list differs from the job's assets"
    ctx.audit(
        "data.certificate.verify",
        target_type="certificate",
        target_id=cert.id,
        details={"ok": ok, "reason": reason},
    )
    return ok, reason, cert


def raise_unless_valid(ok: bool, reason: str) -> None:
    if not ok:
        raise Refused(f"certificate verification FAILED: {reason}")


def list_certificates(ctx: Context) -> list[DeletionCertificate]:
    authorize(ctx, permissions.CERTIFICATE_READ)
    return list(
        ctx.session.scalars(
            select(DeletionCertificate)
            .where(DeletionCertificate.tenant_id == ctx.tenant_id)
            .order_by(col(DeletionCertificate.created_at))
        ).all()
    )
