"""An Ollama server fake: tags, show, pull (NDJSON stream), generate, chat, ps, delete, blobs and
create, and the OpenAI-compatible ``/v1/chat/completions``.

Shapes follow Ollama's REST API documentation (``docs/api.md`` in the ollama/ollama repository) and
what the ``ollama`` 0.6 client validates: streams are ``application/x-ndjson`` chunked, one JSON
object per line; ``"stream": false`` gets one JSON document; unknown models get 404 ``{"error":
"model 'x' not found"}``; a failed pull ends its stream with an ``{"error": ...}`` line.
Blobs: ``HEAD /api/blobs/sha256:D`` is 200 or 404, ``POST`` stores the body when its SHA-256
is D (201, else 400); ``POST /api/create`` with ``files``/``adapters`` (name -> digest) needs
every blob uploaded first (400 otherwise) and ``from`` an installed model when given.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from tests.fakes.server import LoopbackServer, Request, Response

NOW = "2026-11-01T10:00:00.000000Z"


@dataclass
class FakeModel:
    name: str
    family: str = "llama"
    parameter_size: str = "8.0B"
    quantization: str = "Q4_K_M"
    size: int = 4_920_753_328
    parameter_count: int = 8_030_261_248
    license: str = "LLAMA 3.1 COMMUNITY LICENSE AGREEMENT"
    parameters: str = 'stop "<|eot_id|>"\ntemperature 0.6'
    digest: str = ""
    capabilities: list[str] = field(default_factory=lambda: ["completion", "tools"])

    def __post_init__(self) -> None:
        if not self.digest:
            self.digest = hashlib.sha256(self.name.encode()).hexdigest()

    def details(self) -> dict[str, Any]:
        return {
            "parent_model": "",
            "format": "gguf",
            "family": self.family,
            "families": [self.family],
            "parameter_size": self.parameter_size,
            "quantization_level": self.quantization,
        }


def _full(name: str) -> str:
    return name if ":" in name.rsplit("/", 1)[-1] else f"{name}:latest"


class FakeOllama:
    """``models`` are installed; ``registry`` can be pulled; ``respond(prompt) -> text``."""

    def __init__(
        self,
        models: list[FakeModel] | None = None,
        *,
        registry: list[FakeModel] | None = None,
        respond: Callable[[str], str] | None = None,
    ) -> None:
        self.models = {m.name: m for m in models or []}
        self.registry = {m.name: m for m in registry or []}
        self.respond = respond or (lambda prompt: "ok")
        self.blobs: dict[str, bytes] = {}  # "sha256:<hex>" -> content
        self.created: dict[str, dict[str, Any]] = {}  # model -> the create request
        self.server = LoopbackServer(self.handle, max_requests=5000, max_seconds=300)

    @property
    def url(self) -> str:
        return self.server.url

    @property
    def requests(self) -> list[Request]:
        return self.server.requests

    def __enter__(self) -> FakeOllama:
        self.server.start()
        return self

    def __exit__(self, *exc: Any) -> None:
        self.server.stop()

    @staticmethod
    def _ndjson(items: list[dict[str, Any]]) -> Response:
        return Response(
            200,
            chunks=[json.dumps(i).encode() + b"\n" for i in items],
            headers={"Content-Type": "application/x-ndjson"},
        )

    @staticmethod
    def _missing(name: str) -> Response:
        return Response(404, {"error": f"model '{name}' not found"})

    def handle(self, req: Request) -> Response:
        blob = req.path.startswith("/api/blobs/")  # raw file bytes, not JSON
        body = req.json() if req.body and not blob else {}
        if req.path == "/api/tags" and req.method == "GET":
            return Response(
                200,
                {
                    "models": [
                        {
                            "name": m.name,
                            "model": m.name,
                            "modified_at": NOW,
                            "size": m.size,
                            "digest": m.digest,
                            "details": m.details(),
                        }
                        for m in self.models.values()
                    ]
                },
            )
        if req.path == "/api/show" and req.method == "POST":
            name = _full(body.get("model") or body.get("name") or "")
            m = self.models.get(name)
            if m is None:
                return self._missing(name)
            return Response(
                200,
                {
                    "modelfile": f"FROM {m.name}\n",
                    "parameters": m.parameters,
                    "template": "{{ .Prompt }}",
                    "license": m.license,
                    "details": m.details(),
                    "model_info": {
                        "general.architecture": m.family,
                        "general.parameter_count": m.parameter_count,
                        "general.file_type": 15,
                    },
                    "capabilities": m.capabilities,
                    "modified_at": NOW,
                },
            )
        if req.path == "/api/pull" and req.method == "POST":
            name = _full(body.get("model") or body.get("name") or "")
            m = self.registry.get(name) or self.models.get(name)
            stream = body.get("stream", True)
            if m is None:
                if not stream:
                    return Response(500, {"error": "pull model manifest: file does not exist"})
                return self._ndjson(
                    [
                        {"status": "pulling manifest"},
                        {"error": "pull model manifest: file does not exist"},
                    ]
                )
            self.models[name] = m
            layer = f"sha256:{m.digest}"
            lines: list[dict[str, Any]] = [{"status": "pulling manifest"}]
            for done in (0, m.size // 2, m.size):
                lines.append(
                    {
                        "status": f"pulling {m.digest[:12]}",
                        "digest": layer,
                        "total": m.size,
                        "completed": done,
                    }
                )
            lines += [
                {"status": "verifying sha256 digest"},
                {"status": "writing manifest"},
                {"status": "success"},
            ]
            return self._ndjson(lines) if stream else Response(200, {"status": "success"})
        if req.path == "/api/generate" and req.method == "POST":
            name = _full(body.get("model", ""))
            if name not in self.models:
                return self._missing(name)
            text = self.respond(body.get("prompt", ""))
            final = {
                "model": name,
                "created_at": NOW,
                "response": "",
                "done": True,
                "done_reason": "stop",
                "eval_count": len(text.split()),
            }
            if body.get("stream", True):
                return self._ndjson(
                    [{"model": name, "created_at": NOW, "response": text, "done": False}, final]
                )
            return Response(200, {**final, "response": text})
        if req.path == "/api/chat" and req.method == "POST":
            name = _full(body.get("model", ""))
            if name not in self.models:
                return self._missing(name)
            prompt = (body.get("messages") or [{}])[-1].get("content", "")
            text = self.respond(prompt)
            msg = {"role": "assistant", "content": text}
            final = {
                "model": name,
                "created_at": NOW,
                "message": {"role": "assistant", "content": ""},
                "done": True,
                "done_reason": "stop",
            }
            if body.get("stream", True):
                return self._ndjson(
                    [{"model": name, "created_at": NOW, "message": msg, "done": False}, final]
                )
            return Response(200, {**final, "message": msg})
        if req.path == "/v1/chat/completions" and req.method == "POST":
            name = _full(body.get("model", ""))
            if name not in self.models and body.get("model") not in self.models:
                return Response(
                    404, {"error": {"message": f"model '{name}' not found", "type": "api_error"}}
                )
            prompt = (body.get("messages") or [{}])[-1].get("content", "")
            return Response(
                200,
                {
                    "id": "chatcmpl-1",
                    "object": "chat.completion",
                    "model": body.get("model"),
                    "choices": [
                        {
                            "index": 0,
                            "finish_reason": "stop",
                            "message": {"role": "assistant", "content": self.respond(prompt)},
                        }
                    ],
                },
            )
        if req.path.startswith("/api/blobs/"):
            digest = req.path.rsplit("/", 1)[-1]
            if req.method == "HEAD":
                return Response(200 if digest in self.blobs else 404, raw=b"")
            if req.method == "POST":
                if "sha256:" + hashlib.sha256(req.body).hexdigest() != digest:
                    return Response(400, {"error": "digest mismatch"})
                self.blobs[digest] = req.body
                return Response(201, raw=b"")
        if req.path == "/api/create" and req.method == "POST":
            name = _full(body.get("model") or "")
            files = dict(body.get("files") or {})
            adapters = dict(body.get("adapters") or {})
            missing = [d for d in [*files.values(), *adapters.values()] if d not in self.blobs]
            if missing:
                return Response(400, {"error": f"missing blob {missing[0]}"})
            parent = body.get("from")
            if parent and _full(parent) not in self.models:
                return self._missing(_full(parent))
            if not parent and not files:
                return Response(400, {"error": "neither 'from' or 'files' was specified"})
            self.created[name] = body
            self.models[name] = FakeModel(name)
            lines = [{"status": "parsing modelfile"}, {"status": "success"}]
            if body.get("stream", True):
                return self._ndjson(lines)
            return Response(200, lines[-1])
        if req.path == "/api/ps" and req.method == "GET":
            return Response(200, {"models": []})
        if req.path == "/api/delete" and req.method == "DELETE":
            name = _full(body.get("model", ""))
            if self.models.pop(name, None) is None:
                return self._missing(name)
            return Response(200, raw=b"")
        if req.path in ("/", "/api/version"):
            return Response(200, {"version": "0.12.0"})
        return Response(404, raw=b"404 page not found", headers={"Content-Type": "text/plain"})
