"""The gpu group's public API: the only module other groups and reports import from it.

Callers get frozen :class:`InstanceView` snapshots, never the ORM rows, so they cannot change an
instance behind the gpu services or lean on a column that may move. Reports that aggregate the
cost ledger in SQL use the functions and the table re-exported at the bottom (read-only).
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from decimal import Decimal
from pathlib import Path
from typing import Any

from shifty_ent.core.context import Context
from shifty_ent.core.views import view_of
from shifty_ent.gpu.budget import committed_per_hour, month_spend
from shifty_ent.gpu.ledger import cost_rows as ledger_cost_rows
from shifty_ent.gpu.ledger import q as round_micro
from shifty_ent.gpu.provision import ProvisionRequest
from shifty_ent.gpu.serving import LoraModule
from shifty_ent.gpu.ssh_access import SshEndpoint
from shifty_ent.gpu.tables import FINAL_STATES, TERMINATING, GpuInstance


@dataclass(frozen=True)
class InstanceView:
    """What other groups may know of a GPU instance."""

    id: uuid.UUID
    tenant_id: uuid.UUID
    label: str
    status: str
    gpu_type: str
    gpu_count: int
    model_checkpoint: str | None
    server_kind: str | None
    endpoint_url: str | None
    provider_instance_id: str | None
    price_per_hour: Decimal | None

    @property
    def gone(self) -> bool:
        """Terminated, failed, disappeared or being terminated: it serves nothing any more."""
        return self.status in FINAL_STATES or self.status == TERMINATING

    @classmethod
    def of(cls, inst: GpuInstance) -> InstanceView:
        return view_of(cls, inst)


def get_instance(ctx: Context, ref: str, *, refresh: bool = False) -> InstanceView:
    """An instance of the acting tenant by id, unique prefix, vast.ai id or label; with
    ``refresh``, as vast.ai reports it now (state, endpoint; role-checked, commits)."""
    from shifty_ent.gpu.instances import get_instance as _get
    from shifty_ent.gpu.instances import instance_status

    if refresh:
        return InstanceView.of(instance_status(ctx, ref, refresh=True))
    return InstanceView.of(_get(ctx, ref))


def provision(ctx: Context, request: ProvisionRequest) -> InstanceView:
    """Rent an instance under the tenant's budgets (role-checked by the gpu service). Commits."""
    from shifty_ent.gpu.provision import provision as _provision

    return InstanceView.of(_provision(ctx, request))


def check_health(ctx: Context, instance_id: uuid.UUID | str) -> dict[str, Any]:
    """Probe the instance's endpoint now and store the result (role-checked). Commits."""
    from shifty_ent.gpu.health import check_health as _check

    return dict(_check(ctx, str(instance_id)))


def check_served(ctx: Context, instance_id: uuid.UUID | str, name: str) -> dict[str, Any]:
    """Whether the instance's endpoint lists ``name`` now (role-checked). Commits."""
    from shifty_ent.gpu.health import check_served as _served

    return _served(ctx, str(instance_id), name)


def wait_running(
    ctx: Context, instance_id: uuid.UUID | str, *, timeout: float, poll_interval: float
) -> InstanceView:
    """Poll vast.ai until the instance runs (exit 6 when it will not). Commits."""
    from shifty_ent.core.authz import authorize
    from shifty_ent.gpu import permissions
    from shifty_ent.gpu.instances import client
    from shifty_ent.gpu.instances import get_instance as _get
    from shifty_ent.gpu.provision import wait_until_settled
    from shifty_ent.gpu.tables import RUNNING

    authorize(ctx, permissions.READ)
    inst = _get(ctx, str(instance_id))
    if inst.status != RUNNING:
        ctx.session.commit()
        with client(ctx) as api:
            wait_until_settled(ctx, inst, api, timeout, poll_interval, None)
    return InstanceView.of(inst)


def deliver_adapter(
    ctx: Context,
    instance_id: uuid.UUID | str,
    lora: LoraModule,
    adapter_dir: Path,
    base_dir: Path | None = None,
) -> dict[str, Any]:
    """Put an adapter on a running instance, served as ``lora.name`` (role-checked). Commits."""
    from shifty_ent.gpu.adapters import deliver

    return deliver(ctx, str(instance_id), lora, adapter_dir, base_dir)


def ssh_endpoint(
    ctx: Context, instance_id: uuid.UUID | str, *, timeout: float, poll_interval: float
) -> SshEndpoint:
    """Wait until the instance runs, then where its SSH server listens (role-checked). Commits."""
    from shifty_ent.gpu.ssh_access import ssh_endpoint as _endpoint

    return _endpoint(ctx, str(instance_id), timeout=timeout, poll_interval=poll_interval)


def terminate(ctx: Context, instance_id: uuid.UUID | str, *, reason: str) -> InstanceView:
    """Destroy the instance, verify it is gone, close its ledger (role-checked). Idempotent;
    commits. For work that rented an instance for itself (a remote fine-tune)."""
    from shifty_ent.core.authz import authorize
    from shifty_ent.gpu import permissions
    from shifty_ent.gpu.instances import get_instance as _get
    from shifty_ent.gpu.terminate import terminate_instance

    authorize(ctx, permissions.TERMINATE)
    return InstanceView.of(terminate_instance(ctx, _get(ctx, str(instance_id)), reason=reason))


__all__ = [
    "GpuInstance",
    "InstanceView",
    "LoraModule",
    "ProvisionRequest",
    "SshEndpoint",
    "check_health",
    "check_served",
    "committed_per_hour",
    "deliver_adapter",
    "get_instance",
    "ledger_cost_rows",
    "month_spend",
    "provision",
    "round_micro",
    "ssh_endpoint",
    "terminate",
    "wait_running",
]
