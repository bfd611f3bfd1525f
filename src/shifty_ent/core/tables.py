"""Kernel tables: tenants, their users and roles, the audit chain, and signing keys.

Every tenant-owned table in any group carries ``tenant_id`` and a ``UNIQUE (tenant_id, id)`` so
that other tenant-owned rows can reference it with a composite foreign key
``(tenant_id, x_id) -> x (tenant_id, id)``: the database itself then refuses a reference that
crosses tenants. :func:`tenant_fk` builds that constraint.
"""

from __future__ import annotations

import uuid
from datetime import datetime
from decimal import Decimal
from typing import Any

from sqlalchemy import CheckConstraint, ForeignKeyConstraint, Index, Text, UniqueConstraint, text
from sqlmodel import Field, SQLModel

from shifty_ent.core.clock import now
from shifty_ent.core.types import JSONType, Money, UTCDateTime, money_str

ROLES = ("admin", "operator", "labeler", "auditor")


def tenant_fk(column: str, table: str, *, ondelete: str | None = None) -> ForeignKeyConstraint:
    """Composite FK ``(tenant_id, column) -> table (tenant_id, id)``."""
    return ForeignKeyConstraint(
        ["tenant_id", column],
        [f"{table}.tenant_id", f"{table}.id"],
        ondelete=ondelete,
    )


def tenant_unique(table: str) -> UniqueConstraint:
    """The ``UNIQUE (tenant_id, id)`` a composite FK needs to point at ``table``."""
    return UniqueConstraint("tenant_id", "id", name=f"uq_{table}_tenant_id")


def created_at_field() -> Any:
    return Field(default_factory=now, sa_type=UTCDateTime, nullable=False)


def utc_field(*, index: bool = False) -> Any:
    return Field(default=None, sa_type=UTCDateTime, nullable=True, index=index)


class Tenant(SQLModel, table=True):
    __tablename__ = "tenants"

    id: uuid.UUID = Field(default_factory=uuid.uuid4, primary_key=True)
    name: str = Field(index=True, unique=True, max_length=64)
    created_at: datetime = created_at_field()
    created_by: str
    gpu_monthly_budget: Decimal | None = Field(default=None, sa_type=Money)
    gpu_hourly_budget: Decimal | None = Field(default=None, sa_type=Money)

    def public(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "name": self.name,
            "created_at": self.created_at,
            "created_by": self.created_by,
            "gpu_monthly_budget": money_str(self.gpu_monthly_budget),
            "gpu_hourly_budget": money_str(self.gpu_hourly_budget),
        }


class TenantUser(SQLModel, table=True):
    """A person known to a tenant. Removing a user keeps the row (history refers to it)."""

    __tablename__ = "tenant_users"
    __table_args__ = (
        UniqueConstraint("tenant_id", "username", name="uq_tenant_users_name"),
        UniqueConstraint("tenant_id", "username_key", name="uq_tenant_users_key"),
        tenant_unique("tenant_users"),
    )

    id: uuid.UUID = Field(default_factory=uuid.uuid4, primary_key=True)
    tenant_id: uuid.UUID = Field(foreign_key="tenants.id", index=True)
    username: str = Field(max_length=128)
    # NFKC case-folded name: one person whatever the case or Unicode form they are typed in
    username_key: str = Field(max_length=128)
    timezone: str = Field(default="UTC", max_length=64)
    created_at: datetime = created_at_field()
    removed_at: datetime | None = utc_field()


class UserRole(SQLModel, table=True):
    __tablename__ = "user_roles"
    __table_args__ = (tenant_fk("user_id", "tenant_users", ondelete="CASCADE"),)

    tenant_id: uuid.UUID = Field(primary_key=True)
    user_id: uuid.UUID = Field(primary_key=True)
    role: str = Field(primary_key=True, max_length=16)
    granted_at: datetime = created_at_field()
    granted_by: str


class AuditEvent(SQLModel, table=True):
    """One link of a hash chain. ``chain`` is the tenant id, or ``_system`` for global events."""

    __tablename__ = "audit_events"
    __table_args__ = (UniqueConstraint("chain", "seq", name="uq_audit_chain_seq"),)

    id: uuid.UUID = Field(default_factory=uuid.uuid4, primary_key=True)
    chain: str = Field(max_length=40)
    seq: int
    tenant_id: uuid.UUID | None = Field(default=None, foreign_key="tenants.id", index=True)
    at: datetime = Field(sa_type=UTCDateTime, nullable=False, index=True)
    actor: str = Field(max_length=128)
    action: str = Field(max_length=64, index=True)
    target_type: str | None = Field(default=None, max_length=64)
    target_id: str | None = Field(default=None, max_length=64, index=True)
    details: dict[str, Any] = Field(default_factory=dict, sa_type=JSONType)
    prev_hash: str = Field(max_length=64)
    hash: str = Field(max_length=64)
    # the hash input's format (core.audit_walk): 1 before 0011_audit_v2, 2 hashes tenant_id too
    v: int = Field(default=2, sa_column_kwargs={"server_default": "1"})

    def public(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "tenant_id": self.tenant_id,
            "seq": self.seq,
            "v": self.v,
            "at": self.at,
            "actor": self.actor,
            "action": self.action,
            "target_type": self.target_type,
            "target_id": self.target_id,
            "details": self.details,
            "prev_hash": self.prev_hash,
            "hash": self.hash,
        }


class AuditHead(SQLModel, table=True):
    """Latest (seq, hash) of each chain: the row appenders lock, and what detects a removed tail."""

    __tablename__ = "audit_heads"

    chain: str = Field(primary_key=True, max_length=40)
    seq: int = 0
    hash: str = Field(max_length=64)
    at: datetime | None = utc_field()


class Installation(SQLModel, table=True):
    """The store's one row of identity facts, fixed when the store is created."""

    __tablename__ = "installation"
    __table_args__ = (
        CheckConstraint("id = 1", name="ck_installation_single_row"),
        CheckConstraint(
            "identity_mode IN ('os', 'postgres', 'declared')", name="ck_installation_mode"
        ),
    )

    id: int = Field(default=1, primary_key=True)
    identity_mode: str = Field(max_length=16)
    created_at: datetime = created_at_field()
    created_by: str = Field(max_length=128)


class InstallationAdmin(SQLModel, table=True):
    """Who may act across tenants: assign data roots, list every tenant, verify every chain."""

    __tablename__ = "installation_admins"

    name_key: str = Field(primary_key=True, max_length=128)
    name: str = Field(max_length=128)
    added_by: str = Field(max_length=128)
    added_at: datetime = created_at_field()


class SigningKey(SQLModel, table=True):
    """Public half of an installation key, so anyone with the database can verify signatures."""

    __tablename__ = "signing_keys"

    fingerprint: str = Field(primary_key=True, max_length=80)
    algorithm: str = Field(default="Ed25519", max_length=16)
    public_key: str = Field(max_length=128)
    created_at: datetime = created_at_field()
    created_by: str
    retired_at: datetime | None = utc_field()


class Host(SQLModel, table=True):
    """A machine that holds local data: its stable id (``core.hosts``) and the name it last had."""

    __tablename__ = "hosts"

    id: str = Field(primary_key=True, max_length=64)
    name: str = Field(max_length=255)
    first_seen_at: datetime = created_at_field()
    last_seen_at: datetime = created_at_field()


LIVE_ROOT = text("removed_at IS NULL")


class DataRoot(SQLModel, table=True):
    """A directory on one host below which one tenant's local files may be erased or restored.

    Only an installation administrator assigns roots (``tenant root add``); roots of different
    tenants on one host never nest (checked under a lock), and one live row per (host, path) is
    the database's own rule. A removed root keeps its row (``removed_at``) for history.
    """

    __tablename__ = "data_roots"
    __table_args__ = (
        Index(
            "uq_data_roots_live",
            "host_id",
            "path",
            unique=True,
            sqlite_where=LIVE_ROOT,
            postgresql_where=LIVE_ROOT,
        ),
    )

    id: uuid.UUID = Field(default_factory=uuid.uuid4, primary_key=True)
    tenant_id: uuid.UUID = Field(foreign_key="tenants.id", index=True)
    path: str = Field(sa_type=Text)
    host_id: str = Field(foreign_key="hosts.id", max_length=64)
    host_name: str = Field(max_length=255)
    added_by: str = Field(max_length=128)
    added_at: datetime = created_at_field()
    removed_at: datetime | None = utc_field()
    removed_by: str | None = Field(default=None, max_length=128)

    def public(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "tenant_id": self.tenant_id,
            "path": self.path,
            "host_id": self.host_id,
            "host_name": self.host_name,
            "added_by": self.added_by,
            "added_at": self.added_at,
            "removed_at": self.removed_at,
            "removed_by": self.removed_by,
        }
