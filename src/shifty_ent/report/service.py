"""Generate signed report files, record them, and verify report or certificate files offline.

Generation reads one consistent snapshot on its own connection (see :mod:`.sources`), streams rows
into the file, signs a statement over the file's SHA-256 (see :mod:`.signing.envelope`), writes
``FILE.sig`` beside it, and then records the report and a ``report.generate`` audit event in the
command's transaction. The command's write transaction is committed before the long read, so a big
report never holds the SQLite write lock.
"""

from __future__ import annotations

import importlib
import io
import json
import tempfile
import uuid
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from sqlalchemy import select
from sqlmodel import col

from shifty_ent import __version__
from shifty_ent.core import audit, checkpoint, infiles, outfiles
from shifty_ent.core.authz import authorize
from shifty_ent.core.context import Context
from shifty_ent.core.errors import InvalidInput, NotFound, Refused
from shifty_ent.core.trust import TrustSet
from shifty_ent.report import permissions
from shifty_ent.report.document import Meta, ReportBuilder
from shifty_ent.report.period import parse_period
from shifty_ent.report.render import FORMATS, get_renderer
from shifty_ent.report.signing import envelope
from shifty_ent.report.sources import group_available, snapshot
from shifty_ent.report.tables import Report


@dataclass(frozen=True)
class ReportType:
    name: str
    module: str
    needs: tuple[str, ...]
    kind: str  # compliance | costs | arcade


REPORT_TYPES: dict[str, ReportType] = {
    t.name: t
    for t in (
        ReportType("deletion_audit", "shifty_ent.report.deletion_audit", ("data",), "compliance"),
        ReportType("access_audit", "shifty_ent.report.access_audit", (), "compliance"),
        ReportType(
            "retention_status", "shifty_ent.report.retention_status", ("data",), "compliance"
        ),
        ReportType("data_inventory", "shifty_ent.report.data_inventory", ("data",), "compliance"),
        ReportType("costs", "shifty_ent.report.costs", ("gpu",), "costs"),
        ReportType("arcade", "shifty_ent.report.arcade", ("arcade",), "arcade"),
    )
}
COMPLIANCE_TYPES = tuple(n for n, t in REPORT_TYPES.items() if t.kind == "compliance")


def _module(rtype: ReportType) -> Any:
    missing = [g for g in rtype.needs if not group_available(g)]
    if missing:
        raise Refused(
            f"report {rtype.name!r} needs the {', '.join(missing)} group, "
            "which this installation does not have"
        )
    return importlib.import_module(rtype.module)


def default_path(ctx: Context, report_id: str, rtype: str, fmt: str) -> Path:
    stamp = ctx.now().strftime("%Y%m%dT%H%M%SZ")
    tenant = ctx.tenant.name if ctx.tenant else "tenant"
    return ctx.settings.data_dir / "reports" / tenant / f"{rtype}-{stamp}-{report_id[:8]}.{fmt}"


def _target(
    ctx: Context, out: Path | None, report_id: str, rtype: str, fmt: str, force: bool
) -> Path:
    """The report's path, checked with its ``.sig`` before anything is written (see outfiles)."""
    path = out or default_path(ctx, report_id, rtype, fmt)
    if out is None:
        outfiles.private_dir(path.parent)
    if path.name.endswith(envelope.SIG_SUFFIX):
        raise InvalidInput(f"--out {out}: a report file may not end in {envelope.SIG_SUFFIX}")
    target = outfiles.check_target(path, force=force)
    outfiles.check_target(envelope.sig_path_for(target), force=force)
    return target


def generate(
    ctx: Context,
    report_type: str,
    *,
    start: str | None = None,
    end: str | None = None,
    fmt: str = "md",
    out: Path | None = None,
    force: bool = False,
) -> Report:
    """Build, write, sign and record one report of ``report_type`` for ``ctx.tenant``."""
    rtype = REPORT_TYPES.get(report_type)
    if rtype is None:
        raise InvalidInput(
            f"unknown report type {report_type!r}; choose from {', '.join(REPORT_TYPES)}"
        )
    if fmt not in (*FORMATS, "pdf"):
        choices = ", ".join((*FORMATS, "pdf"))
        raise InvalidInput(f"unknown report format {fmt!r}; choose from {choices}")
    if fmt == "pdf":
        from shifty_ent.report import pdf

        pdf.require()
    module = _module(rtype)
    authorize(ctx, permissions.GENERATE[rtype.kind])
    period = parse_period(start, end, now=ctx.now())
    tenant = ctx.tenant
    assert tenant is not None
    report_id = str(uuid.uuid4())
    path = _target(ctx, out, report_id, rtype.name, fmt, force)
    pair = ctx.signing_key()
    generated_at = ctx.now()
    ctx.session.commit()  # the read below may be long: never hold the write lock through it

    with snapshot(ctx.engine) as snap:
        head_seq, head_hash = _head(snap, tenant.id)
        meta = Meta(
            report_id=report_id,
            type=rtype.name,
            title=module.TITLE,
            format=fmt,
            tenant_id=str(tenant.id),
            tenant_name=tenant.name,
            period=period,
            generated_at=generated_at,
            generated_by=ctx.actor,
            tool_version=__version__,
            audit_head_seq=head_seq,
            audit_head_hash=head_hash,
            identity=ctx.identity,
        )
        doc = ReportBuilder(meta, get_renderer("html" if fmt == "pdf" else fmt))
        try:
            module.build(snap, tenant.id, period, doc)
            with outfiles.open_output(path, force=force) as raw:
                sink = envelope.DigestingWriter(raw)
                if fmt == "pdf":
                    _write_pdf(doc, sink)
                else:
                    with io.TextIOWrapper(sink, encoding="utf-8", newline="") as text:  # type: ignore[type-var]  # write-only buffer
                        doc.write(text)  # closing it closes the digesting sink, not the file
                digest, size = sink.hexdigest(), sink.size
                statement = {
                    **meta.public(),
                    "content_sha256": digest,
                    "size_bytes": size,
                    "row_count": doc.row_count,
                }
                sig = envelope.make_envelope(pair, statement)
        finally:
            doc.close()
    envelope.write_envelope(path, sig, force=force)
    report = Report(
        id=uuid.UUID(report_id),
        tenant_id=tenant.id,
        type=rtype.name,
        format=fmt,
        period_start=period.start,
        period_end=period.end,
        generated_by=ctx.actor,
        generated_at=generated_at,
        tool_version=__version__,
        path=str(path),
        size_bytes=size,
        content_sha256=digest,
        signature=sig["signature"],
        key_fingerprint=pair.fingerprint,
        audit_head_seq=head_seq,
        audit_head_hash=head_hash,
        row_count=doc.row_count,
    )
    ctx.session.add(report)
    ctx.session.flush()
    ctx.audit(
        "report.generate",
        target_type="report",
        target_id=report.id,
        details={
            "type": rtype.name,
            "format": fmt,
            "period_start": period.start.isoformat(),
            "period_end": period.end.isoformat(),
            "content_sha256": digest,
            "key_fingerprint": pair.fingerprint,
            "audit_head_seq": head_seq,
            "audit_head_hash": head_hash,
            "row_count": doc.row_count,
            "file": path.name,
        },
    )
    checkpoint.after_commit(ctx, tenant.id)  # with a witness configured: pin the new head
    return report


def _write_pdf(doc: ReportBuilder, sink: envelope.DigestingWriter) -> None:
    """The report as HTML (spooled to a temporary file), then printed to PDF into ``sink``."""
    from shifty_ent.report import pdf

    with tempfile.TemporaryFile("w+", encoding="utf-8", newline="") as page:
        doc.write(page)
        page.seek(0)
        pdf.print_html(page.read(), sink)
    sink.flush()


def _head(conn: Any, tenant_id: uuid.UUID) -> tuple[int, str]:
    from shifty_ent.core.tables import AuditHead

    row = conn.execute(
        select(col(AuditHead.seq), col(AuditHead.hash)).where(
            col(AuditHead.chain) == audit.chain_of(tenant_id)
        )
    ).first()
    return (int(row[0]), str(row[1])) if row else (0, audit.GENESIS)


def list_reports(ctx: Context, *, report_type: str | None = None, limit: int = 50) -> list[Report]:
    """Reports generated for the tenant, newest first (auditor, operator or admin)."""
    authorize(ctx, permissions.LIST)
    stmt = select(Report).where(col(Report.tenant_id) == ctx.tenant_id)
    if report_type:
        if report_type not in REPORT_TYPES:
            raise InvalidInput(f"unknown report type {report_type!r}")
        stmt = stmt.where(col(Report.type) == report_type)
    stmt = stmt.order_by(col(Report.generated_at).desc(), col(Report.id)).limit(limit)
    return list(ctx.session.scalars(stmt).all())


# ---------------------------------------------------------------- offline verification


def verify_file(
    file: Path,
    *,
    sig: Path | None = None,
    fingerprint: str | None = None,
    trust: TrustSet | None = None,
) -> envelope.Verification:
    """Check a report (with its ``.sig``) or a deletion certificate; needs no database.

    With ``trust`` a valid signature counts only from a key it trusts (see
    :mod:`shifty_ent.core.trust`): a forgery re-signed with the forger's own key fails."""
    result = _verify_signature(file, sig=sig, fingerprint=fingerprint)
    if result.ok and trust is not None:
        trusted, why = trust.check(result.key_fingerprint)
        result.details["trust"] = why if trusted else "untrusted"
        if not trusted:
            result.ok, result.reason = False, why
        elif why == "pinned":
            result.key_pinned = True
    return result


def _verify_signature(
    file: Path, *, sig: Path | None = None, fingerprint: str | None = None
) -> envelope.Verification:
    path = file.expanduser()
    infiles.refuse_special(path, "report")
    if sig is not None:
        infiles.refuse_special(sig.expanduser(), "signature file")
    if path.name.endswith(envelope.SIG_SUFFIX) and sig is None and not _is_certificate(path):
        candidate = path.with_name(path.name[: -len(envelope.SIG_SUFFIX)])
        if candidate.is_file():
            path, sig = candidate, path
    if not path.is_file():
        raise NotFound(f"{file}: no such file")
    sig_path = sig or envelope.sig_path_for(path)
    sig_doc = _load_json(sig_path) if sig_path.is_file() else None
    if sig is not None and sig_doc is None:
        raise NotFound(f"signature file {sig} does not exist or is not JSON")
    if envelope.is_envelope(sig_doc):
        return envelope.verify_envelope(path, sig_doc, fingerprint=fingerprint)
    doc = _load_json(path)
    if isinstance(doc, dict):
        return _verify_certificate(path, doc, sig_doc, fingerprint)
    raise InvalidInput(
        f"{file} has no report signature file {sig_path.name} and is not a deletion certificate"
    )


def _load_json(path: Path) -> Any:
    """The JSON document in ``path``, or None when it is none (or over the size limit)."""
    try:
        fd = infiles.open_regular(path, "signature file")
        with open(fd, "rb") as fh:
            head = fh.read(1)
            if head not in (b"{", b"["):
                return None
            rest = fh.read(infiles.DOCUMENT_MAX)
            if fh.read(1):
                return None
            return json.loads(head + rest)
    except (OSError, ValueError, InvalidInput):
        return None


def _is_certificate(path: Path) -> bool:
    doc = _load_json(path)
    return isinstance(doc, dict) and not envelope.is_envelope(doc)


def _verify_certificate(
    path: Path, doc: dict[str, Any], sig_doc: Any, fingerprint: str | None
) -> envelope.Verification:
    if not group_available("data"):
        raise InvalidInput(f"{path} is not a signed report, and the data group is not installed")
    try:
        certificates = importlib.import_module("shifty_ent.data.certificates")
    except ImportError:
        raise InvalidInput(
            f"{path} is not a signed report, and certificate verification is unavailable"
        ) from None
    byte_exact = getattr(certificates, "verify_file", None)
    if byte_exact is not None and "certificate" in doc:
        ok, reason = byte_exact(path)  # the exported layout, byte for byte
    else:
        ok, reason = certificates.verify_certificate_document(doc)
    digest, _ = envelope.file_digest(path)
    key_fp = _find_fingerprint(doc)
    result = envelope.Verification(
        file=str(path),
        kind="certificate",
        ok=bool(ok),
        reason=str(reason),
        content_sha256=digest,
        key_fingerprint=key_fp,
    )
    cert = doc.get("certificate") or doc.get("document") or {}
    if isinstance(cert, dict):
        result.details = {
            k: cert.get(k)
            for k in ("certificate_id", "job_id", "tenant_id", "method", "nist_category")
            if k in cert
        }
    if result.ok and fingerprint is not None:
        wanted = fingerprint if fingerprint.startswith("SHA256:") else "SHA256:" + fingerprint
        if key_fp is None or key_fp.lower() != wanted.lower():
            result.ok = False
            result.reason = f"signed by key {key_fp}, not the pinned key {wanted}"
        else:
            result.key_pinned = True
    return result


def _find_fingerprint(doc: dict[str, Any]) -> str | None:
    for key in ("key_fingerprint", "key_id"):
        if isinstance(doc.get(key), str):
            return doc[key]
    for inner in ("certificate", "document"):
        sub = doc.get(inner)
        if isinstance(sub, dict):
            for key in ("key_fingerprint", "key_id"):
                if isinstance(sub.get(key), str):
                    return sub[key]
    return None
