"""Ollama: pin ``name:tag`` to its manifest digest (``show`` for details, ``list`` for the digest).

``/api/show`` carries family, parameter size, quantization and the GGUF model info but not the
manifest digest; ``/api/tags`` carries the digest and size. Two requests is the minimum pin.
``--pull`` streams ``/api/pull`` progress first.
"""

from __future__ import annotations

from typing import Any

from shifty_ent.core.config import Settings
from shifty_ent.core.errors import ExternalServiceError, InvalidInput, NotFound
from shifty_ent.model.sources import Pin, ProgressFn

TIMEOUT_S = 60.0


def normalise(name: str) -> str:
    """``llama3.1`` -> ``llama3.1:latest`` (Ollama's own default tag)."""
    name = (name or "").strip()
    if not name or any(c.isspace() for c in name) or "://" in name:
        raise InvalidInput(f"--source-id {name!r} must be an Ollama model name such as llama3.1:8b")
    last = name.rsplit("/", 1)[-1]
    return name if ":" in last else f"{name}:latest"


def client(settings: Settings) -> Any:
    import ollama

    return ollama.Client(host=settings.ollama_host, timeout=TIMEOUT_S)


def _error(exc: Exception, name: str, host: str) -> Exception:
    import ollama

    if isinstance(exc, ollama.ResponseError):
        if exc.status_code == 404 or "not found" in str(exc.error).lower():
            return NotFound(
                f"Ollama model {name} not found on {host}: pass --pull to pull it ({exc.error})"
            )
        return ExternalServiceError(f"Ollama at {host} refused {name}: {exc.error}")
    if isinstance(exc, ConnectionError):
        return ExternalServiceError(f"cannot reach Ollama at {host}: is it running?")
    return ExternalServiceError(f"Ollama at {host} failed for {name}: {exc}")


def pull(settings: Settings, name: str, progress: ProgressFn | None = None) -> None:
    """Stream ``/api/pull``; an error line in the stream fails the pull."""
    import httpx
    import ollama

    name = normalise(name)
    try:
        for part in client(settings).pull(name, stream=True):
            if progress is not None:
                progress(part.status or "", part.completed, part.total)
    except (ollama.ResponseError, ConnectionError, httpx.HTTPError) as exc:
        raise _error(exc, name, settings.ollama_host) from None


def resolve(
    settings: Settings, name: str, *, do_pull: bool = False, progress: ProgressFn | None = None
) -> Pin:
    import httpx
    import ollama

    name = normalise(name)
    if do_pull:
        pull(settings, name, progress)
    cl = client(settings)
    try:
        shown = cl.show(name)
        listed = cl.list()
    except (ollama.ResponseError, ConnectionError, httpx.HTTPError) as exc:
        raise _error(exc, name, settings.ollama_host) from None
    entry = next((m for m in listed.models if m.model == name), None)
    if entry is None or not entry.digest:
        raise ExternalServiceError(
            f"Ollama at {settings.ollama_host} showed {name} but did not list its digest"
        )
    details = shown.details
    info = dict(shown.modelinfo or {})
    param_count = info.get("general.parameter_count")
    meta: dict[str, Any] = {
        "host": settings.ollama_host,
        "digest": entry.digest,
        "size": entry.size,
        "family": details.family if details else None,
        "families": list(details.families or []) if details and details.families else None,
        "format": details.format if details else None,
        "parameter_size": details.parameter_size if details else None,
        "parameters": param_count,
        "quantization": details.quantization_level if details else None,
        "parameters_text": shown.parameters,
        "license": (shown.license or "").splitlines()[0] if shown.license else None,
        "capabilities": list(shown.capabilities or []),
    }
    return Pin(
        source="ollama",
        source_id=name,
        pinned_revision=entry.digest,
        meta=meta,
        size_bytes=entry.size,
    )
