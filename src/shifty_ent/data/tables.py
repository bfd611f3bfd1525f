"""Data-lifecycle tables: retention policies, assets, vault keys, deletion jobs and their items,
certificates, notifications and workspaces.

Rules the schema itself enforces:
- ``(tenant_id, x_id)`` composite foreign keys keep every reference inside one tenant;
- ``deletion_certificates.job_id`` is UNIQUE: one certificate per deletion job, even when two
  executors race to issue it;
- ``data_notifications (asset_id, kind)`` is UNIQUE: a notice is recorded once, whatever the number
  of sweeps that see the asset enter its notice window;
- ``data_assets.open_job_id`` is set by a conditional UPDATE (``... WHERE open_job_id IS NULL``):
  an asset belongs to at most one open deletion job, so two sweeps never erase it twice.
"""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any

from sqlalchemy import BigInteger, Column, Index, Text, UniqueConstraint, text
from sqlmodel import Field, SQLModel

from shifty_ent.core.tables import created_at_field, tenant_fk, tenant_unique, utc_field
from shifty_ent.core.types import JSONType, UTCDateTime

# the value sets live in a light module (help and completion read them); the services import
# them from here, beside the tables they constrain
from shifty_ent.data.values import (  # noqa: F401 - re-exported
    ASSET_STATES,
    CLASSIFICATIONS,
    JOB_STATES,
    METHODS,
    OPEN_JOB_STATES,
    WAITING,
    WORKSPACE_TYPES,
)


class RetentionPolicy(SQLModel, table=True):
    """How long assets of some classifications are kept, and what happens when that ends."""

    __tablename__ = "retention_policies"
    __table_args__ = (
        tenant_unique("retention_policies"),
        UniqueConstraint("tenant_id", "name", name="uq_retention_policies_name"),
    )

    id: uuid.UUID = Field(default_factory=uuid.uuid4, primary_key=True)
    tenant_id: uuid.UUID = Field(foreign_key="tenants.id", index=True)
    name: str = Field(max_length=64)
    classifications: list[str] = Field(default_factory=list, sa_type=JSONType)
    retention_days: int
    auto_delete: bool = False
    archive_before_delete: bool = False
    notify_days: int | None = None
    method: str = Field(default="standard", max_length=32)
    auto_approve: bool = False
    created_at: datetime = created_at_field()
    created_by: str = Field(max_length=128)

    def public(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "name": self.name,
            "classifications": list(self.classifications or []),
            "retention_days": self.retention_days,
            "auto_delete": self.auto_delete,
            "archive_before_delete": self.archive_before_delete,
            "notify_days": self.notify_days,
            "method": self.method,
            "auto_approve": self.auto_approve,
            "created_at": self.created_at,
            "created_by": self.created_by,
        }


LIVE_LOCATION = text("location_key IS NOT NULL AND status <> 'deleted'")


class Asset(SQLModel, table=True):
    """A piece of data the tenant is accountable for, wherever it lives.

    ``policy_id`` is the effective policy (explicit when ``policy_explicit``, otherwise the policy
    of its classification); ``expires_at`` and ``notify_at`` are derived from it and stored, so the
    sweep selects due assets with one indexed range scan.

    ``host_id`` is the host a local file or vault copy lives on (NULL for remote locations);
    ``location_key`` (``host_id:path`` for those, the URI otherwise) is unique among live assets,
    so one location is never a live asset of two tenants, nor twice of one.
    """

    __tablename__ = "data_assets"
    __table_args__ = (
        tenant_unique("data_assets"),
        tenant_fk("policy_id", "retention_policies"),
        Index("ix_data_assets_due", "tenant_id", "status", "expires_at"),
        Index("ix_data_assets_notice", "tenant_id", "status", "notify_at"),
        Index("ix_data_assets_name", "tenant_id", "name"),
        Index(
            "uq_data_assets_live_location",
            "location_key",
            unique=True,
            sqlite_where=LIVE_LOCATION,
            postgresql_where=LIVE_LOCATION,
        ),
    )

    id: uuid.UUID = Field(default_factory=uuid.uuid4, primary_key=True)
    tenant_id: uuid.UUID = Field(foreign_key="tenants.id", index=True)
    name: str = Field(max_length=200)
    type: str = Field(max_length=64)
    classification: str = Field(max_length=16)
    location: str = Field(sa_type=Text)
    scheme: str = Field(max_length=16)
    host_id: str | None = Field(default=None, max_length=64)
    location_key: str | None = Field(default=None, sa_type=Text)
    size_bytes: int | None = Field(default=None, sa_column=Column(BigInteger, nullable=True))
    sha256: str | None = Field(default=None, max_length=64)
    policy_id: uuid.UUID | None = None
    policy_explicit: bool = False
    subjects: list[str] = Field(default_factory=list, sa_type=JSONType)
    status: str = Field(default="active", max_length=16)
    legal_hold: bool = False
    hold_reason: str | None = Field(default=None, sa_type=Text)
    hold_by: str | None = Field(default=None, max_length=128)
    hold_at: datetime | None = utc_field()
    expires_at: datetime | None = utc_field()
    notify_at: datetime | None = utc_field()
    open_job_id: uuid.UUID | None = None
    archive_location: str | None = Field(default=None, sa_type=Text)
    archived_at: datetime | None = utc_field()
    created_at: datetime = created_at_field()
    created_by: str = Field(max_length=128)
    deleted_at: datetime | None = utc_field()
    deleted_by_job_id: uuid.UUID | None = None

    def public(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "name": self.name,
            "type": self.type,
            "classification": self.classification,
            "location": self.location,
            "host_id": self.host_id,
            "size_bytes": self.size_bytes,
            "sha256": self.sha256,
            "policy_id": self.policy_id,
            "expires_at": self.expires_at,
            "legal_hold": self.legal_hold,
            "hold_reason": self.hold_reason,
            "subjects": list(self.subjects or []),
            "status": self.status,
            "open_job_id": self.open_job_id,
            "archive_location": self.archive_location,
            "created_at": self.created_at,
            "created_by": self.created_by,
            "deleted_at": self.deleted_at,
        }


class AssetUse(SQLModel, table=True):
    """An implicit legal hold: another group uses the asset now (a model version an alias or a
    live deployment points at). While a row exists the asset is neither swept nor erased; the
    using group replaces its rows whenever what it uses changes (:mod:`shifty_ent.data.uses`)."""

    __tablename__ = "data_asset_uses"
    __table_args__ = (tenant_fk("asset_id", "data_assets", ondelete="CASCADE"),)

    tenant_id: uuid.UUID = Field(foreign_key="tenants.id", primary_key=True)
    asset_id: uuid.UUID = Field(primary_key=True)
    scope: str = Field(primary_key=True, max_length=32)
    reason: str = Field(sa_type=Text)
    since: datetime = created_at_field()

    def public(self) -> dict[str, Any]:
        return {"scope": self.scope, "reason": self.reason, "since": self.since}


class AssetSubject(SQLModel, table=True):
    """Index of data subjects per asset, for GDPR erasure and export by person."""

    __tablename__ = "data_asset_subjects"
    __table_args__ = (
        tenant_fk("asset_id", "data_assets", ondelete="CASCADE"),
        Index("ix_data_asset_subjects_subject", "tenant_id", "subject"),
    )

    tenant_id: uuid.UUID = Field(foreign_key="tenants.id", primary_key=True)
    asset_id: uuid.UUID = Field(primary_key=True)
    subject: str = Field(primary_key=True, max_length=200)


class VaultKey(SQLModel, table=True):
    """A vault asset's AES-256 data key, wrapped (AES-GCM) by the tenant key.

    Cryptographic erase nulls ``wrapped_key`` and sets ``destroyed_at``; the ciphertext left behind
    can no longer be decrypted by anyone.
    """

    __tablename__ = "data_vault_keys"
    __table_args__ = (tenant_fk("asset_id", "data_assets"),)

    asset_id: uuid.UUID = Field(primary_key=True)
    tenant_id: uuid.UUID = Field(foreign_key="tenants.id", index=True)
    kek_id: str = Field(max_length=80)
    wrapped_key: str | None = Field(default=None, max_length=200)
    algorithm: str = Field(default="AES-256-GCM", max_length=32)
    created_at: datetime = created_at_field()
    destroyed_at: datetime | None = utc_field()


class DeletionJob(SQLModel, table=True):
    """A request to erase assets: requested, approved by a second person, then executed once.

    ``claim_token`` and ``claimed_by`` (``host:pid``) identify the executor that won the
    conditional UPDATE into ``running``; a later ``execute`` may take the job over only when
    that process is gone (same host) or its lease expired.
    """

    __tablename__ = "deletion_jobs"
    __table_args__ = (
        tenant_unique("deletion_jobs"),
        Index("ix_deletion_jobs_status", "tenant_id", "status"),
    )

    id: uuid.UUID = Field(default_factory=uuid.uuid4, primary_key=True)
    tenant_id: uuid.UUID = Field(foreign_key="tenants.id", index=True)
    status: str = Field(default="pending_approval", max_length=24)
    method: str = Field(max_length=32)
    asset_ids: list[str] = Field(default_factory=list, sa_type=JSONType)
    reason: str = Field(sa_type=Text)
    subject: str | None = Field(default=None, max_length=200)
    source: str = Field(default="manual", max_length=16)
    requested_by: str = Field(max_length=128)
    approved_by: str | None = Field(default=None, max_length=128)
    approved_at: datetime | None = utc_field()
    auto_approved: bool = False
    claim_token: str | None = Field(default=None, max_length=64)
    claimed_by: str | None = Field(default=None, max_length=200)
    lease_expires_at: datetime | None = utc_field()
    attempts: int = 0
    certificate_id: uuid.UUID | None = None
    exceptions: list[dict[str, Any]] = Field(default_factory=list, sa_type=JSONType)
    error: str | None = Field(default=None, sa_type=Text)
    created_at: datetime = created_at_field()
    started_at: datetime | None = utc_field()
    completed_at: datetime | None = utc_field(index=True)

    def public(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "status": self.status,
            "method": self.method,
            "asset_ids": list(self.asset_ids or []),
            "reason": self.reason,
            "subject": self.subject,
            "source": self.source,
            "requested_by": self.requested_by,
            "approved_by": self.approved_by,
            "approved_at": self.approved_at,
            "auto_approved": self.auto_approved,
            "certificate_id": self.certificate_id,
            "exceptions": list(self.exceptions or []),
            "error": self.error,
            "attempts": self.attempts,
            "created_at": self.created_at,
            "started_at": self.started_at,
            "completed_at": self.completed_at,
        }


class DeletionItem(SQLModel, table=True):
    """Progress of one asset inside a job; what makes a killed ``execute`` resumable.

    ``renamed_to`` is committed before the rename to a random name, ``inode`` (``dev:ino``) when
    the file is first opened, so a resumed run finds the file it had started on and nothing else.
    """

    __tablename__ = "deletion_items"
    __table_args__ = (
        tenant_fk("job_id", "deletion_jobs", ondelete="CASCADE"),
        tenant_fk("asset_id", "data_assets"),
    )

    job_id: uuid.UUID = Field(primary_key=True)
    asset_id: uuid.UUID = Field(primary_key=True)
    tenant_id: uuid.UUID = Field(foreign_key="tenants.id", index=True)
    status: str = Field(default="pending", max_length=16)
    sha256_before: str | None = Field(default=None, max_length=64)
    size_before: int | None = Field(default=None, sa_column=Column(BigInteger, nullable=True))
    inode: str | None = Field(default=None, max_length=80)
    renamed_to: str | None = Field(default=None, sa_type=Text)
    passes_done: int = 0
    result: dict[str, Any] = Field(default_factory=dict, sa_type=JSONType)
    error: str | None = Field(default=None, sa_type=Text)
    started_at: datetime | None = utc_field()
    completed_at: datetime | None = utc_field()

    def public(self) -> dict[str, Any]:
        return {
            "job_id": self.job_id,
            "asset_id": self.asset_id,
            "status": self.status,
            "sha256_before": self.sha256_before,
            "size_before": self.size_before,
            "passes_done": self.passes_done,
            "result": self.result,
            "error": self.error,
            "started_at": self.started_at,
            "completed_at": self.completed_at,
        }


class DeletionCertificate(SQLModel, table=True):
    """The signed record of one completed job (NIST SP 800-88 Rev. 1 App. G fields)."""

    __tablename__ = "deletion_certificates"
    __table_args__ = (
        tenant_unique("deletion_certificates"),
        tenant_fk("job_id", "deletion_jobs"),
        UniqueConstraint("job_id", name="uq_deletion_certificates_job"),
    )

    id: uuid.UUID = Field(default_factory=uuid.uuid4, primary_key=True)
    tenant_id: uuid.UUID = Field(foreign_key="tenants.id", index=True)
    job_id: uuid.UUID
    document: dict[str, Any] = Field(default_factory=dict, sa_type=JSONType)
    signature: str = Field(max_length=200)
    key_fingerprint: str = Field(max_length=80)
    public_key: str = Field(max_length=128)
    document_sha256: str = Field(max_length=64)
    created_at: datetime = created_at_field()

    def public(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "job_id": self.job_id,
            "certificate": self.document,
            "signature": self.signature,
            "key_fingerprint": self.key_fingerprint,
            "public_key": self.public_key,
            "document_sha256": self.document_sha256,
            "created_at": self.created_at,
        }


class Notification(SQLModel, table=True):
    """A notice the sweep recorded (asset entering its notice window, asset erased)."""

    __tablename__ = "data_notifications"
    __table_args__ = (
        tenant_fk("asset_id", "data_assets"),
        UniqueConstraint("asset_id", "kind", name="uq_data_notifications_asset_kind"),
    )

    id: uuid.UUID = Field(default_factory=uuid.uuid4, primary_key=True)
    tenant_id: uuid.UUID = Field(foreign_key="tenants.id", index=True)
    asset_id: uuid.UUID
    kind: str = Field(max_length=32)
    payload: dict[str, Any] = Field(default_factory=dict, sa_type=JSONType)
    delivery: str = Field(default="recorded", max_length=16)
    attempts: int = 0
    last_error: str | None = Field(default=None, sa_type=Text)
    created_at: datetime = created_at_field()
    delivered_at: datetime | None = utc_field()

    def public(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "asset_id": self.asset_id,
            "kind": self.kind,
            "payload": self.payload,
            "delivery": self.delivery,
            "attempts": self.attempts,
            "last_error": self.last_error,
            "created_at": self.created_at,
            "delivered_at": self.delivered_at,
        }


class Workspace(SQLModel, table=True):
    """A disposable directory with an allocation and a TTL, backed by an asset for its erasure."""

    __tablename__ = "data_workspaces"
    __table_args__ = (
        tenant_unique("data_workspaces"),
        tenant_fk("asset_id", "data_assets"),
        Index("ix_data_workspaces_due", "tenant_id", "status", "expires_at"),
    )

    id: uuid.UUID = Field(default_factory=uuid.uuid4, primary_key=True)
    tenant_id: uuid.UUID = Field(foreign_key="tenants.id", index=True)
    name: str = Field(max_length=200)
    type: str = Field(max_length=16)
    path: str = Field(sa_type=Text)
    host_id: str | None = Field(default=None, max_length=64)
    asset_id: uuid.UUID
    size_allocated_bytes: int = Field(sa_column=Column(BigInteger, nullable=False))
    ttl_seconds: int
    method: str = Field(default="secure_overwrite", max_length=32)
    status: str = Field(default="active", max_length=16)
    usage_bytes: int | None = Field(default=None, sa_column=Column(BigInteger, nullable=True))
    usage_measured_at: datetime | None = utc_field()
    created_by: str = Field(max_length=128)
    created_at: datetime = created_at_field()
    expires_at: datetime = Field(sa_type=UTCDateTime, nullable=False)
    destroyed_at: datetime | None = utc_field()
    job_id: uuid.UUID | None = None

    def public(self) -> dict[str, Any]:
        over = self.usage_bytes is not None and self.usage_bytes > (self.size_allocated_bytes or 0)
        return {
            "id": self.id,
            "name": self.name,
            "type": self.type,
            "path": self.path,
            "host_id": self.host_id,
            "asset_id": self.asset_id,
            "size_allocated_bytes": self.size_allocated_bytes,
            "usage_bytes": self.usage_bytes,
            "over_allocation": over,
            "ttl_seconds": self.ttl_seconds,
            "method": self.method,
            "status": self.status,
            "created_by": self.created_by,
            "created_at": self.created_at,
            "expires_at": self.expires_at,
            "destroyed_at": self.destroyed_at,
            "job_id": self.job_id,
        }
