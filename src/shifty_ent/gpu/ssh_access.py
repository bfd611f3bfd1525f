"""Where to reach an instance over SSH, once it runs: what remote work (a fine-tune) connects to.

vast.ai reports a proxy ``ssh_host``/``ssh_port`` for every instance and, for direct runtypes,
the public address with the host port mapped to 22/tcp. The proxy pair is preferred; the direct
pair is the fallback. Neither is stored: each caller asks when it connects (ports change when a
host restarts a container).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from shifty_ent.core.authz import authorize
from shifty_ent.core.context import Context
from shifty_ent.core.errors import Conflict, ExternalServiceError
from shifty_ent.gpu import permissions
from shifty_ent.gpu.instances import client, get_instance
from shifty_ent.gpu.provision import wait_until_settled
from shifty_ent.gpu.states import observe
from shifty_ent.gpu.tables import FINAL_STATES, RUNNING, TERMINATING
from shifty_ent.gpu.vastai import ProviderInstance


@dataclass(frozen=True)
class SshEndpoint:
    """Host and port of an instance's SSH server (the user is the image's, ``root`` on vast.ai)."""

    host: str
    port: int


def endpoint_of(seen: ProviderInstance) -> SshEndpoint | None:
    """The proxy ``ssh_host:ssh_port``, else ``public_ipaddr`` with the port mapped to 22."""
    raw: dict[str, Any] = seen.raw or {}
    host = str(raw.get("ssh_host") or "").strip()
    port = _port(raw.get("ssh_port"))
    if host and port:
        return SshEndpoint(host, port)
    direct = _port(seen.host_port(22))
    if seen.public_ipaddr and direct:
        return SshEndpoint(seen.public_ipaddr, direct)
    return None


def _port(value: Any) -> int | None:
    try:
        port = int(str(value).strip())
    except (TypeError, ValueError):
        return None
    return port if 0 < port < 65536 else None


def ssh_endpoint(
    ctx: Context, ref: str, *, timeout: float = 900.0, poll_interval: float = 10.0
) -> SshEndpoint:
    """Wait until the instance runs (as ``gpu provision --wait`` does), then where its SSH
    server listens. A gone instance is a conflict; one vast.ai reports no address for fails."""
    authorize(ctx, permissions.READ)
    inst = get_instance(ctx, ref)
    if inst.status in FINAL_STATES or inst.status == TERMINATING:
        raise Conflict(f"instance {str(inst.id)[:8]} is {inst.status}")
    if not inst.provider_instance_id:
        raise Conflict(f"instance {str(inst.id)[:8]} was never rented ({inst.status})")
    ctx.session.commit()
    with client(ctx) as api:
        if inst.status != RUNNING:
            wait_until_settled(ctx, inst, api, timeout, poll_interval, None)
        seen = api.get_instance(inst.provider_instance_id)
        observe(ctx, inst, seen, ctx.now())
        ctx.session.commit()
    if seen is None:
        raise Conflict(f"vast.ai no longer lists instance {inst.provider_instance_id}")
    found = endpoint_of(seen)
    if found is None:
        raise ExternalServiceError(
            f"vast.ai reports no SSH address for instance {inst.provider_instance_id}"
        )
    return found
