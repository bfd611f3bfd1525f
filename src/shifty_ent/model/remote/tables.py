"""The remote side of a training job: which instance runs it, how to reach it, how far it got.

One row per job that runs on a GPU instance (``model train start --on-gpu``). It outlives the
local process that follows the run, so ``model train attach`` can pick the run up again and
``model train cancel`` can reach the remote process from any host:

- ``host_key`` pins the instance's SSH host key seen at the first connection (host keys differ
  per instance; checking is never switched off);
- ``follower`` and ``heartbeat_at`` say which local process follows the run and when it last
  polled; a second follower is refused while the heartbeat is fresh;
- ``rented`` is true when the job rented the instance itself: the job terminates it when it ends.

The GPU instance is referenced by UUID only (the gpu group validates it through its API).
"""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any

from sqlalchemy import Text
from sqlmodel import Field, SQLModel

from shifty_ent.core.tables import created_at_field, tenant_fk, utc_field
from shifty_ent.core.types import JSONType

# renting -> connecting -> shipping -> running -> fetching -> done
PHASES = ("renting", "connecting", "shipping", "running", "fetching", "done")


class RemoteRun(SQLModel, table=True):
    """Where and how a training job runs on a GPU instance."""

    __tablename__ = "remote_training_runs"
    __table_args__ = (tenant_fk("job_id", "training_jobs", ondelete="CASCADE"),)

    tenant_id: uuid.UUID = Field(foreign_key="tenants.id", primary_key=True)
    job_id: uuid.UUID = Field(primary_key=True)
    instance_id: uuid.UUID | None = None
    rented: bool = False
    phase: str = Field(default="renting", max_length=16)
    ssh_user: str | None = Field(default=None, max_length=64)
    ssh_host: str | None = Field(default=None, max_length=255)
    ssh_port: int | None = None
    host_key: str | None = Field(default=None, sa_type=Text)
    workdir: str | None = Field(default=None, sa_type=Text)
    remote_pid: int | None = None
    follower: str | None = Field(default=None, max_length=200)
    heartbeat_at: datetime | None = utc_field()
    poll_seconds: float = 5.0
    timings: dict[str, Any] = Field(default_factory=dict, sa_type=JSONType)
    created_at: datetime = created_at_field()
    updated_at: datetime | None = utc_field()

    def public(self) -> dict[str, Any]:
        return {
            "instance_id": self.instance_id,
            "rented": self.rented,
            "phase": self.phase,
            "ssh": f"{self.ssh_user}@{self.ssh_host}:{self.ssh_port}" if self.ssh_host else None,
            "workdir": self.workdir,
            "remote_pid": self.remote_pid,
            "follower": self.follower,
            "heartbeat_at": self.heartbeat_at,
            "timings": dict(self.timings or {}),
        }
