"""Pinning a source: resolve a model reference to an immutable revision (network or disk).

Each source lives in :mod:`shifty_ent.model.sources` and is imported only when used: they pull in
the Hugging Face Hub, Ollama and S3 clients.
"""

from __future__ import annotations

from shifty_ent.core.context import Context
from shifty_ent.core.errors import InvalidInput
from shifty_ent.model.sources import Pin, ProgressFn
from shifty_ent.model.tables import SOURCES


def pin_source(
    ctx: Context,
    source: str,
    source_id: str,
    *,
    revision: str | None = None,
    pull: bool = False,
    progress: ProgressFn | None = None,
) -> Pin:
    """Resolve the source to an immutable pin (network or disk; holds no database lock)."""
    if source == "huggingface":
        from shifty_ent.model.sources import huggingface

        return huggingface.resolve(ctx.settings, source_id, revision)
    if source == "ollama":
        from shifty_ent.model.sources import ollama

        if revision:
            raise InvalidInput("--revision does not apply to Ollama; put the tag in the name")
        return ollama.resolve(ctx.settings, source_id, do_pull=pull, progress=progress)
    if source == "s3":
        from shifty_ent.model.sources import s3

        return s3.resolve(ctx.settings, source_id, revision)
    if source == "custom":
        from shifty_ent.model.sources import custom

        if revision:
            raise InvalidInput("--revision does not apply to a custom checkpoint")
        return custom.resolve(source_id)
    raise InvalidInput(f"--source must be one of {', '.join(SOURCES)}")
