"""Which assets a retention sweep must erase now: one query the sweep and the per-host
report of what each host owes (:mod:`shifty_ent.data.owed`) share."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any

from sqlalchemy import String, and_, select, type_coerce
from sqlmodel import col

from shifty_ent.data.tables import Asset, RetentionPolicy
from shifty_ent.data.uses import in_use

# raw id columns: no per-row UUID conversion in the selection phase
DUE_COLUMNS = (type_coerce(Asset.id, String), type_coerce(RetentionPolicy.id, String))


def due_query(tenant_id: uuid.UUID, now: datetime, *columns: Any) -> Any:
    return (
        select(*(columns or DUE_COLUMNS))
        .join(
            RetentionPolicy,
            and_(
                col(RetentionPolicy.id) == col(Asset.policy_id),
                col(RetentionPolicy.tenant_id) == col(Asset.tenant_id),
            ),
        )
        .where(
            col(Asset.tenant_id) == tenant_id,
            col(Asset.status) == "active",
            col(Asset.expires_at) <= now,
            col(Asset.legal_hold) == False,  # noqa: E712
            ~in_use(),  # an implicit hold: a model version something points at
            col(Asset.open_job_id).is_(None),
            col(Asset.type) != "workspace",
            col(RetentionPolicy.auto_delete) == True,  # noqa: E712
        )
        .order_by(col(Asset.expires_at))
    )
