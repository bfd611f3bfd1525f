"""GPU tables: instances (a local cache of vast.ai's truth), the cost ledger, autoscale rules.

Money columns are :class:`~shifty_ent.core.types.Money` (integer micro-dollars), so ``SUM()`` in
SQL is exact on SQLite too. ``version`` on instances and rules is the optimistic claim every state
change goes through (``UPDATE ... WHERE id=:id AND version=:seen``), which keeps two reconcile
runs or two terminals from acting twice.
"""

from __future__ import annotations

import uuid
from datetime import date, datetime
from decimal import Decimal
from typing import Any

from sqlalchemy import Column, Date, Index, UniqueConstraint
from sqlmodel import Field, SQLModel

from shifty_ent.core.clock import now
from shifty_ent.core.tables import created_at_field, tenant_fk, tenant_unique, utc_field
from shifty_ent.core.types import JSONType, Money, UTCDateTime, money_str

PROVIDER = "vastai"

# lifecycle states; see docs/gpu.md for how vast.ai's states map onto them
REQUESTED = "requested"  # local row written, rent call not (yet) confirmed
LOADING = "loading"
RUNNING = "running"
STOPPED = "stopped"
FROZEN = "frozen"
EXITED = "exited"
OFFLINE = "offline"
UNKNOWN = "unknown"
TERMINATING = "terminating"
TERMINATED = "terminated"
DISAPPEARED = "disappeared"  # destroyed outside shifty-ent
FAILED = "failed"  # never rented (every offer taken, create refused)

STATES = (
    REQUESTED,
    LOADING,
    RUNNING,
    STOPPED,
    FROZEN,
    EXITED,
    OFFLINE,
    UNKNOWN,
    TERMINATING,
    TERMINATED,
    DISAPPEARED,
    FAILED,
)
FINAL_STATES = frozenset({TERMINATED, DISAPPEARED, FAILED})
# states in which the machine exists on vast.ai and bills storage
EXISTING_STATES = frozenset(
    {LOADING, RUNNING, STOPPED, FROZEN, EXITED, OFFLINE, UNKNOWN, TERMINATING}
)
# states in which the GPU is billed (vast.ai: "GPU charges apply" while running; frozen keeps it)
GPU_BILLED_STATES = frozenset({RUNNING, FROZEN})
# states that count against the hourly budget (committed spend); a terminating machine is going
COMMITTED_STATES = (EXISTING_STATES - {TERMINATING}) | {REQUESTED}

SECONDS_PER_HOUR = Decimal(3600)


def interval_cost(
    inst: GpuInstance, start: datetime, end: datetime, status: str
) -> tuple[Decimal, Decimal]:
    """(gpu, storage) cost of ``inst`` in ``status`` from ``start`` to ``end``, unrounded.

    The pricing rule belongs to the table (``pending_cost`` needs it); the ledger, which writes
    the cost rows, imports it from here."""
    seconds = Decimal(max(0, int((end - start).total_seconds())))
    if status not in EXISTING_STATES or seconds == 0:
        return Decimal(0), Decimal(0)
    storage = (inst.storage_price_per_hour or Decimal(0)) * seconds / SECONDS_PER_HOUR
    gpu = Decimal(0)
    if status in GPU_BILLED_STATES:
        gpu = (inst.gpu_price_per_hour or Decimal(0)) * seconds / SECONDS_PER_HOUR
    return gpu, storage


class GpuInstance(SQLModel, table=True):
    __tablename__ = "gpu_instances"
    __table_args__ = (
        tenant_unique("gpu_instances"),
        UniqueConstraint("provider", "provider_instance_id", name="uq_gpu_instances_provider_id"),
        UniqueConstraint("label", name="uq_gpu_instances_label"),
        Index("ix_gpu_instances_tenant_status", "tenant_id", "status"),
    )

    id: uuid.UUID = Field(default_factory=uuid.uuid4, primary_key=True)
    tenant_id: uuid.UUID = Field(foreign_key="tenants.id", index=True)
    provider: str = Field(default=PROVIDER, max_length=16)
    provider_instance_id: str | None = Field(default=None, max_length=32)
    offer_id: str | None = Field(default=None, max_length=32)
    label: str = Field(max_length=200)
    gpu_type: str = Field(max_length=32)
    gpu_name: str | None = Field(default=None, max_length=64)
    gpu_count: int = 1
    disk_gb: int = 10
    region: str | None = Field(default=None, max_length=32)
    geolocation: str | None = Field(default=None, max_length=128)
    status: str = Field(default=REQUESTED, max_length=16)
    provider_status: str | None = Field(default=None, max_length=64)
    status_msg: str | None = Field(default=None, max_length=500)
    max_price_per_hour: Decimal = Field(sa_type=Money)
    price_per_hour: Decimal | None = Field(default=None, sa_type=Money)  # dph_total
    gpu_price_per_hour: Decimal | None = Field(default=None, sa_type=Money)  # dph_base
    storage_price_per_hour: Decimal | None = Field(default=None, sa_type=Money)
    model_checkpoint: str | None = Field(default=None, max_length=300)
    image: str | None = Field(default=None, max_length=300)
    server_kind: str | None = Field(default=None, max_length=16)  # openai | ollama | None
    service_port: int | None = None
    endpoint_url: str | None = Field(default=None, max_length=300)
    health: dict[str, Any] | None = Field(default=None, sa_type=JSONType)
    gpu_util: float | None = None
    autoscale_model: str | None = Field(default=None, max_length=128, index=True)
    created_at: datetime = created_at_field()
    created_by: str = Field(max_length=128)
    rented_at: datetime | None = utc_field()
    last_seen_at: datetime | None = utc_field()
    accrued_until: datetime | None = utc_field()
    cost_to_date: Decimal = Field(default=Decimal(0), sa_type=Money)
    terminated_at: datetime | None = utc_field()
    claimed_at: datetime | None = utc_field()  # when the current terminate claim was taken
    version: int = 0

    def pending_cost(self, at: datetime | None = None) -> Decimal:
        """Cost since the last accrual at the current state's rates (not in the ledger yet)."""
        if self.accrued_until is None or self.status not in EXISTING_STATES:
            return Decimal(0)
        at = at or now()
        if at <= self.accrued_until:
            return Decimal(0)
        gpu, storage = interval_cost(self, self.accrued_until, at, self.status)
        return gpu + storage

    def public(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "tenant_id": self.tenant_id,
            "provider": self.provider,
            "provider_instance_id": self.provider_instance_id,
            "gpu_type": self.gpu_type,
            "gpu_count": self.gpu_count,
            "disk_gb": self.disk_gb,
            "region": self.region,
            "status": self.status,
            "max_price_per_hour": money_str(self.max_price_per_hour),
            "price_per_hour": money_str(self.price_per_hour),
            "model_checkpoint": self.model_checkpoint,
            "endpoint_url": self.endpoint_url,
            "health": self.health,
            "created_at": self.created_at,
            "terminated_at": self.terminated_at,
            "cost_to_date": money_str((self.cost_to_date or Decimal(0)) + self.pending_cost()),
            "label": self.label,
            "gpu_name": self.gpu_name,
            "geolocation": self.geolocation,
            "provider_status": self.provider_status,
            "gpu_util": self.gpu_util,
            "autoscale_model": self.autoscale_model,
            "accrued_until": self.accrued_until,
        }


class GpuCostEntry(SQLModel, table=True):
    """One accrued interval of one instance (never crosses a UTC midnight).

    ``gpu_amount`` is the GPU price for the seconds the instance was running, ``storage_amount``
    the storage price for the seconds it existed; ``amount`` is their sum. ``gpu_type`` and ``day``
    are copied in so ``gpu costs`` groups without a join.
    """

    __tablename__ = "gpu_cost_entries"
    __table_args__ = (
        tenant_unique("gpu_cost_entries"),
        tenant_fk("instance_id", "gpu_instances"),
        Index("ix_gpu_cost_entries_tenant_start", "tenant_id", "period_start"),
    )

    id: uuid.UUID = Field(default_factory=uuid.uuid4, primary_key=True)
    tenant_id: uuid.UUID = Field(foreign_key="tenants.id")
    # no single-column index: SQLite would walk it for GROUP BY instance_id (random row access,
    # ~2x slower than a scan with a temporary B-tree on 1M rows; see bench/costs.py)
    instance_id: uuid.UUID
    gpu_type: str = Field(max_length=32)
    day: date = Field(sa_column=Column(Date, nullable=False))
    period_start: datetime = Field(sa_type=UTCDateTime, nullable=False)
    period_end: datetime = Field(sa_type=UTCDateTime, nullable=False)
    status: str = Field(max_length=16)
    seconds: int
    gpu_seconds: int
    gpu_rate: Decimal = Field(sa_type=Money)
    storage_rate: Decimal = Field(sa_type=Money)
    gpu_amount: Decimal = Field(sa_type=Money)
    storage_amount: Decimal = Field(sa_type=Money)
    amount: Decimal = Field(sa_type=Money)

    def public(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "tenant_id": self.tenant_id,
            "instance_id": self.instance_id,
            "gpu_type": self.gpu_type,
            "day": self.day,
            "period_start": self.period_start,
            "period_end": self.period_end,
            "status": self.status,
            "seconds": self.seconds,
            "gpu_seconds": self.gpu_seconds,
            "gpu_rate": money_str(self.gpu_rate),
            "storage_rate": money_str(self.storage_rate),
            "gpu_amount": money_str(self.gpu_amount),
            "storage_amount": money_str(self.storage_amount),
            "amount": money_str(self.amount),
        }


class GpuAutoscaleRule(SQLModel, table=True):
    """Replica bounds for one model deployment (by model name) of one tenant."""

    __tablename__ = "gpu_autoscale_rules"
    __table_args__ = (
        tenant_unique("gpu_autoscale_rules"),
        UniqueConstraint("tenant_id", "model", name="uq_gpu_autoscale_rules_model"),
    )

    id: uuid.UUID = Field(default_factory=uuid.uuid4, primary_key=True)
    tenant_id: uuid.UUID = Field(foreign_key="tenants.id", index=True)
    model: str = Field(max_length=128)
    checkpoint: str = Field(max_length=300)
    min_replicas: int
    max_replicas: int
    target_util: float
    gpu_type: str = Field(max_length=32)
    max_price_per_hour: Decimal = Field(sa_type=Money)
    disk_gb: int = 50
    region: str | None = Field(default=None, max_length=32)
    cooldown_seconds: int = 300
    last_scaled_at: datetime | None = utc_field()
    created_at: datetime = created_at_field()
    created_by: str = Field(max_length=128)
    updated_at: datetime | None = utc_field()
    version: int = 0

    def public(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "tenant_id": self.tenant_id,
            "model": self.model,
            "checkpoint": self.checkpoint,
            "min_replicas": self.min_replicas,
            "max_replicas": self.max_replicas,
            "target_util": self.target_util,
            "gpu_type": self.gpu_type,
            "max_price_per_hour": money_str(self.max_price_per_hour),
            "disk_gb": self.disk_gb,
            "region": self.region,
            "cooldown_seconds": self.cooldown_seconds,
            "last_scaled_at": self.last_scaled_at,
            "created_at": self.created_at,
            "created_by": self.created_by,
            "updated_at": self.updated_at,
        }
