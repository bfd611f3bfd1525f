"""Model-registry tables: registered models, their versions, aliases and alias history,
deployments, training jobs with their progress points, and evaluations.

Rules the schema itself enforces:
- ``(tenant_id, x_id)`` composite foreign keys keep every reference inside one tenant (datasets
  and checkpoint assets point into the data group's ``data_assets`` the same way);
- ``model_versions (model_id, version)`` is UNIQUE: two terminals registering the same NAME at
  once cannot both create version n+1 (the loser retries with n+2);
- ``model_aliases (model_id, alias)`` is UNIQUE: an alias points at one version;
- a training job leaves ``queued`` by a conditional UPDATE (``... WHERE status='queued'``), so
  exactly one ``train run`` executes it.

GPU instances and arcade missions are referenced by UUID only (their groups' tables are validated
through their service functions).
"""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any

from sqlalchemy import Index, Text, UniqueConstraint
from sqlmodel import Field, SQLModel

from shifty_ent.core.tables import created_at_field, tenant_fk, tenant_unique, utc_field
from shifty_ent.core.types import JSONType
from shifty_ent.data import api as data_api  # noqa: F401  (loads data_assets, our FK target)

SOURCES = ("huggingface", "ollama", "custom", "s3")
JOB_STATES = ("queued", "running", "succeeded", "failed", "cancelled")
FINISHED_JOB_STATES = ("succeeded", "failed", "cancelled")
DEPLOYMENT_STATES = ("starting", "running", "unhealthy", "stopped")
EVAL_TYPES = ("automated", "human")
# evaluations stored as somebody reported them (``eval record``): shown as ``claimed``, never
# counted by a promotion gate; every other method measured the version here
CLAIMED_METHODS = ("recorded",)


class RegisteredModel(SQLModel, table=True):
    """A NAME in the tenant's registry; its versions hold the pinned sources."""

    __tablename__ = "registered_models"
    __table_args__ = (
        tenant_unique("registered_models"),
        UniqueConstraint("tenant_id", "name", name="uq_registered_models_name"),
    )

    id: uuid.UUID = Field(default_factory=uuid.uuid4, primary_key=True)
    tenant_id: uuid.UUID = Field(foreign_key="tenants.id", index=True)
    name: str = Field(max_length=128)
    description: str | None = Field(default=None, sa_type=Text)
    latest_version: int = 0
    created_at: datetime = created_at_field()
    created_by: str = Field(max_length=128)

    def public(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "name": self.name,
            "description": self.description,
            "latest_version": self.latest_version,
            "created_at": self.created_at,
            "created_by": self.created_by,
        }


class ModelVersion(SQLModel, table=True):
    """One immutable registration: the source, its pin, metadata, generation config, lineage."""

    __tablename__ = "model_versions"
    __table_args__ = (
        tenant_unique("model_versions"),
        tenant_fk("model_id", "registered_models", ondelete="CASCADE"),
        tenant_fk("asset_id", "data_assets"),
        UniqueConstraint("model_id", "version", name="uq_model_versions_version"),
        Index("ix_model_versions_list", "tenant_id", "name", "version"),
    )

    id: uuid.UUID = Field(default_factory=uuid.uuid4, primary_key=True)
    tenant_id: uuid.UUID = Field(foreign_key="tenants.id", index=True)
    model_id: uuid.UUID
    name: str = Field(max_length=128)
    version: int
    source: str = Field(max_length=16)
    source_id: str = Field(sa_type=Text)
    pinned_revision: str | None = Field(default=None, max_length=128)
    requested_revision: str | None = Field(default=None, max_length=256)
    source_meta: dict[str, Any] = Field(default_factory=dict, sa_type=JSONType)
    generation_config: dict[str, Any] = Field(default_factory=dict, sa_type=JSONType)
    lineage: dict[str, Any] = Field(default_factory=dict, sa_type=JSONType)
    metrics: dict[str, Any] = Field(default_factory=dict, sa_type=JSONType)
    # the prompt template it was trained with (docs/datasets.md); None: the default template
    prompt_template: str | None = Field(default=None, sa_type=Text)
    asset_id: uuid.UUID | None = None
    status: str = Field(default="ready", max_length=16)
    created_at: datetime = created_at_field()
    created_by: str = Field(max_length=128)

    @property
    def ref(self) -> str:
        return f"{self.name}:{self.version}"

    def public(self, aliases: list[str] | None = None) -> dict[str, Any]:
        return {
            "id": self.id,
            "model_id": self.model_id,
            "name": self.name,
            "version": self.version,
            "source": self.source,
            "source_id": self.source_id,
            "pinned_revision": self.pinned_revision,
            "requested_revision": self.requested_revision,
            "aliases": sorted(aliases or []),
            "lineage": dict(self.lineage or {}),
            "generation_config": dict(self.generation_config or {}),
            "source_meta": dict(self.source_meta or {}),
            "metrics": dict(self.metrics or {}),
            "prompt_template": self.prompt_template,
            "asset_id": self.asset_id,
            "status": self.status,
            "created_at": self.created_at,
            "created_by": self.created_by,
        }


class ModelAlias(SQLModel, table=True):
    """A mutable named pointer (champion, production, ...) at one version of a model."""

    __tablename__ = "model_aliases"
    __table_args__ = (
        tenant_fk("model_id", "registered_models", ondelete="CASCADE"),
        tenant_fk("version_id", "model_versions"),
    )

    tenant_id: uuid.UUID = Field(foreign_key="tenants.id", primary_key=True)
    model_id: uuid.UUID = Field(primary_key=True)
    alias: str = Field(primary_key=True, max_length=64)
    version_id: uuid.UUID
    updated_at: datetime = created_at_field()
    updated_by: str = Field(max_length=128)


class AliasPolicy(SQLModel, table=True):
    """How an alias may move: protected (only ``promote`` or ``rollback``) and its metric gates.

    No row: the default (``production`` protected, every other alias free, no gates). ``gates``
    is a list of ``{"metric", "op", "threshold", "dataset_id"}`` that ``promote`` checks against
    measured evaluations on that dataset.
    """

    __tablename__ = "model_alias_policies"
    __table_args__ = (tenant_fk("model_id", "registered_models", ondelete="CASCADE"),)

    tenant_id: uuid.UUID = Field(foreign_key="tenants.id", primary_key=True)
    model_id: uuid.UUID = Field(primary_key=True)
    alias: str = Field(primary_key=True, max_length=64)
    protected: bool
    gates: list[dict[str, Any]] = Field(default_factory=list, sa_type=JSONType)
    updated_at: datetime = created_at_field()
    updated_by: str = Field(max_length=128)


class AliasEvent(SQLModel, table=True):
    """History of alias moves (set, promote, rollback): who, when, why, from which version."""

    __tablename__ = "model_alias_events"
    __table_args__ = (
        tenant_fk("model_id", "registered_models", ondelete="CASCADE"),
        UniqueConstraint("model_id", "seq", name="uq_model_alias_events_seq"),
    )

    id: uuid.UUID = Field(default_factory=uuid.uuid4, primary_key=True)
    tenant_id: uuid.UUID = Field(foreign_key="tenants.id", index=True)
    model_id: uuid.UUID
    seq: int
    alias: str = Field(max_length=64)
    action: str = Field(max_length=16)
    from_version: int | None = None
    to_version: int
    to_version_id: uuid.UUID
    actor: str = Field(max_length=128)
    reason: str | None = Field(default=None, sa_type=Text)
    mission_id: uuid.UUID | None = None
    override: bool = False
    at: datetime = created_at_field()

    def public(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "model_id": self.model_id,
            "seq": self.seq,
            "alias": self.alias,
            "action": self.action,
            "from_version": self.from_version,
            "to_version": self.to_version,
            "to_version_id": self.to_version_id,
            "actor": self.actor,
            "reason": self.reason,
            "mission_id": self.mission_id,
            "override": self.override,
            "at": self.at,
        }


class Deployment(SQLModel, table=True):
    """A version served on a GPU instance of the same tenant."""

    __tablename__ = "model_deployments"
    __table_args__ = (
        tenant_unique("model_deployments"),
        tenant_fk("version_id", "model_versions"),
    )

    id: uuid.UUID = Field(default_factory=uuid.uuid4, primary_key=True)
    tenant_id: uuid.UUID = Field(foreign_key="tenants.id", index=True)
    version_id: uuid.UUID = Field(index=True)
    instance_id: uuid.UUID
    replicas: int = 1
    endpoint_url: str | None = Field(default=None, sa_type=Text)
    status: str = Field(default="starting", max_length=16)
    health: dict[str, Any] = Field(default_factory=dict, sa_type=JSONType)
    checked_at: datetime | None = utc_field()
    created_at: datetime = created_at_field()
    created_by: str = Field(max_length=128)
    stopped_at: datetime | None = utc_field()
    stopped_by: str | None = Field(default=None, max_length=128)

    def public(self, version: ModelVersion | None = None) -> dict[str, Any]:
        return {
            "id": self.id,
            "version_id": self.version_id,
            "model": version.ref if version else None,
            "instance_id": self.instance_id,
            "replicas": self.replicas,
            "endpoint_url": self.endpoint_url,
            "status": self.status,
            "health": dict(self.health or {}),
            "checked_at": self.checked_at,
            "created_at": self.created_at,
            "created_by": self.created_by,
            "stopped_at": self.stopped_at,
            "stopped_by": self.stopped_by,
        }


class DeploymentReplica(SQLModel, table=True):
    """One instance of a deployment (``--replicas N`` rents or uses N), with its own health."""

    __tablename__ = "model_deployment_replicas"
    __table_args__ = (tenant_fk("deployment_id", "model_deployments", ondelete="CASCADE"),)

    tenant_id: uuid.UUID = Field(foreign_key="tenants.id", primary_key=True)
    deployment_id: uuid.UUID = Field(primary_key=True)
    instance_id: uuid.UUID = Field(primary_key=True)
    endpoint_url: str | None = Field(default=None, sa_type=Text)
    status: str = Field(default="starting", max_length=16)
    health: dict[str, Any] = Field(default_factory=dict, sa_type=JSONType)
    checked_at: datetime | None = utc_field()

    def public(self) -> dict[str, Any]:
        return {
            "instance_id": self.instance_id,
            "endpoint_url": self.endpoint_url,
            "status": self.status,
            "health": dict(self.health or {}),
            "checked_at": self.checked_at,
        }


class TrainingJob(SQLModel, table=True):
    """A fine-tune of a base version on a dataset asset; a row in a shared work queue."""

    __tablename__ = "training_jobs"
    __table_args__ = (
        tenant_unique("training_jobs"),
        tenant_fk("base_model_id", "model_versions"),
        tenant_fk("dataset_id", "data_assets"),
        tenant_fk("output_version_id", "model_versions"),
        Index("ix_training_jobs_queue", "status", "created_at"),
    )

    id: uuid.UUID = Field(default_factory=uuid.uuid4, primary_key=True)
    tenant_id: uuid.UUID = Field(foreign_key="tenants.id", index=True)
    base_model_id: uuid.UUID
    dataset_id: uuid.UUID
    method: str = Field(default="lora", max_length=16)
    hyperparameters: dict[str, Any] = Field(default_factory=dict, sa_type=JSONType)
    status: str = Field(default="queued", max_length=16)
    cancel_requested: bool = False
    cancel_requested_by: str | None = Field(default=None, max_length=128)
    claimed_by: str | None = Field(default=None, max_length=200)
    progress: dict[str, Any] = Field(default_factory=dict, sa_type=JSONType)
    metrics: dict[str, Any] = Field(default_factory=dict, sa_type=JSONType)
    error: str | None = Field(default=None, sa_type=Text)
    output_version_id: uuid.UUID | None = None
    output_dir: str | None = Field(default=None, sa_type=Text)
    created_at: datetime = created_at_field()
    created_by: str = Field(max_length=128)
    started_at: datetime | None = utc_field()
    finished_at: datetime | None = utc_field()

    def public(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "status": self.status,
            "base_model_id": self.base_model_id,
            "dataset_id": self.dataset_id,
            "method": self.method,
            "hyperparameters": dict(self.hyperparameters or {}),
            "progress": dict(self.progress or {}),
            "metrics": dict(self.metrics or {}),
            "error": self.error,
            "cancel_requested": self.cancel_requested,
            "claimed_by": self.claimed_by,
            "output_version_id": self.output_version_id,
            "created_at": self.created_at,
            "created_by": self.created_by,
            "started_at": self.started_at,
            "finished_at": self.finished_at,
        }


class TrainingPoint(SQLModel, table=True):
    """One logged optimisation step: what ``train show`` draws its loss curve from."""

    __tablename__ = "training_points"
    __table_args__ = (tenant_fk("job_id", "training_jobs", ondelete="CASCADE"),)

    tenant_id: uuid.UUID = Field(foreign_key="tenants.id", primary_key=True)
    job_id: uuid.UUID = Field(primary_key=True)
    step: int = Field(primary_key=True)
    epoch: float
    loss: float
    learning_rate: float
    at: datetime = created_at_field()

    def public(self) -> dict[str, Any]:
        return {
            "step": self.step,
            "epoch": self.epoch,
            "loss": self.loss,
            "learning_rate": self.learning_rate,
            "at": self.at,
        }


class Evaluation(SQLModel, table=True):
    """Metrics of a version: recorded, computed on a labelled dataset, or from human review."""

    __tablename__ = "model_evaluations"
    __table_args__ = (
        tenant_unique("model_evaluations"),
        tenant_fk("version_id", "model_versions"),
        tenant_fk("dataset_id", "data_assets"),
    )

    id: uuid.UUID = Field(default_factory=uuid.uuid4, primary_key=True)
    tenant_id: uuid.UUID = Field(foreign_key="tenants.id", index=True)
    version_id: uuid.UUID = Field(index=True)
    type: str = Field(max_length=16)
    method: str = Field(max_length=32)
    status: str = Field(default="completed", max_length=16)
    dataset_id: uuid.UUID | None = None
    metrics: dict[str, Any] = Field(default_factory=dict, sa_type=JSONType)
    details: dict[str, Any] = Field(default_factory=dict, sa_type=JSONType)
    mission_ids: list[str] = Field(default_factory=list, sa_type=JSONType)
    created_at: datetime = created_at_field()
    created_by: str = Field(max_length=128)
    completed_at: datetime | None = utc_field()

    @property
    def evidence(self) -> str:
        """``claimed`` (reported by a person, unchecked) or ``measured`` (computed here)."""
        return "claimed" if self.method in CLAIMED_METHODS else "measured"

    def public(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "version_id": self.version_id,
            "type": self.type,
            "method": self.method,
            "evidence": self.evidence,
            "status": self.status,
            "dataset_id": self.dataset_id,
            "metrics": dict(self.metrics or {}),
            "details": dict(self.details or {}),
            "mission_ids": list(self.mission_ids or []),
            "created_at": self.created_at,
            "created_by": self.created_by,
            "completed_at": self.completed_at,
        }


# the remote side of a job lives in its own module; imported here so the store sees the table
from shifty_ent.model.remote.tables import RemoteRun  # noqa: E402, F401
