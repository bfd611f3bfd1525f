"""``deletion_audit``: every deletion job of the period, asset by asset, with its certificate.

For SOC 2 CC6.5, GDPR Art. 17 and HIPAA 164.310(d)(2)(i): what was erased, how (method and the
NIST SP 800-88 category it honestly reaches), who asked, who approved (four eyes), when, whether
the erasure verified, and whether the signed certificate *still* verifies today against the
installation's registered key (a certificate edited in the store since issue shows as invalid).
Jobs are read in keyset pages with their items, assets and certificates per page.
"""

from __future__ import annotations

import uuid
from collections import Counter
from collections.abc import Iterator, Mapping
from typing import TYPE_CHECKING, Any

from sqlalchemy import and_, or_, select
from sqlalchemy.orm import Session
from sqlmodel import col

from shifty_ent.core.canonical import canonical_json, sha256_hex
from shifty_ent.core.identity import same_person
from shifty_ent.core.tables import SigningKey
from shifty_ent.report.document import BAD_IF_NONZERO, GOOD_IF_TRUE, Column, ReportBuilder
from shifty_ent.report.period import Period, week_start
from shifty_ent.report.sources import keyset

if TYPE_CHECKING:  # the data group is imported when the report runs
    from shifty_ent.data.api import CertificateView, DeletionJob

TITLE = "Deletion audit: certified erasure"
PAGE = 500

COLUMNS = [
    Column("job_id", "Job", "id"),
    Column("job_status", "Job status"),
    Column("asset_id", "Asset", "id"),
    Column("asset_name", "Asset name"),
    Column("classification", "Classification"),
    Column("method", "Method"),
    Column("nist_category", "NIST 800-88"),
    Column("item_status", "Result"),
    Column("content_check", "Content vs registered"),
    Column("verification", "Verification"),
    Column("requested_by", "Requested by"),
    Column("approved_by", "Approved by"),
    Column("four_eyes", "Four eyes"),
    Column("requested_at", "Requested (UTC)", "time"),
    Column("approved_at", "Approved (UTC)", "time"),
    Column("completed_at", "Completed (UTC)", "time"),
    Column("reason", "Reason"),
    Column("certificate_id", "Certificate", "id"),
    Column("certificate_valid", "Certificate verifies", "bool", GOOD_IF_TRUE),
    Column("certificate_check", "Certificate check"),
]


def _iso(value: Any) -> str | None:
    return value.isoformat() if value is not None else None


def _verify_cert(
    cert: CertificateView, known: Mapping[str, str | None], job: DeletionJob
) -> tuple[bool, str]:
    from shifty_ent.data.api import verify_certificate

    public = known.get(cert.key_fingerprint)
    if public is None:
        return False, "signed by a key this installation does not know"
    ok, reason = verify_certificate(cert, public)
    if not ok:
        return False, reason
    if sha256_hex(canonical_json(cert.document)) != cert.document_sha256:
        return False, "stored document differs from its recorded digest"
    if str(job.id) != cert.document.get("job_id"):
        return False, "certificate does not belong to its job"
    media = sorted(str(m.get("asset_id")) for m in cert.document.get("media", []))
    if sorted(str(a) for a in (job.asset_ids or [])) != media:
        return False, "certificate's media list differs from the job's assets"
    return True, "valid"


def auto_approval(approved_by: str | None) -> tuple[str, str]:
    """(approved by, four eyes) for a job approved without a second person: by a retention
    policy (``policy:NAME``), by destroying a workspace (``workspace:ID``) or by an archive's
    retention ending. Each says which; a workspace is never passed off as a policy."""
    source, _, name = (approved_by or "").partition(":")
    if source == "policy":
        return f"auto (retention policy {name})", "policy"
    if source == "workspace":
        return "auto (workspace destroyed)", "workspace"
    if approved_by == "archive retention":
        return "auto (archive retention ended)", "archive retention"
    return f"auto ({approved_by or 'no approver recorded'})", "automatic"


def _content_check(asset: Any, item: Any) -> str:
    """Whether what was erased is what was registered (sha256 at erasure vs at registration)."""
    measured = item.sha256_before if item is not None else None
    registered = asset.sha256 if asset is not None else None
    if not measured or not registered:
        return "not compared"
    if measured == registered.lower():
        return "same"
    return f"CHANGED: registered {registered[:12]}..., erased {measured[:12]}..."


def _rows(
    session: Session, tenant_id: uuid.UUID, period: Period, stats: dict[str, Any]
) -> Iterator[dict[str, Any]]:
    from shifty_ent.data.api import (
        Asset,
        CertificateView,
        DeletionCertificate,
        DeletionItem,
        DeletionJob,
    )

    known = {
        fp: pk
        for fp, pk in session.execute(
            select(col(SigningKey.fingerprint), col(SigningKey.public_key))
        )
    }
    J = DeletionJob
    in_period = or_(
        and_(col(J.created_at) >= period.start, col(J.created_at) < period.end),
        and_(col(J.completed_at) >= period.start, col(J.completed_at) < period.end),
    )
    stmt = select(J).where(col(J.tenant_id) == tenant_id, in_period)
    page: list[Any] = []

    def emit(jobs: list[Any]) -> Iterator[dict[str, Any]]:
        ids = [j.id for j in jobs]
        items: dict[uuid.UUID, list[Any]] = {}
        for (it,) in session.execute(
            select(DeletionItem).where(
                col(DeletionItem.tenant_id) == tenant_id,
                col(DeletionItem.job_id).in_(ids),
            )
        ):
            items.setdefault(it.job_id, []).append(it)
        asset_ids = {uuid.UUID(str(a)) for j in jobs for a in (j.asset_ids or [])}
        assets = {
            a.id: a
            for (a,) in session.execute(
                select(Asset).where(
                    col(Asset.tenant_id) == tenant_id,
                    col(Asset.id).in_(asset_ids),
                )
            )
        }
        certs = {
            c.job_id: c
            for (c,) in session.execute(
                select(DeletionCertificate).where(
                    col(DeletionCertificate.tenant_id) == tenant_id,
                    col(DeletionCertificate.job_id).in_(ids),
                )
            )
        }
        for job in jobs:
            stats["jobs"] += 1
            stats["status"][job.status] += 1
            cert = certs.get(job.id)
            valid: bool | None = None
            check = "no certificate"
            if cert is not None:
                valid, check = _verify_cert(CertificateView.of(cert), known, job)
                stats["certificates"] += 1
                stats["certificates_valid" if valid else "certificates_invalid"] += 1
            if job.auto_approved:
                approver, four_eyes = auto_approval(job.approved_by)
            elif job.approved_by is None:
                approver, four_eyes = None, "pending"
            elif same_person(job.approved_by, job.requested_by):
                approver, four_eyes = job.approved_by, "VIOLATED"
                stats["four_eyes_violations"] += 1
            else:
                approver, four_eyes = job.approved_by, "ok"
            by_asset = {it.asset_id: it for it in items.get(job.id, [])}
            for raw in job.asset_ids or []:
                aid = uuid.UUID(str(raw))
                asset = assets.get(aid)
                item = by_asset.get(aid)
                result = (item.result or {}) if item is not None else {}
                verification = result.get("verification")
                if isinstance(verification, dict):
                    verification = verification.get("result") or verification.get("method")
                nist = result.get("nist_category")
                status = item.status if item is not None else "pending"
                if status == "erased" and result.get("outcome") == "absent":
                    status = "absent"  # nothing at the location: not sanitized by the tool
                    stats["assets_absent"] += 1
                content = _content_check(asset, item)
                if content.startswith("CHANGED"):
                    stats["content_changed"] += 1
                if status == "erased":
                    stats["assets_erased"] += 1
                    stats["nist"][(nist or "none").lower()] += 1
                    done = (item.completed_at if item is not None else None) or job.completed_at
                    if done is not None and period.contains(done):
                        stats["weeks"][week_start(done.date()).isoformat()] += 1
                elif status == "failed":
                    stats["assets_failed"] += 1
                yield {
                    "job_id": str(job.id),
                    "job_status": job.status,
                    "asset_id": str(aid),
                    "asset_name": asset.name if asset else None,
                    "classification": asset.classification if asset else None,
                    "method": job.method,
                    "nist_category": nist,
                    "item_status": status,
                    "content_check": content,
                    "verification": verification,
                    "requested_by": job.requested_by,
                    "approved_by": approver,
                    "four_eyes": four_eyes,
                    "requested_at": _iso(job.created_at),
                    "approved_at": _iso(job.approved_at),
                    "completed_at": _iso(item.completed_at if item else job.completed_at),
                    "reason": job.reason,
                    "certificate_id": str(cert.id) if cert else None,
                    "certificate_valid": valid,
                    "certificate_check": check,
                }

    for row in keyset(session, stmt, [col(J.created_at), col(J.id)], page=PAGE):
        page.append(row[0])
        if len(page) >= PAGE:
            yield from emit(page)
            page = []
    if page:
        yield from emit(page)


def build(session: Session, tenant_id: uuid.UUID, period: Period, doc: ReportBuilder) -> None:
    stats: dict[str, Any] = Counter()
    stats["status"] = Counter()
    stats["nist"] = Counter()
    stats["weeks"] = Counter()
    doc.section(
        "deletions",
        "Deletion jobs and erased assets",
        COLUMNS,
        _rows(session, tenant_id, period, stats),
        "One row per asset of every deletion job requested or completed in the period. "
        "'Certificate verifies' re-checks the stored signed certificate now, against the "
        "installation's registered public key.",
    )
    doc.summary.update(
        {
            "deletion_jobs": stats["jobs"],
            "completed": stats["status"].get("completed", 0),
            "partially_completed": stats["status"].get("partially_completed", 0),
            "failed": stats["status"].get("failed", 0),
            "open": sum(
                stats["status"].get(s, 0)
                for s in ("pending_approval", "approved", "running", "waiting_for_host")
            ),
            "assets_erased": stats["assets_erased"],
            "assets_failed": stats["assets_failed"],
            "assets_absent": stats["assets_absent"],
            "content_changed": stats["content_changed"],
            "nist_purge": stats["nist"].get("purge", 0),
            "nist_clear": stats["nist"].get("clear", 0),
            "not_sanitized": sum(
                v for k, v in stats["nist"].items() if k not in ("purge", "clear")
            ),
            "certificates": stats["certificates"],
            "certificates_valid": stats["certificates_valid"],
            "certificates_invalid": stats["certificates_invalid"],
            "four_eyes_violations": stats["four_eyes_violations"],
        }
    )
    doc.summary_judge.update(
        dict.fromkeys(
            (
                "partially_completed",
                "failed",
                "assets_failed",
                "content_changed",
                "certificates_invalid",
                "four_eyes_violations",
            ),
            BAD_IF_NONZERO,
        )
    )
    doc.notes.extend(
        [
            "NIST SP 800-88: file-level overwrites are at best 'Clear' (copy-on-write, journals, "
            "SSD wear levelling and backups may keep copies); only cryptographic erase of an asset "
            "encrypted from its first write can reach 'Purge', and only once the key that wrapped "
            "the destroyed data key is out of the installation's reach (a local tenant key file "
            "keeps it at 'Clear'). 'standard' deletion is not sanitization.",
            "Certificates are Ed25519-signed documents with NIST SP 800-88 Rev. 1 Appendix G "
            "fields; export one with 'shifty-ent data certificate export' and check it offline "
            "with 'shifty-ent report verify FILE'.",
        ]
    )
    weeks = sorted({week_start(d).isoformat() for d in period.day_list()})
    doc.chart(
        "deletions_per_week",
        "Assets erased per week (week starting)",
        "assets",
        [(w, float(stats["weeks"].get(w, 0))) for w in weeks],
        empty="No asset was erased in this period.",
    )
