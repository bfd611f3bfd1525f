"""``retention_status``: each retention policy with its assets in force, in notice and overdue.

Measured at the period's end (by default now, which ``SHIFTY_NOW`` can move). An asset is
*overdue* when its retention expired and it still exists: a violation of the policy unless a legal
hold explains it (GDPR Art. 17(3)(e)). Every overdue asset is listed with the reason it is still
there: legal hold, a deletion job waiting for approval or failed, a policy without auto-delete
that needs a manual request, or simply not swept yet.
"""

from __future__ import annotations

import uuid
from collections import Counter
from collections.abc import Iterator
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import and_, case, func, select
from sqlalchemy.orm import Session
from sqlmodel import col

from shifty_ent.report.document import (
    BAD_IF_NONZERO,
    BAD_IF_TRUE,
    GOOD_IF_TRUE,
    Column,
    ReportBuilder,
)
from shifty_ent.report.period import Period
from shifty_ent.report.sources import keyset

TITLE = "Retention status: policies, notices and overdue assets"
LIVE = ("active", "erasing")


def _overdue_reason(asset: Any, policy: Any, job: Any) -> tuple[str, bool]:
    """(why the asset still exists, whether that is an accepted exception)."""
    if asset.legal_hold:
        return f"legal hold: {asset.hold_reason or 'no reason recorded'}", True
    if job is not None:
        if job.status == "pending_approval":
            return f"deletion job {str(job.id)[:8]} awaits approval", False
        if job.status in ("approved", "running", "waiting_for_host"):
            return f"deletion job {str(job.id)[:8]} is {job.status}", False
        if job.status in ("failed", "partially_completed"):
            return f"deletion job {str(job.id)[:8]} {job.status}: {job.error or ''}".strip(), False
    if asset.status == "erasing":
        return "erasure in progress", False
    if policy is not None and not policy.auto_delete:
        return "policy has no auto-delete: a deletion request is needed", False
    return "expired; not erased by a sweep yet", False


def archive_copies(session: Session, tenant_id: uuid.UUID, as_of: datetime) -> list[dict[str, Any]]:
    """Every surviving pre-deletion archive of the tenant, with the date it is kept until."""
    from shifty_ent.data.api import Asset, RetentionPolicy, default_archive_retention_days

    DEFAULT_ARCHIVE_RETENTION_DAYS = default_archive_retention_days()

    days: dict[Any, int] = {
        pid: d
        for pid, d in session.execute(
            select(col(RetentionPolicy.id), col(RetentionPolicy.retention_days)).where(
                col(RetentionPolicy.tenant_id) == tenant_id
            )
        )
    }
    out = []
    for (a,) in session.execute(
        select(Asset)
        .where(col(Asset.tenant_id) == tenant_id, col(Asset.archive_location).is_not(None))
        .order_by(col(Asset.archived_at), col(Asset.id))
    ):
        until = (
            a.archived_at + timedelta(days=days.get(a.policy_id, DEFAULT_ARCHIVE_RETENTION_DAYS))
            if a.archived_at is not None
            else None
        )
        out.append(
            {
                "asset": a.name,
                "asset_id": str(a.id),
                "asset_status": a.status,
                "archive": a.archive_location,
                "archived_at": a.archived_at.isoformat() if a.archived_at else None,
                "retention_until": until.isoformat() if until else None,
                "overdue": until is not None and until <= as_of,
            }
        )
    return out


def build(session: Session, tenant_id: uuid.UUID, period: Period, doc: ReportBuilder) -> None:
    from shifty_ent.data.api import Asset, DeletionJob, RetentionPolicy

    as_of: datetime = period.end
    policies = {
        p.id: p
        for (p,) in session.execute(
            select(RetentionPolicy)
            .where(col(RetentionPolicy.tenant_id) == tenant_id)
            .order_by(col(RetentionPolicy.name))
        )
    }
    live = (col(Asset.tenant_id) == tenant_id, col(Asset.status).in_(LIVE))
    overdue_cond = (col(Asset.expires_at).is_not(None), col(Asset.expires_at) <= as_of)
    notice_cond = (
        col(Asset.notify_at).is_not(None),
        col(Asset.notify_at) <= as_of,
        col(Asset.expires_at) > as_of,
    )
    counts: dict[Any, Counter[str]] = {}
    for pid, total, overdue, notice in session.execute(
        select(
            col(Asset.policy_id),
            func.count(),
            func.sum(case((and_(*overdue_cond), 1), else_=0)),
            func.sum(case((and_(*notice_cond), 1), else_=0)),
        )
        .where(*live)
        .group_by(col(Asset.policy_id))
    ):
        c = counts.setdefault(pid, Counter())
        c["total"] += int(total or 0)
        c["overdue"] += int(overdue or 0)
        c["notice"] += int(notice or 0)
    deleted_in_period = dict(
        session.execute(
            select(col(Asset.policy_id), func.count())
            .where(
                col(Asset.tenant_id) == tenant_id,
                col(Asset.status) == "deleted",
                col(Asset.deleted_at) >= period.start,
                col(Asset.deleted_at) < period.end,
            )
            .group_by(col(Asset.policy_id))
        ).all()
    )

    def policy_rows() -> Iterator[dict[str, Any]]:
        for pid, pol in policies.items():
            c = counts.get(pid, Counter())
            yield {
                "policy": pol.name,
                "policy_id": str(pid),
                "classifications": ", ".join(pol.classifications or []),
                "retention_days": pol.retention_days,
                "auto_delete": pol.auto_delete,
                "method": pol.method,
                "notify_days": pol.notify_days,
                "assets": c["total"],
                "in_force": c["total"] - c["overdue"] - c["notice"],
                "in_notice": c["notice"],
                "overdue": c["overdue"],
                "deleted_in_period": int(deleted_in_period.get(pid, 0)),
            }
        unfiled = counts.get(None)
        if unfiled:
            yield {
                "policy": "(no policy)",
                "policy_id": None,
                "classifications": "",
                "retention_days": None,
                "auto_delete": None,
                "method": None,
                "notify_days": None,
                "assets": unfiled["total"],
                "in_force": unfiled["total"],
                "in_notice": 0,
                "overdue": 0,
                "deleted_in_period": int(deleted_in_period.get(None, 0)),
            }

    doc.section(
        "policies",
        "Retention policies",
        [
            Column("policy", "Policy"),
            Column("policy_id", "Id", "id"),
            Column("classifications", "Classifications"),
            Column("retention_days", "Retention (days)", "int"),
            Column("auto_delete", "Auto-delete", "bool"),
            Column("method", "Method"),
            Column("notify_days", "Notice (days)", "int"),
            Column("assets", "Assets", "int"),
            Column("in_force", "In force", "int"),
            Column("in_notice", "In notice", "int"),
            Column("overdue", "Overdue", "int", BAD_IF_NONZERO),
            Column("deleted_in_period", "Deleted in period", "int"),
        ],
        policy_rows(),
        f"Counts of live assets as of {as_of:%Y-%m-%d %H:%M:%S} UTC.",
    )

    stats: Counter[str] = Counter()

    def overdue_rows() -> Iterator[dict[str, Any]]:
        stmt = select(Asset).where(*live, *overdue_cond)
        page: list[Any] = []

        def emit(assets: list[Any]) -> Iterator[dict[str, Any]]:
            job_ids = {a.open_job_id for a in assets if a.open_job_id}
            jobs = (
                {
                    j.id: j
                    for (j,) in session.execute(
                        select(DeletionJob).where(
                            col(DeletionJob.tenant_id) == tenant_id,
                            col(DeletionJob.id).in_(job_ids),
                        )
                    )
                }
                if job_ids
                else {}
            )
            for a in assets:
                pol = policies.get(a.policy_id)
                reason, exception = _overdue_reason(a, pol, jobs.get(a.open_job_id))
                stats["exceptions" if exception else "violations"] += 1
                yield {
                    "asset": a.name,
                    "asset_id": str(a.id),
                    "classification": a.classification,
                    "policy": pol.name if pol else None,
                    "expired_at": a.expires_at.isoformat(),
                    "days_overdue": (as_of - a.expires_at).days,
                    "violation": not exception,
                    "reason": reason,
                }

        for (a,) in keyset(session, stmt, [col(Asset.expires_at), col(Asset.id)], page=1000):
            page.append(a)
            if len(page) >= 1000:
                yield from emit(page)
                page = []
        if page:
            yield from emit(page)

    doc.section(
        "overdue",
        "Overdue: retention expired, asset still present",
        [
            Column("asset", "Asset"),
            Column("asset_id", "Id", "id"),
            Column("classification", "Classification"),
            Column("policy", "Policy"),
            Column("expired_at", "Expired (UTC)", "time"),
            Column("days_overdue", "Days overdue", "int"),
            Column("violation", "Violation", "bool", BAD_IF_TRUE),
            Column("reason", "Why it still exists"),
        ],
        overdue_rows(),
        "A legal hold is an accepted exception (GDPR Art. 17(3)(e)); every other row is a "
        "retention violation to act on.",
    )

    def notice_rows() -> Iterator[dict[str, Any]]:
        stmt = select(Asset).where(*live, *notice_cond)
        for (a,) in keyset(session, stmt, [col(Asset.expires_at), col(Asset.id)], page=1000):
            pol = policies.get(a.policy_id)
            yield {
                "asset": a.name,
                "asset_id": str(a.id),
                "classification": a.classification,
                "policy": pol.name if pol else None,
                "expires_at": a.expires_at.isoformat(),
                "days_left": max(0, (a.expires_at - as_of).days),
                "legal_hold": a.legal_hold,
            }

    doc.section(
        "in_notice",
        "In notice: expiring soon",
        [
            Column("asset", "Asset"),
            Column("asset_id", "Id", "id"),
            Column("classification", "Classification"),
            Column("policy", "Policy"),
            Column("expires_at", "Expires (UTC)", "time"),
            Column("days_left", "Days left", "int"),
            Column("legal_hold", "Legal hold", "bool"),
        ],
        notice_rows(),
    )
    archives = archive_copies(session, tenant_id, as_of)
    doc.section(
        "archives",
        "Encrypted archive copies",
        [
            Column("asset", "Asset"),
            Column("asset_id", "Id", "id"),
            Column("asset_status", "Asset status"),
            Column("archive", "Archive"),
            Column("archived_at", "Archived (UTC)", "time"),
            Column("retention_until", "Kept until (UTC)", "time"),
            Column("overdue", "Overdue", "bool", BAD_IF_TRUE),
        ],
        iter(archives),
        "Copies made before deletion (policy --archive-before-delete): each can be restored with "
        "the tenant key until the sweep erases it when its retention ends (the policy's "
        "retention days after archiving, 365 days without a policy).",
    )
    total = sum(c["total"] for c in counts.values())
    overdue = sum(c["overdue"] for c in counts.values())
    notice = sum(c["notice"] for c in counts.values())
    doc.summary.update(
        {
            "as_of": as_of.isoformat(),
            "policies": len(policies),
            "live_assets": total,
            "in_force": total - overdue - notice,
            "in_notice": notice,
            "overdue": overdue,
            "violations": stats["violations"],
            "overdue_on_legal_hold": stats["exceptions"],
            "assets_without_policy": counts.get(None, Counter())["total"],
            "archive_copies": len(archives),
            "archive_copies_of_deleted_assets": sum(
                1 for a in archives if a["asset_status"] == "deleted"
            ),
            "archive_copies_overdue": sum(1 for a in archives if a["overdue"]),
            "compliant": stats["violations"] == 0,
        }
    )
    doc.summary_judge.update(
        {
            "violations": BAD_IF_NONZERO,
            "archive_copies_overdue": BAD_IF_NONZERO,
            "compliant": GOOD_IF_TRUE,
        }
    )
    doc.chart(
        "retention_by_policy",
        "Overdue assets per policy",
        "assets",
        [(p.name, float(counts.get(pid, Counter())["overdue"])) for pid, p in policies.items()],
        empty=f"No policy has overdue assets as of {as_of:%Y-%m-%d %H:%M} UTC.",
    )
