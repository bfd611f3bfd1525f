"""What to run on an instance for ``--model``: image, arguments, port and server kind.

Defaults (documented in docs/gpu.md; adapters in docs/model.md):
- a Hugging Face checkpoint (``org/name``, or ``hf:name``) runs vLLM's OpenAI-compatible server
  (``vllm/vllm-openai:latest``, port 8000; health ``/health``, then ``/v1/models``);
- an Ollama ``name:tag`` (or ``ollama:name``) runs ``ollama/ollama:latest`` (port 11434; the model
  is pulled at start; health ``/api/tags``).
A checkpoint never contains ``:`` on the Hub, so a colon means Ollama.

A LoRA adapter (:class:`LoraModule`) changes that: vLLM starts with ``--enable-lora`` and
``--lora-modules NAME=PATH`` once the adapter's files are on the instance (the start script waits
for them: they are sent over SSH after the instance runs, see :mod:`shifty_ent.gpu.transfer`),
and runtime loading stays on so another adapter of the same base can join later; an Ollama host
starts empty and gets base and adapter through its blob and create API.
"""

from __future__ import annotations

import re
import shlex
from dataclasses import dataclass, field
from typing import Any

from shifty_ent.core.errors import InvalidInput

BASE_IMAGE = "vastai/base-image:@vastai-automatic-tag"
VLLM_IMAGE = "vllm/vllm-openai:latest"
OLLAMA_IMAGE = "ollama/ollama:latest"
OPENAI_PORT = 8000
OLLAMA_PORT = 11434
HEALTH_PATHS = {"openai": ("/health", "/v1/models"), "ollama": ("/api/tags",)}


ADAPTERS_DIR = "shifty-adapters"  # below the login's home on the instance


@dataclass(frozen=True)
class LoraModule:
    """An adapter to serve under ``name`` on top of the instance's base model."""

    name: str
    rank: int = 8
    server_kind: str = "openai"  # openai (vLLM) | ollama

    @property
    def remote_dir(self) -> str:
        """Where the adapter's files go, relative to the login's home directory."""
        return f"{ADAPTERS_DIR}/{slug(self.name)}"


def slug(name: str) -> str:
    """A served name as one safe path component."""
    return re.sub(r"[^A-Za-z0-9._-]+", "-", name).strip("-.") or "adapter"


@dataclass
class ServingSpec:
    image: str
    runtype: str
    server_kind: str | None = None
    port: int | None = None
    checkpoint: str | None = None
    env: dict[str, str] = field(default_factory=dict)
    args: list[str] | None = None
    onstart: str | None = None

    def create_body(self, *, disk_gb: int, label: str, secrets: dict[str, str]) -> dict[str, Any]:
        """The ``PUT /api/v0/asks/{id}/`` body (env as an object, as the official client sends)."""
        env = dict(self.env)
        env.update(secrets)
        body: dict[str, Any] = {
            "client_id": "me",
            "image": self.image,
            "disk": disk_gb,
            "label": label,
            "env": env,
            "runtype": self.runtype,
            "target_state": "running",
            # fail with 410 rather than create a stopped machine that bills storage
            "cancel_unavail": True,
        }
        if self.args is not None:
            body["args"] = self.args
        if self.onstart:
            body["onstart"] = self.onstart
        return body


def kind_of(checkpoint: str) -> tuple[str, str]:
    """(server kind, bare checkpoint) for what a user typed."""
    text = checkpoint.strip()
    if text.startswith("ollama:"):
        name = text[len("ollama:") :]
        return "ollama", name if ":" in name else name + ":latest"
    if text.startswith("hf:"):
        return "openai", text[len("hf:") :]
    if ":" in text:
        return "ollama", text
    return "openai", text


def spec_for(
    checkpoint: str | None, image: str | None, lora: LoraModule | None = None
) -> ServingSpec:
    if image is not None and (not image.strip() or len(image) > 1024 or " " in image.strip()):
        raise InvalidInput(f"--image {image!r} is not a valid image reference")
    if not checkpoint:
        return ServingSpec(image=image or BASE_IMAGE, runtype="ssh")
    if len(checkpoint) > 300 or any(c.isspace() for c in checkpoint):
        raise InvalidInput(f"--model {checkpoint!r} is not a valid checkpoint name")
    kind, name = kind_of(checkpoint)
    if not name or name.endswith(":"):
        raise InvalidInput(f"--model {checkpoint!r} is not a valid checkpoint name")
    if lora is not None:
        return _lora_spec(name, image, lora)
    if kind == "ollama":
        script = (
            f"{_OLLAMA_SERVE}; "
            "for i in $(seq 1 90); do ollama list >/dev/null 2>&1 && break; sleep 2; done; "
            f"ollama pull {shlex.quote(name)}"
        )
        return _server_spec("ollama", image, name, "ssh", onstart=script)
    args = ["--model", name, "--host", "0.0.0.0", "--port", str(OPENAI_PORT)]
    return _server_spec("openai", image, name, "args", args=args)


_SERVERS = {"ollama": (OLLAMA_IMAGE, OLLAMA_PORT), "openai": (VLLM_IMAGE, OPENAI_PORT)}
_OLLAMA_SERVE = (
    f"export OLLAMA_HOST=0.0.0.0:{OLLAMA_PORT}; (ollama serve > /var/log/ollama.log 2>&1 &)"
)


def _server_spec(
    server_kind: str,
    image: str | None,
    checkpoint: str,
    runtype: str,
    *,
    env: dict[str, str] | None = None,
    args: list[str] | None = None,
    onstart: str | None = None,
) -> ServingSpec:
    """A model server of ``server_kind`` (its default image unless ``image`` is given) that
    publishes its port; ``env`` adds to the port mapping. An Ollama server listens on all
    interfaces."""
    default_image, port = _SERVERS[server_kind]
    extra = {"OLLAMA_HOST": f"0.0.0.0:{OLLAMA_PORT}"} if server_kind == "ollama" else {}
    return ServingSpec(
        image=image or default_image,
        runtype=runtype,
        server_kind=server_kind,
        port=port,
        checkpoint=checkpoint,
        env={f"-p {port}:{port}": "1", **extra, **(env or {})},
        args=args,
        onstart=onstart,
    )


def _lora_spec(base: str, image: str | None, lora: LoraModule) -> ServingSpec:
    if lora.server_kind == "ollama":
        # the base and the adapter arrive as blobs; nothing to pull at start
        return _server_spec("ollama", image, lora.name, "ssh", onstart=_OLLAMA_SERVE)
    where = f'"$HOME/{lora.remote_dir}"'
    server = " ".join(
        [
            "vllm serve",
            shlex.quote(base),
            f"--host 0.0.0.0 --port {OPENAI_PORT}",
            f"--enable-lora --max-lora-rank {max(8, lora.rank)}",
            f"--lora-modules {shlex.quote(lora.name)}={where}",
        ]
    )
    script = (
        f"until [ -f {where}/.complete ]; do sleep 5; done; "
        f"(nohup {server} > /var/log/vllm.log 2>&1 &)"
    )
    env = {"VLLM_ALLOW_RUNTIME_LORA_UPDATING": "True"}
    return _server_spec("openai", image, base, "ssh", env=env, onstart=script)
