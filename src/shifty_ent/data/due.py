"""Which assets a retention sweep must erase now: one query the sweep and the per-host
report of what each host owes (:mod:`shifty_ent.data.owed`) share."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any

from sqlalchemy import String, and_, select, type_coerce

from shifty_ent.data.tables import Asset, RetentionPolicy

# raw id columns: no per-row UUID conversion in the selection phase
DUE_COLUMNS = (type_coerce(Asset.id, String), type_coerce(RetentionPolicy.id, String))


def due_query(tenant_id: uuid.UUID, now: datetime, *columns: Any) -> Any:
    return (
        select(*(columns or DUE_COLUMNS))
        .join(
            RetentionPolicy,
            and_(
                RetentionPolicy.id == Asset.policy_id,
                RetentionPolicy.tenant_id == Asset.tenant_id,
            ),
        )
        .where(
            Asset.tenant_id == tenant_id,
            Asset.status == "active",
            Asset.expires_at <= now,  # type: ignore[operator]
            Asset.legal_hold == False,  # noqa: E712
            Asset.open_job_id.is_(None),  # type: ignore[union-attr]
            Asset.type != "workspace",
            RetentionPolicy.auto_delete == True,  # noqa: E712
        )
        .order_by(Asset.expires_at)
    )
