"""Delivering a fine-tuned adapter to an instance that serves its base model.

- vLLM (OpenAI-compatible): the adapter directory travels as a tar stream over SSH into
  ``~/shifty-adapters/<name>`` (vast.ai reports the SSH address; the key is the one registered
  with vast.ai, ``SHIFTY_SSH_KEY``; the instance's host key is pinned in a known-hosts file of our
  own at first contact, never ignored). A ``.complete`` marker written after the files releases
  the start script, which runs ``vllm serve --enable-lora --lora-modules NAME=PATH``; a server
  that already runs loads it through ``/v1/load_lora_adapter`` instead.
- Ollama: every file is uploaded as a blob (``POST /api/blobs/sha256:<digest>``, skipped when
  ``HEAD`` finds it), then ``POST /api/create`` builds the served model from the base's files and
  the adapter's.
"""

from __future__ import annotations

import contextlib
import hashlib
import os
import shlex
import shutil
import subprocess
import tarfile
import tempfile
from pathlib import Path
from typing import Any

import httpx

from shifty_ent.core.authz import authorize
from shifty_ent.core.context import Context
from shifty_ent.core.errors import Conflict, ExternalServiceError, InvalidInput
from shifty_ent.gpu import permissions
from shifty_ent.gpu.instances import client, get_instance
from shifty_ent.gpu.serving import LoraModule
from shifty_ent.gpu.tables import RUNNING, GpuInstance

SSH_TIMEOUT_S = 600.0
HTTP_TIMEOUT_S = 600.0


def _ssh_address(ctx: Context, inst: GpuInstance) -> tuple[str, int]:
    """vast.ai's proxy ``ssh_host:ssh_port``, else the public address with 22/tcp's host port."""
    with client(ctx) as api:
        seen = api.get_instance(inst.provider_instance_id or "0")
    if seen is None:
        raise Conflict(f"vast.ai no longer lists instance {inst.provider_instance_id}")
    raw: dict[str, Any] = seen.raw or {}
    host = str(raw.get("ssh_host") or "").strip()
    port = raw.get("ssh_port")
    if not (host and str(port or "").isdigit()):
        host, port = (seen.public_ipaddr or ""), seen.host_port(22)
    if not host or not str(port or "").isdigit():
        raise ExternalServiceError(
            f"vast.ai reports no SSH address for {inst.provider_instance_id}"
        )
    return host, int(str(port))


def _ssh_argv(ctx: Context, host: str, port: int) -> list[str]:
    ssh = shutil.which("ssh")
    if ssh is None:
        raise InvalidInput("sending an adapter needs the OpenSSH client ('ssh') on this machine")
    known = ctx.settings.data_dir / "ssh" / "known_hosts"
    known.parent.mkdir(parents=True, exist_ok=True)
    argv = [
        ssh,
        "-p",
        str(port),
        "-o",
        "BatchMode=yes",
        "-o",
        f"UserKnownHostsFile={known}",
        "-o",
        "StrictHostKeyChecking=accept-new",
        "-o",
        "ConnectTimeout=20",
    ]
    key = os.environ.get("SHIFTY_SSH_KEY")
    if key:
        argv += ["-i", key, "-o", "IdentitiesOnly=yes"]
    user = os.environ.get("SHIFTY_SSH_USER") or "root"
    return [*argv, f"{user}@{host}"]


def _tar(local: Path) -> Path:
    fd, name = tempfile.mkstemp(prefix="shifty-adapter-", suffix=".tar")
    os.close(fd)
    with tarfile.open(name, "w") as tar:
        for path in sorted(local.iterdir()):
            if path.is_file() and not path.is_symlink():
                tar.add(path, arcname=path.name)
    return Path(name)


def push_over_ssh(ctx: Context, inst: GpuInstance, local: Path, lora: LoraModule) -> str:
    """Send ``local``'s files to ``~/<lora.remote_dir>`` and mark them complete; the remote
    absolute path is returned."""
    host, port = _ssh_address(ctx, inst)
    remote = shlex.quote(lora.remote_dir)
    command = (
        f'd="$HOME"/{remote}; rm -rf "$d"; mkdir -p "$d" && tar -xf - -C "$d" '
        '&& touch "$d/.complete" && printf %s "$d"'
    )
    archive = _tar(local)
    try:
        with archive.open("rb") as stream:
            done = subprocess.run(
                [*_ssh_argv(ctx, host, port), command],
                stdin=stream,
                capture_output=True,
                timeout=SSH_TIMEOUT_S,
                check=False,
            )
    except subprocess.TimeoutExpired:
        raise ExternalServiceError(f"sending the adapter to {host}:{port} timed out") from None
    finally:
        archive.unlink(missing_ok=True)
    if done.returncode != 0:
        last = (done.stderr.decode(errors="replace").strip().splitlines() or ["no message"])[-1]
        raise ExternalServiceError(f"sending the adapter to {host}:{port} failed: {last[:200]}")
    return done.stdout.decode(errors="replace").strip()


def _vllm_load(endpoint: str, lora: LoraModule, path: str) -> None:
    """Load the adapter into a vLLM server that already runs (runtime LoRA updating)."""
    base = endpoint.rstrip("/")
    try:
        with httpx.Client(timeout=HTTP_TIMEOUT_S) as http:
            listed = http.get(base + "/v1/models")
            if listed.status_code < 400 and any(
                isinstance(i, dict) and i.get("id") == lora.name
                for i in (listed.json().get("data") or [])
            ):
                return
            resp = http.post(
                base + "/v1/load_lora_adapter", json={"lora_name": lora.name, "lora_path": path}
            )
    except (httpx.HTTPError, ValueError) as exc:
        raise ExternalServiceError(f"loading the adapter at {base}: {exc}") from None
    if resp.status_code >= 400:
        raise ExternalServiceError(
            f"{base} refused the adapter (HTTP {resp.status_code}): {resp.text[:200]}"
        )


def _digest(path: Path) -> str:
    sha = hashlib.sha256()
    with path.open("rb") as handle:
        for chunk in iter(lambda: handle.read(1 << 20), b""):
            sha.update(chunk)
    return "sha256:" + sha.hexdigest()


def _blobs(http: httpx.Client, base: str, folder: Path) -> dict[str, str]:
    """Upload every regular file of ``folder`` as a blob; file name -> digest."""
    out: dict[str, str] = {}
    for path in sorted(folder.iterdir()):
        if not path.is_file() or path.is_symlink() or path.name.startswith("."):
            continue
        digest = _digest(path)
        url = f"{base}/api/blobs/{digest}"
        if http.head(url).status_code != 200:
            with path.open("rb") as handle:
                resp = http.post(url, content=handle.read())
            if resp.status_code >= 400:
                raise ExternalServiceError(
                    f"Ollama at {base} refused blob {path.name}: {resp.text[:200]}"
                )
        out[path.name] = digest
    return out


def create_on_ollama(endpoint: str, base_dir: Path, adapter_dir: Path, name: str) -> None:
    """Upload base and adapter as blobs, then create model ``name`` from them."""
    base = endpoint.rstrip("/")
    try:
        with httpx.Client(timeout=HTTP_TIMEOUT_S) as http:
            files = _blobs(http, base, base_dir)
            adapters = _blobs(http, base, adapter_dir)
            resp = http.post(
                base + "/api/create",
                json={"model": name, "files": files, "adapters": adapters, "stream": False},
            )
    except httpx.HTTPError as exc:
        raise ExternalServiceError(f"Ollama at {base}: {exc}") from None
    if resp.status_code >= 400:
        raise ExternalServiceError(f"Ollama at {base} could not create {name}: {resp.text[:200]}")


def deliver(
    ctx: Context,
    instance_ref: str,
    lora: LoraModule,
    adapter_dir: Path,
    base_dir: Path | None = None,
) -> dict[str, Any]:
    """Put the adapter where the instance serves it under ``lora.name`` (operator or admin).
    The instance must run. Commits (no transaction is held during transfers)."""
    authorize(ctx, permissions.PROVISION)
    inst = get_instance(ctx, instance_ref)
    if inst.status != RUNNING:
        raise Conflict(f"instance {str(inst.id)[:8]} is {inst.status}, not running")
    ctx.session.commit()
    if inst.server_kind == "ollama":
        if base_dir is None or not inst.endpoint_url:
            raise Conflict(f"instance {str(inst.id)[:8]} has no Ollama endpoint to create on")
        create_on_ollama(inst.endpoint_url, base_dir, adapter_dir, lora.name)
        via = "ollama_create"
    else:
        path = push_over_ssh(ctx, inst, adapter_dir, lora)
        if inst.endpoint_url:
            # not up yet: its start script loads the adapter from disk once it is there
            with contextlib.suppress(ExternalServiceError):
                _vllm_load(inst.endpoint_url, lora, path)
        via = "ssh"
    ctx.audit(
        "gpu.adapter.deliver",
        target_type="gpu_instance",
        target_id=inst.id,
        details={"served_name": lora.name, "via": via},
    )
    ctx.session.commit()
    return {"instance_id": str(inst.id), "served_name": lora.name, "via": via}
