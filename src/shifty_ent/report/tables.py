"""The ``reports`` table: every report generated, with what an auditor needs to trust its file.

A row records the content hash, the detached signature and the key that made it, and the audit
head at generation time, so a report file handed to an auditor can be matched to the store (and to
the ``report.generate`` audit event that points back at this row).
"""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any

from sqlalchemy import BigInteger
from sqlmodel import Field, SQLModel

from shifty_ent.core.tables import created_at_field, tenant_unique
from shifty_ent.core.types import UTCDateTime


class Report(SQLModel, table=True):
    __tablename__ = "reports"
    __table_args__ = (tenant_unique("reports"),)

    id: uuid.UUID = Field(default_factory=uuid.uuid4, primary_key=True)
    tenant_id: uuid.UUID = Field(foreign_key="tenants.id", index=True)
    type: str = Field(max_length=32, index=True)
    format: str = Field(max_length=8)
    period_start: datetime = Field(sa_type=UTCDateTime, nullable=False)
    period_end: datetime = Field(sa_type=UTCDateTime, nullable=False)
    generated_by: str = Field(max_length=128)
    generated_at: datetime = created_at_field()
    tool_version: str = Field(max_length=32)
    path: str = Field(max_length=4096)
    size_bytes: int = Field(sa_type=BigInteger)
    content_sha256: str = Field(max_length=64)
    signature: str = Field(max_length=128)
    key_fingerprint: str = Field(max_length=80)
    audit_head_seq: int
    audit_head_hash: str = Field(max_length=64)
    row_count: int = 0

    def public(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "tenant_id": self.tenant_id,
            "type": self.type,
            "format": self.format,
            "period_start": self.period_start,
            "period_end": self.period_end,
            "generated_by": self.generated_by,
            "generated_at": self.generated_at,
            "tool_version": self.tool_version,
            "path": self.path,
            "signature_path": self.path + ".sig",
            "size_bytes": self.size_bytes,
            "row_count": self.row_count,
            "content_sha256": self.content_sha256,
            "signature": self.signature,
            "key_fingerprint": self.key_fingerprint,
            "audit_head_seq": self.audit_head_seq,
            "audit_head_hash": self.audit_head_hash,
        }
