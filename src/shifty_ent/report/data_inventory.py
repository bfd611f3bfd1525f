"""``data_inventory``: the tenant's live assets by classification, type, location and size.

PHI and PII come first, then restricted, confidential, internal and public: the order an auditor
reads in. Aggregates are SQL ``GROUP BY``; the asset list is streamed per classification in keyset
pages, so a store with millions of assets renders in flat memory.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from typing import Any

from sqlalchemy import case, func, select
from sqlalchemy.orm import Session
from sqlmodel import col

from shifty_ent.report.document import Column, ReportBuilder
from shifty_ent.report.period import Period
from shifty_ent.report.sources import keyset

TITLE = "Data inventory: assets by classification"
ORDER = ("phi", "pii", "restricted", "confidential", "internal", "public")
LIVE = ("active", "erasing")


def _rank(classification: str) -> int:
    return ORDER.index(classification) if classification in ORDER else len(ORDER)


def human_size(n: int | None) -> str:
    if n is None:
        return "unknown"
    size = float(n)
    for unit in ("B", "KiB", "MiB", "GiB", "TiB"):
        if size < 1024 or unit == "TiB":
            return f"{size:.0f} {unit}" if unit == "B" else f"{size:.1f} {unit}"
        size /= 1024
    return f"{n} B"


def build(session: Session, tenant_id: uuid.UUID, period: Period, doc: ReportBuilder) -> None:
    from shifty_ent.data.api import Asset

    live = (col(Asset.tenant_id) == tenant_id, col(Asset.status).in_(LIVE))
    groups = session.execute(
        select(
            col(Asset.classification),
            col(Asset.type),
            col(Asset.scheme),
            func.count(),
            func.coalesce(func.sum(col(Asset.size_bytes)), 0),
            func.sum(case((col(Asset.size_bytes).is_(None), 1), else_=0)),
            func.sum(case((col(Asset.legal_hold).is_(True), 1), else_=0)),
        )
        .where(*live)
        .group_by(col(Asset.classification), col(Asset.type), col(Asset.scheme))
    ).all()
    groups = sorted(groups, key=lambda g: (_rank(g[0]), g[1], g[2]))
    by_class: dict[str, dict[str, int]] = {}
    for cls, _type, _scheme, n, size, unknown, held in groups:
        c = by_class.setdefault(cls, {"assets": 0, "bytes": 0, "unknown": 0, "held": 0})
        c["assets"] += int(n)
        c["bytes"] += int(size or 0)
        c["unknown"] += int(unknown or 0)
        c["held"] += int(held or 0)
    new_in_period = dict(
        session.execute(
            select(col(Asset.classification), func.count())
            .where(
                col(Asset.tenant_id) == tenant_id,
                col(Asset.created_at) >= period.start,
                col(Asset.created_at) < period.end,
            )
            .group_by(col(Asset.classification))
        ).all()
    )
    deleted_in_period = dict(
        session.execute(
            select(col(Asset.classification), func.count())
            .where(
                col(Asset.tenant_id) == tenant_id,
                col(Asset.status) == "deleted",
                col(Asset.deleted_at) >= period.start,
                col(Asset.deleted_at) < period.end,
            )
            .group_by(col(Asset.classification))
        ).all()
    )
    classes = sorted(set(by_class) | set(new_in_period) | set(deleted_in_period), key=_rank)
    doc.section(
        "by_classification",
        "By classification",
        [
            Column("classification", "Classification"),
            Column("assets", "Live assets", "int"),
            Column("size_bytes", "Bytes", "int"),
            Column("size", "Size"),
            Column("unknown_size", "Size unknown", "int"),
            Column("legal_hold", "On legal hold", "int"),
            Column("registered_in_period", "Registered in period", "int"),
            Column("deleted_in_period", "Deleted in period", "int"),
        ],
        (
            {
                "classification": cls,
                "assets": by_class.get(cls, {}).get("assets", 0),
                "size_bytes": by_class.get(cls, {}).get("bytes", 0),
                "size": human_size(by_class.get(cls, {}).get("bytes", 0)),
                "unknown_size": by_class.get(cls, {}).get("unknown", 0),
                "legal_hold": by_class.get(cls, {}).get("held", 0),
                "registered_in_period": int(new_in_period.get(cls, 0)),
                "deleted_in_period": int(deleted_in_period.get(cls, 0)),
            }
            for cls in classes
        ),
    )
    doc.section(
        "by_type_location",
        "By classification, type and location scheme",
        [
            Column("classification", "Classification"),
            Column("type", "Type"),
            Column("scheme", "Location"),
            Column("assets", "Assets", "int"),
            Column("size_bytes", "Bytes", "int"),
            Column("size", "Size"),
        ],
        (
            {
                "classification": cls,
                "type": typ,
                "scheme": scheme,
                "assets": int(n),
                "size_bytes": int(size or 0),
                "size": human_size(int(size or 0)),
            }
            for cls, typ, scheme, n, size, _u, _h in groups
        ),
    )

    def asset_rows() -> Iterator[dict[str, Any]]:
        for cls in sorted(by_class, key=_rank):
            stmt = select(
                col(Asset.id),
                col(Asset.name),
                col(Asset.type),
                col(Asset.classification),
                col(Asset.scheme),
                col(Asset.location),
                col(Asset.size_bytes),
                col(Asset.legal_hold),
                col(Asset.expires_at),
                col(Asset.created_by),
                col(Asset.created_at),
            ).where(*live, col(Asset.classification) == cls)
            for r in keyset(session, stmt, [col(Asset.name), col(Asset.id)], page=2000):
                yield {
                    "classification": r.classification,
                    "name": r.name,
                    "asset_id": str(r.id),
                    "type": r.type,
                    "scheme": r.scheme,
                    "location": r.location,
                    "size_bytes": r.size_bytes,
                    "legal_hold": r.legal_hold,
                    "expires_at": r.expires_at.isoformat() if r.expires_at else None,
                    "created_by": r.created_by,
                    "created_at": r.created_at.isoformat(),
                }

    doc.section(
        "assets",
        "Live assets",
        [
            Column("classification", "Classification"),
            Column("name", "Name"),
            Column("asset_id", "Id", "id"),
            Column("type", "Type"),
            Column("scheme", "Location scheme"),
            Column("location", "Location"),
            Column("size_bytes", "Bytes", "int"),
            Column("legal_hold", "Legal hold", "bool"),
            Column("expires_at", "Expires (UTC)", "time"),
            Column("created_by", "Registered by"),
            Column("created_at", "Registered (UTC)", "time"),
        ],
        asset_rows(),
        "PHI and PII first. Locations are shown as registered; vault assets are encrypted at rest.",
    )
    total = sum(c["assets"] for c in by_class.values())
    doc.summary.update(
        {
            "live_assets": total,
            "total_bytes": sum(c["bytes"] for c in by_class.values()),
            "total_size": human_size(sum(c["bytes"] for c in by_class.values())),
            "phi_assets": by_class.get("phi", {}).get("assets", 0),
            "pii_assets": by_class.get("pii", {}).get("assets", 0),
            "restricted_or_confidential": sum(
                by_class.get(c, {}).get("assets", 0) for c in ("restricted", "confidential")
            ),
            "on_legal_hold": sum(c["held"] for c in by_class.values()),
            "registered_in_period": sum(int(v) for v in new_in_period.values()),
            "deleted_in_period": sum(int(v) for v in deleted_in_period.values()),
            **_archive_counts(session, tenant_id),
        }
    )
    doc.chart(
        "assets_by_classification",
        "Live assets by classification",
        "assets",
        [(cls, float(by_class[cls]["assets"])) for cls in sorted(by_class, key=_rank)],
        empty="No live assets.",
    )


def _archive_counts(session: Session, tenant_id: uuid.UUID) -> dict[str, int]:
    """Encrypted pre-deletion archives still held: copies of the data that can be restored."""
    from shifty_ent.data.api import Asset

    rows = session.execute(
        select(col(Asset.status), func.count())
        .where(col(Asset.tenant_id) == tenant_id, col(Asset.archive_location).is_not(None))
        .group_by(col(Asset.status))
    ).all()
    return {
        "archive_copies": sum(int(n) for _, n in rows),
        "archive_copies_of_deleted_assets": sum(int(n) for st, n in rows if st == "deleted"),
    }
