"""Custom checkpoints: a local file or directory pinned by a manifest of its files' sha256.

The manifest (relative path, size, sha256 per file, sorted) is hashed canonically; that digest is
the pin. ``verify`` recomputes it, so a changed or missing file is detected before use. Symbolic
links are refused: a checkpoint must not silently point outside itself.
"""

from __future__ import annotations

import hashlib
import os
from pathlib import Path
from typing import Any

from shifty_ent.core.canonical import canonical_json, sha256_hex
from shifty_ent.core.errors import Conflict, InvalidInput, NotFound
from shifty_ent.model.sources import Pin

CHUNK = 1 << 20


def _file_sha256(path: Path) -> str:
    h = hashlib.sha256()
    with path.open("rb") as fh:
        while chunk := fh.read(CHUNK):
            h.update(chunk)
    return h.hexdigest()


def manifest(path: Path) -> list[dict[str, Any]]:
    """Every regular file below ``path`` (or ``path`` itself) with size and sha256."""
    if path.is_symlink():
        raise InvalidInput(f"checkpoint {path} is a symbolic link; give the real path")
    if path.is_file():
        return [{"path": path.name, "size": path.stat().st_size, "sha256": _file_sha256(path)}]
    if not path.is_dir():
        raise NotFound(f"checkpoint {path} does not exist")
    files: list[dict[str, Any]] = []
    for root, dirs, names in os.walk(path):
        dirs.sort()
        for name in sorted(names):
            full = Path(root) / name
            rel = full.relative_to(path).as_posix()
            if full.is_symlink():
                raise InvalidInput(f"checkpoint {path} contains a symbolic link: {rel}")
            if not full.is_file():
                continue
            files.append({"path": rel, "size": full.stat().st_size, "sha256": _file_sha256(full)})
    if not files:
        raise InvalidInput(f"checkpoint directory {path} holds no files")
    files.sort(key=lambda f: f["path"])
    return files


def digest(files: list[dict[str, Any]]) -> str:
    return sha256_hex(canonical_json(files))


def resolve(source_id: str) -> Pin:
    raw = (source_id or "").strip()
    if raw.startswith("file://"):
        raw = raw[len("file://") :]
    if not raw:
        raise InvalidInput("--source-id must be a local checkpoint file or directory")
    path = Path(os.path.abspath(os.path.expanduser(raw)))
    files = manifest(path)
    dig = digest(files)
    total = sum(f["size"] for f in files)
    meta = {
        "path": str(path),
        "kind": "file" if path.is_file() else "directory",
        "files": files,
        "file_count": len(files),
        "total_size": total,
        "manifest_sha256": dig,
    }
    return Pin(
        source="custom",
        source_id=str(path),
        pinned_revision=f"sha256:{dig}",
        meta=meta,
        size_bytes=total,
    )


def verify(source_id: str, pinned_revision: str) -> Path:
    """The checkpoint path, after checking it still matches its pin (Conflict when not)."""
    pin = resolve(source_id)
    if pin.pinned_revision != pinned_revision:
        raise Conflict(
            f"checkpoint {source_id} changed since it was registered "
            f"(pinned {pinned_revision[:19]}, now {pin.pinned_revision[:19]})"
        )
    return Path(pin.source_id)
