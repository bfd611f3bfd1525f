"""Hugging Face Hub: pin a model id to a commit sha with one ``model_info`` request.

``model_info(files_metadata=True)`` answers everything the pin needs in a single request
(``GET /api/models/{id}[/revision/{rev}]?blobs=true``): the commit sha, every file with its size
and LFS sha256, license, gating, pipeline tag and safetensors parameter counts. The endpoint and
token come from settings (``HF_ENDPOINT``, ``HF_TOKEN``), never from module globals.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from shifty_ent.core.config import Settings
from shifty_ent.core.errors import ExternalServiceError, InvalidInput, NotFound, Refused
from shifty_ent.model.sources import Pin

TIMEOUT_S = 30.0


def _api(settings: Settings) -> Any:
    from huggingface_hub import HfApi

    return HfApi(endpoint=settings.hf_endpoint, token=settings.hf_token or None)


def translate_error(exc: Exception, repo_id: str, revision: str | None, endpoint: str) -> Exception:
    """Turn huggingface_hub's exceptions into one clear line with the right exit code."""
    from huggingface_hub import errors as hf

    rev = f" at revision {revision!r}" if revision else ""
    # GatedRepoError subclasses RepositoryNotFoundError: test it first
    if isinstance(exc, hf.GatedRepoError):
        return Refused(
            f"Hugging Face model {repo_id} is gated: request access at {endpoint}/{repo_id} "
            "and set HF_TOKEN to a token of an account that has it"
        )
    if isinstance(exc, hf.DisabledRepoError):
        return Refused(f"Hugging Face model {repo_id} is disabled by the Hub")
    if isinstance(exc, hf.RevisionNotFoundError):
        return NotFound(f"Hugging Face model {repo_id} has no revision {revision!r}")
    if isinstance(exc, hf.RepositoryNotFoundError):
        return NotFound(
            f"Hugging Face model {repo_id} not found (or private: set HF_TOKEN for private models)"
        )
    if isinstance(exc, hf.HFValidationError):
        return InvalidInput(f"--source-id {repo_id!r} is not a valid Hugging Face model id")
    if isinstance(exc, hf.HfHubHTTPError):
        status = exc.response.status_code if exc.response is not None else "?"
        return ExternalServiceError(
            f"Hugging Face answered HTTP {status} for {repo_id}{rev}: {_first_line(exc)}"
        )
    return ExternalServiceError(f"cannot reach Hugging Face at {endpoint}: {_first_line(exc)}")


def transport_errors() -> tuple[type[Exception], ...]:
    """What a failed Hub call can raise, for both supported huggingface_hub lines: 2.x sends
    through ``httpx2``, 1.x through ``httpx``. Importing ``httpx2`` unconditionally broke every
    Hugging Face command on hosts with huggingface_hub 1.x (such as GPU images that pin it)."""
    import httpx

    errors: list[type[Exception]] = [httpx.HTTPError, OSError, ValueError]
    try:
        import httpx2
    except ImportError:
        pass
    else:
        errors.append(httpx2.HTTPError)
    return tuple(errors)


def _first_line(exc: Exception) -> str:
    text = str(exc).strip()
    return text.splitlines()[0] if text else type(exc).__name__


def resolve(settings: Settings, repo_id: str, revision: str | None = None) -> Pin:
    """Pin ``repo_id`` (at ``revision``: branch, tag or sha) to its commit sha."""
    repo_id = (repo_id or "").strip()
    if not repo_id or repo_id.count("/") > 1 or repo_id.startswith("/") or "://" in repo_id:
        raise InvalidInput(
            f"--source-id {repo_id!r} must be a Hugging Face model id such as org/name"
        )
    try:
        info = _api(settings).model_info(
            repo_id, revision=revision, files_metadata=True, timeout=TIMEOUT_S
        )
    except transport_errors() as exc:
        raise translate_error(exc, repo_id, revision, settings.hf_endpoint) from None
    if not info.sha:
        raise ExternalServiceError(f"Hugging Face gave no commit sha for {repo_id}")
    files = []
    total = 0
    for sib in info.siblings or []:
        size = sib.size if sib.size is not None else (sib.lfs.size if sib.lfs else None)
        files.append(
            {
                "path": sib.rfilename,
                "size": size,
                "lfs_sha256": sib.lfs.sha256 if sib.lfs else None,
                "blob_id": sib.blob_id,
            }
        )
        total += size or 0
    card = info.card_data
    license_ = getattr(card, "license", None) if card is not None else None
    if not license_:
        license_ = next(
            (t.split(":", 1)[1] for t in info.tags or [] if t.startswith("license:")), None
        )
    params = info.safetensors.total if info.safetensors else None
    meta: dict[str, Any] = {
        "repo_id": info.id or repo_id,
        "sha": info.sha,
        "files": files,
        "file_count": len(files),
        "total_size": total,
        "license": license_,
        "gated": info.gated or False,
        "private": bool(info.private),
        "pipeline_tag": info.pipeline_tag,
        "library_name": info.library_name,
        "parameters": params,
        "parameters_by_dtype": dict(info.safetensors.parameters) if info.safetensors else None,
        "base_model": getattr(card, "base_model", None) if card is not None else None,
        "last_modified": info.last_modified.isoformat() if info.last_modified else None,
        "endpoint": settings.hf_endpoint,
    }
    return Pin(
        source="huggingface",
        source_id=info.id or repo_id,
        pinned_revision=info.sha,
        requested_revision=revision,
        meta=meta,
        size_bytes=total,
    )


def download(settings: Settings, repo_id: str, sha: str, cache_dir: Path) -> Path:
    """The pinned snapshot on local disk (a full sha skips the revision lookup)."""
    from huggingface_hub import snapshot_download

    try:
        path = snapshot_download(
            repo_id,
            revision=sha,
            endpoint=settings.hf_endpoint,
            token=settings.hf_token or None,
            cache_dir=str(cache_dir),
        )
    except transport_errors() as exc:
        raise translate_error(exc, repo_id, sha, settings.hf_endpoint) from None
    return Path(path)
