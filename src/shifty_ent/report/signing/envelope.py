"""Detached Ed25519 signatures for report files (``FILE.sig``), checkable without the database.

The signature covers a *statement*: the report's metadata plus the SHA-256 and size of the exact
file bytes, serialised as RFC 8785 canonical JSON and prefixed with a domain tag so that a report
signature can never be replayed as a certificate or audit signature (or the reverse). Changing
any byte of the file changes its hash; changing the statement breaks the signature; swapping in
another key changes the fingerprint, which a verifier pins with ``--fingerprint``.
"""

from __future__ import annotations

import base64
import hashlib
import io
import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO, Any, TypeGuard

from shifty_ent.core import outfiles
from shifty_ent.core.canonical import canonical_json
from shifty_ent.core.signing import KeyPair, fingerprint_of, verify_bytes
from shifty_ent.report.document import SIGNED_META_KEYS

SIG_SCHEMA = "shifty-ent.report-signature/v1"
DOMAIN = b"shifty-ent-report-v1\n"
SIG_SUFFIX = ".sig"


def file_digest(path: Path) -> tuple[str, int]:
    """SHA-256 hex and size of a file, read in chunks."""
    digest = hashlib.sha256()
    size = 0
    with path.open("rb") as fh:
        while chunk := fh.read(1 << 20):
            digest.update(chunk)
            size += len(chunk)
    return digest.hexdigest(), size


class DigestingWriter(io.BufferedIOBase):
    """Passes bytes on to ``sink`` while taking their SHA-256 and size, so a report is hashed
    as it is written instead of read back afterwards (a million-row report is 100+ MB)."""

    def __init__(self, sink: IO[bytes]) -> None:
        super().__init__()
        self.sink = sink
        self._digest = hashlib.sha256()
        self.size = 0

    def writable(self) -> bool:
        return True

    def write(self, data: Any) -> int:
        view = memoryview(data)
        self._digest.update(view)
        self.size += view.nbytes
        self.sink.write(view)
        return view.nbytes

    def flush(self) -> None:
        self.sink.flush()

    def hexdigest(self) -> str:
        return self._digest.hexdigest()


def signed_bytes(statement: dict[str, Any]) -> bytes:
    return DOMAIN + canonical_json(statement)


def make_envelope(pair: KeyPair, statement: dict[str, Any]) -> dict[str, Any]:
    """The ``.sig`` document for ``statement`` (which must hold content_sha256)."""
    statement = dict(statement, key_fingerprint=pair.fingerprint)
    signature = base64.b64encode(pair.private.sign(signed_bytes(statement))).decode()
    return {
        "schema": SIG_SCHEMA,
        "algorithm": "Ed25519",
        "statement": statement,
        "content_sha256": statement["content_sha256"],
        "key_fingerprint": pair.fingerprint,
        "public_key": pair.public_b64,
        "signature": signature,
    }


def sig_path_for(path: Path) -> Path:
    return path.with_name(path.name + SIG_SUFFIX)


def write_envelope(path: Path, envelope: dict[str, Any], *, force: bool = False) -> Path:
    """Write ``FILE.sig`` beside ``path`` (checked and written like every output file)."""
    body = (json.dumps(envelope, indent=2, sort_keys=True) + "\n").encode("utf-8")
    return outfiles.write_file(sig_path_for(path), body, force=force)


def is_envelope(doc: Any) -> TypeGuard[dict[str, Any]]:
    return isinstance(doc, dict) and doc.get("schema") == SIG_SCHEMA


@dataclass
class Verification:
    """Outcome of checking one file against its envelope."""

    file: str
    kind: str
    ok: bool
    reason: str
    content_sha256: str | None = None
    key_fingerprint: str | None = None
    key_pinned: bool = False
    details: dict[str, Any] = field(default_factory=dict)

    def public(self) -> dict[str, Any]:
        return {
            "file": self.file,
            "kind": self.kind,
            "ok": self.ok,
            "reason": self.reason,
            "content_sha256": self.content_sha256,
            "key_fingerprint": self.key_fingerprint,
            "key_pinned": self.key_pinned,
            **self.details,
        }


def verify_envelope(
    path: Path, envelope: dict[str, Any], *, fingerprint: str | None = None
) -> Verification:
    """Check ``path`` against ``envelope``; every failure names what did not match."""
    statement = envelope.get("statement")
    public_key = envelope.get("public_key")
    signature = envelope.get("signature")
    result = Verification(file=str(path), kind="report", ok=False, reason="")
    if not isinstance(statement, dict) or not isinstance(public_key, str) or not signature:
        result.reason = "signature file is incomplete (statement, public_key or signature missing)"
        return result
    result.details = {k: statement.get(k) for k in SIGNED_META_KEYS}
    try:
        actual_fp = fingerprint_of(public_key)
    except (ValueError, TypeError):
        result.reason = "signature file holds an unreadable public key"
        return result
    result.key_fingerprint = actual_fp
    if statement.get("key_fingerprint") != actual_fp or envelope.get("key_fingerprint") not in (
        None,
        actual_fp,
    ):
        result.reason = "the public key does not match the fingerprint in the signed statement"
        return result
    if fingerprint is not None:
        wanted = fingerprint if fingerprint.startswith("SHA256:") else "SHA256:" + fingerprint
        if wanted.lower() != actual_fp.lower():
            result.reason = f"signed by key {actual_fp}, not the pinned key {wanted}"
            return result
        result.key_pinned = True
    digest, size = file_digest(path)
    result.content_sha256 = digest
    if digest != statement.get("content_sha256") or size != statement.get("size_bytes"):
        result.reason = (
            f"the file was changed after signing: its SHA-256 {digest[:16]}... does not "
            f"match the signed {str(statement.get('content_sha256'))[:16]}..."
        )
        return result
    if not verify_bytes(signed_bytes(statement), str(signature), public_key):
        result.reason = "the signature does not match the signed statement"
        return result
    result.ok = True
    result.reason = "signature valid; content unchanged since signing"
    return result
