"""``model generate``: run a version on prompts, where it is served or here, and log it all.

A version with a running deployment is asked there, under its served name (vLLM's
``/v1/completions`` or Ollama's ``/api/generate``); otherwise an Ollama model asks the configured
Ollama host, and a custom or Hugging Face checkpoint (or an adapter on one) runs locally with the
``train`` extra. Every prompt and output goes to the tenant's inference log
(:mod:`shifty_ent.model.inference_log`).
"""

from __future__ import annotations

import json
from collections.abc import Callable, Sequence
from typing import Any

import httpx

from shifty_ent.core import infiles
from shifty_ent.core.authz import authorize
from shifty_ent.core.context import Context
from shifty_ent.core.errors import ExternalServiceError, InvalidInput, Refused
from shifty_ent.gpu import api as gpu_api
from shifty_ent.model import deploy, inference_log, permissions
from shifty_ent.model.endpoint_http import post_json
from shifty_ent.model.tables import ModelVersion
from shifty_ent.model.versions import CLASSIFICATIONS, get_version

MAX_PROMPTS = 10_000
MAX_PROMPT_CHARS = 100_000
MAX_INPUT_BYTES = 64 * 1024 * 1024
HTTP_TIMEOUT_S = 120.0


def read_prompts(path: str) -> list[str]:
    """Prompts from a file: one per line, a JSON object's ``prompt`` (or ``text``) or the line."""
    raw = infiles.read_bounded(path, "--input", MAX_INPUT_BYTES)
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError:
        raise InvalidInput(f"--input {path} is not UTF-8 text") from None
    prompts = []
    for line in text.splitlines():
        if not line.strip():
            continue
        try:
            rec = json.loads(line)
        except json.JSONDecodeError:
            rec = None
        if isinstance(rec, dict) and isinstance(rec.get("prompt", rec.get("text")), str):
            prompts.append(str(rec.get("prompt", rec.get("text"))))
        else:
            prompts.append(line)
    return prompts


def _check(prompts: Sequence[str]) -> None:
    if not prompts:
        raise InvalidInput("give --prompt TEXT or --input FILE with at least one prompt")
    if len(prompts) > MAX_PROMPTS:
        raise InvalidInput(f"at most {MAX_PROMPTS} prompts at once")
    for number, prompt in enumerate(prompts, 1):
        if not prompt.strip() or len(prompt) > MAX_PROMPT_CHARS:
            raise InvalidInput(f"prompt {number} must be 1-{MAX_PROMPT_CHARS} characters")


def _ask_endpoint(
    kind: str | None, endpoint: str, served: str, gen: dict[str, Any], max_new: int
) -> Callable[[str], str]:
    base = endpoint.rstrip("/")
    client = httpx.Client(timeout=HTTP_TIMEOUT_S)
    temperature = float(gen.get("temperature", 0))

    def ask(prompt: str) -> str:
        if kind == "ollama":
            url, body = (
                base + "/api/generate",
                {
                    "model": served,
                    "prompt": prompt,
                    "stream": False,
                    "options": {"temperature": temperature, "num_predict": max_new},
                },
            )
        else:
            url, body = (
                base + "/v1/completions",
                {
                    "model": served,
                    "prompt": prompt,
                    "max_tokens": max_new,
                    "temperature": temperature,
                },
            )
        resp = post_json(client, url, body)
        try:
            data = resp.json()
            if kind == "ollama":
                return str(data["response"])
            return str(data["choices"][0]["text"])
        except (ValueError, KeyError, IndexError, TypeError):
            raise ExternalServiceError(f"{url} gave no completion") from None

    return ask


def _predictor(
    ctx: Context, version: ModelVersion, max_new: int
) -> tuple[Callable[[str], str], str]:
    """(ask, where): the running deployment, the Ollama host, or a local model."""
    from shifty_ent.model import evaluation, training

    gen = dict(version.generation_config or {})
    live = deploy.serving_replica(ctx, version)
    if live is not None:
        dep, endpoint, served = live
        kind = gpu_api.get_instance(ctx, str(dep.instance_id)).server_kind
        ctx.session.commit()
        where = f"deployment {str(dep.id)[:8]}"
        return _ask_endpoint(kind, endpoint, served, gen, max_new), where
    if version.source == "ollama":
        ctx.session.commit()
        return evaluation.ollama_chat(ctx, version.source_id), "ollama"
    if version.source in ("custom", "huggingface"):
        from shifty_ent.model import finetune

        finetune.require_training_extra()
        base, adapter = training.adapter_base(ctx, version)
        ctx.session.commit()  # the model runs outside any transaction
        local = evaluation.LocalClassifier(base, adapter)
        return (lambda prompt: local.generate(prompt, max_new)), "local"
    raise Refused(f"{version.ref} is an {version.source} model and not deployed: deploy it first")


def generate(
    ctx: Context,
    ref: str,
    prompts: Sequence[str],
    *,
    input_path: str | None = None,
    max_tokens: int | None = None,
    classification: str | None = None,
) -> list[dict[str, Any]]:
    """Answer each prompt (given, or read from ``input_path``) with the version (operator or
    admin); logged, classified at least ``classification`` (the prompts' sensitivity) and the
    model's own."""
    authorize(ctx, permissions.GENERATE)
    if bool(prompts) == bool(input_path):
        raise InvalidInput("give --prompt TEXT (repeatable) or --input FILE (not both)")
    prompts = list(prompts) or read_prompts(input_path or "")
    _check(prompts)
    if classification is not None and classification not in CLASSIFICATIONS:
        raise InvalidInput(f"--classification must be one of {', '.join(CLASSIFICATIONS)}")
    if max_tokens is not None and not 1 <= max_tokens <= 32768:
        raise InvalidInput("--max-tokens must be between 1 and 32768")
    version = get_version(ctx, ref)
    max_new = int(max_tokens or (version.generation_config or {}).get("max_tokens", 64))
    ask, where = _predictor(ctx, version, max_new)
    outputs = [ask(prompt) for prompt in prompts]
    log = inference_log.record(
        ctx,
        version,
        list(zip(prompts, outputs, strict=True)),
        source="generate",
        classification=classification,
        details={"via": where},
    )
    return [
        {
            "model": version.ref,
            "prompt": prompt,
            "output": output,
            "via": where,
            "log_asset_id": log.id if log else None,
        }
        for prompt, output in zip(prompts, outputs, strict=True)
    ]
