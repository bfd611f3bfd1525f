"""Model sources: each module resolves a user-given id to an immutable pin.

A :class:`Pin` is what a version stores: the normalised source id, the revision that makes it
immutable (a Hub commit sha, an Ollama manifest digest, an S3 version id or ETag, the sha256 of a
checkpoint manifest) and the metadata read while pinning. Each source is one small client module
constructed from settings, so tests point it at a loopback fake by URL.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

# (status, completed bytes, total bytes) while a source downloads something
ProgressFn = Callable[[str, int | None, int | None], None]


@dataclass
class Pin:
    source: str
    source_id: str
    pinned_revision: str
    requested_revision: str | None = None
    meta: dict[str, Any] = field(default_factory=dict)
    size_bytes: int | None = None
