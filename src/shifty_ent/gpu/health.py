"""Health of an instance's model endpoint: an HTTP probe with latency, stored on the instance.

Probe paths by server kind: OpenAI-compatible servers (vLLM) ``/health`` then ``/v1/models``;
Ollama ``/api/tags`` (healthy only once the model is pulled). The probe talks to the instance,
not to vast.ai; it runs outside any transaction (SQLite holds its write lock while one is open).
``probe_many`` probes several instances at once on a bounded thread pool, so a reconcile of many
dead endpoints waits about one timeout per ``PROBE_WORKERS`` instances, not one per instance.
``check_health`` is the ``gpu health`` service: probe one instance now and store the result.
"""

from __future__ import annotations

import time
from collections.abc import Iterator, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from typing import Any

import httpx
from sqlalchemy import update
from sqlmodel import col

from shifty_ent.core.authz import authorize
from shifty_ent.core.context import Context
from shifty_ent.core.errors import NotFound
from shifty_ent.core.storable import escape_unstorable
from shifty_ent.gpu import permissions
from shifty_ent.gpu.instances import get_instance
from shifty_ent.gpu.serving import HEALTH_PATHS
from shifty_ent.gpu.tables import RUNNING, GpuInstance

PROBE_TIMEOUT_S = 5.0
PROBE_WORKERS = 16


@dataclass(frozen=True)
class ProbeTarget:
    """What a probe needs of an instance, copied off the ORM object: worker threads must not
    touch the session or its objects."""

    status: str
    endpoint_url: str | None
    server_kind: str | None
    model_checkpoint: str | None

    @classmethod
    def of(cls, inst: GpuInstance) -> ProbeTarget:
        return cls(inst.status, inst.endpoint_url, inst.server_kind, inst.model_checkpoint)


def probe(inst: GpuInstance, *, timeout: float | None = None) -> dict[str, Any]:
    """Probe without touching the store; returns the health document."""
    return _probe(ProbeTarget.of(inst), PROBE_TIMEOUT_S if timeout is None else timeout)


def probe_many(
    instances: Sequence[GpuInstance],
    *,
    workers: int | None = None,
    timeout: float | None = None,
) -> Iterator[dict[str, Any]]:
    """Probe every instance, at most ``workers`` (default ``PROBE_WORKERS``) at once.

    Yields the health documents in input order, each as soon as it and those before it are done.

    The pool touches neither the store nor the ORM objects, so the caller keeps the session (and
    every write) on its own thread and can store one result while later probes still wait.
    """
    targets = [ProbeTarget.of(inst) for inst in instances]
    if not targets:
        return
    limit = PROBE_TIMEOUT_S if timeout is None else timeout
    size = max(1, min(PROBE_WORKERS if workers is None else workers, len(targets)))
    with ThreadPoolExecutor(max_workers=size, thread_name_prefix="gpu-probe") as pool:
        yield from pool.map(lambda target: _probe(target, limit), targets)


def _probe(target: ProbeTarget, timeout: float) -> dict[str, Any]:
    if target.status != RUNNING:
        return {"status": "not_running", "detail": f"instance is {target.status}"}
    if not target.endpoint_url:
        return {"status": "no_endpoint", "detail": "no model endpoint (start with --model)"}
    paths = HEALTH_PATHS.get(target.server_kind or "", ("/",))
    last: dict[str, Any] = {}
    # one client per probe: nothing is shared between the pool's threads
    with httpx.Client(timeout=timeout, follow_redirects=False) as http:
        for path in paths:
            url = target.endpoint_url.rstrip("/") + path
            started = time.perf_counter()
            try:
                resp = http.get(url)
            except httpx.HTTPError as exc:
                last = {
                    "status": "unreachable",
                    "path": path,
                    "latency_ms": round((time.perf_counter() - started) * 1000, 1),
                    "detail": f"{type(exc).__name__}: {exc}"[:200],
                }
                continue
            latency = round((time.perf_counter() - started) * 1000, 1)
            doc: dict[str, Any] = {
                "path": path,
                "http_status": resp.status_code,
                "latency_ms": latency,
            }
            if resp.status_code >= 400:
                # the endpoint's own text, kept with any NUL escaped (core.storable)
                detail = escape_unstorable(resp.text[:200])
                last = {"status": "unhealthy", **doc, "detail": detail}
                continue
            if target.server_kind == "ollama" and target.model_checkpoint:
                names = _ollama_models(resp)
                if target.model_checkpoint not in names:
                    return {
                        "status": "starting",
                        **doc,
                        "detail": f"{target.model_checkpoint} not pulled yet",
                    }
            return {"status": "healthy", **doc}
    return last


def _ollama_models(resp: httpx.Response) -> set[str]:
    try:
        data = resp.json()
    except ValueError:
        return set()
    out = set()
    for item in data.get("models") or [] if isinstance(data, dict) else []:
        if isinstance(item, dict):
            for key in ("name", "model"):
                if item.get(key):
                    out.add(str(item[key]))
    return out


def store_health(
    ctx: Context, inst: GpuInstance, health: dict[str, Any], *, actor: str | None = None
) -> GpuInstance:
    """Save ``health`` on the instance; a change of health status is audited."""
    before = (inst.health or {}).get("status")
    ctx.session.execute(
        update(GpuInstance)
        .where(col(GpuInstance.id) == inst.id)
        .values(health=health)
        .execution_options(synchronize_session=False)
    )
    ctx.session.refresh(inst)
    if before != health.get("status"):
        ctx.audit(
            "gpu.health",
            target_type="gpu_instance",
            target_id=inst.id,
            details={"from": before, "to": health.get("status"), "path": health.get("path")},
            tenant_id=inst.tenant_id,
            actor=actor,
        )
    return inst


def check_health(ctx: Context, instance_ref_or_obj: str | GpuInstance) -> dict[str, Any]:
    """Probe the instance's model endpoint now, store the result, return it. Commits."""
    authorize(ctx, permissions.HEALTH)
    if isinstance(instance_ref_or_obj, GpuInstance):
        inst = instance_ref_or_obj
        if ctx.tenant is not None and inst.tenant_id != ctx.tenant_id:
            raise NotFound(f"instance {inst.id} not found")
    else:
        inst = get_instance(ctx, instance_ref_or_obj)
    ctx.session.commit()
    result = probe(inst)
    result["checked_at"] = ctx.now().isoformat()
    result["endpoint_url"] = inst.endpoint_url
    store_health(ctx, inst, result)
    ctx.session.commit()
    return {"instance_id": inst.id, **result}


def served_names(resp: httpx.Response, server_kind: str | None) -> set[str]:
    """The model names an endpoint lists: ``/v1/models`` ids, or Ollama's ``/api/tags``."""
    if server_kind == "ollama":
        return _ollama_models(resp)
    try:
        data = resp.json()
    except ValueError:
        return set()
    items = data.get("data") if isinstance(data, dict) else None
    return {str(i["id"]) for i in items or [] if isinstance(i, dict) and i.get("id")}


def probe_served(
    target: ProbeTarget, name: str, timeout: float = PROBE_TIMEOUT_S
) -> dict[str, Any]:
    """Healthy only when the endpoint lists ``name`` (a deployment's served name): a server that
    answers 200 but serves another model, or not this adapter yet, is not this deployment."""
    if target.status != RUNNING:
        return {"status": "not_running", "detail": f"instance is {target.status}"}
    if not target.endpoint_url:
        return {"status": "no_endpoint", "detail": "the instance reports no model endpoint yet"}
    path = "/api/tags" if target.server_kind == "ollama" else "/v1/models"
    url = target.endpoint_url.rstrip("/") + path
    started = time.perf_counter()
    try:
        with httpx.Client(timeout=timeout, follow_redirects=False) as http:
            resp = http.get(url)
    except httpx.HTTPError as exc:
        return {
            "status": "unreachable",
            "path": path,
            "latency_ms": round((time.perf_counter() - started) * 1000, 1),
            "detail": f"{type(exc).__name__}: {exc}"[:200],
        }
    doc: dict[str, Any] = {
        "path": path,
        "http_status": resp.status_code,
        "latency_ms": round((time.perf_counter() - started) * 1000, 1),
        "served_name": name,
    }
    if resp.status_code >= 400:
        return {"status": "unhealthy", **doc, "detail": resp.text[:200]}
    names = served_names(resp, target.server_kind)
    wanted = {name, f"{name}:latest"} if ":" not in name else {name}
    if not names & wanted:
        listed = ", ".join(sorted(names)[:5]) or "nothing"
        return {"status": "starting", **doc, "detail": f"{name} not served yet (lists {listed})"}
    return {"status": "healthy", **doc}


def check_served(ctx: Context, instance_ref: str, name: str) -> dict[str, Any]:
    """Probe whether the instance serves ``name`` now (a deployment's health). Commits."""
    authorize(ctx, permissions.HEALTH)
    inst = get_instance(ctx, instance_ref)
    target = ProbeTarget.of(inst)
    ctx.session.commit()
    result = probe_served(target, name)
    result["checked_at"] = ctx.now().isoformat()
    result["endpoint_url"] = target.endpoint_url
    return result
