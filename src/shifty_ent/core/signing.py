"""The installation's Ed25519 signing key, and signatures over canonical JSON.

The private key lives in a PEM file (mode 0600) in the data dir or at ``SHIFTY_SIGNING_KEY``. Its
public half and fingerprint are stored in ``signing_keys``, so anyone holding the database (or an
exported document that embeds the public key) can verify what this installation signed.
"""

from __future__ import annotations

import base64
import hashlib
import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey
from sqlmodel import Session, col

from shifty_ent.core import outfiles
from shifty_ent.core.canonical import canonical_json
from shifty_ent.core.clock import now
from shifty_ent.core.errors import InvalidInput
from shifty_ent.core.tables import SigningKey


@dataclass(frozen=True)
class KeyPair:
    private: Ed25519PrivateKey
    public_b64: str
    fingerprint: str
    path: Path


def _raw_public(key: Ed25519PublicKey) -> bytes:
    return key.public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw)


def b64decode_strict(text: str) -> bytes:
    """Decode canonical base64 only: no characters outside the alphabet, correct padding, and
    zero padding bits, so two different strings never decode to the same signature or key
    (a changed file must never verify)."""
    if not isinstance(text, str):
        raise TypeError("base64 value must be text")
    raw = base64.b64decode(text, validate=True)
    if base64.b64encode(raw).decode("ascii") != text:
        raise ValueError("base64 is not in canonical form")
    return raw


def fingerprint_of(public_b64: str) -> str:
    """``SHA256:`` + hex digest of the raw 32-byte public key."""
    return "SHA256:" + hashlib.sha256(b64decode_strict(public_b64)).hexdigest()


def load_or_create_key(path: Path) -> tuple[KeyPair, bool]:
    """Load the PEM key at ``path``, creating it (0600, exclusive) if missing."""
    created = False
    if not path.exists():
        outfiles.private_dir(path.parent)
        key = Ed25519PrivateKey.generate()
        pem = key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )
        try:
            fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        except FileExistsError:  # another process won the race: use its key
            return load_or_create_key(path)
        with os.fdopen(fd, "wb") as fh:
            fh.write(pem)
            fh.flush()
            os.fsync(fh.fileno())
        created = True
    try:
        loaded = serialization.load_pem_private_key(path.read_bytes(), password=None)
    except (ValueError, TypeError) as exc:
        raise InvalidInput(f"signing key {path} is not a readable PEM private key: {exc}") from None
    if not isinstance(loaded, Ed25519PrivateKey):
        raise InvalidInput(f"signing key {path} is not an Ed25519 key")
    public_b64 = base64.b64encode(_raw_public(loaded.public_key())).decode()
    return KeyPair(loaded, public_b64, fingerprint_of(public_b64), path), created


def register_key(session: Session, pair: KeyPair, actor: str) -> bool:
    """Record the public key in the store; returns whether this call inserted it.

    ``INSERT ... ON CONFLICT DO NOTHING``: two processes signing for the first time at once (two
    sweeps on a shared PostgreSQL) both succeed, and exactly one of them records the key.
    """
    from sqlalchemy.dialects.postgresql import insert as pg_insert
    from sqlalchemy.dialects.sqlite import insert as sqlite_insert

    insert = pg_insert if session.get_bind().dialect.name == "postgresql" else sqlite_insert
    result = session.execute(
        insert(SigningKey)
        .values(
            fingerprint=pair.fingerprint,
            algorithm="Ed25519",
            public_key=pair.public_b64,
            created_at=now(),
            created_by=actor,
        )
        .on_conflict_do_nothing(index_elements=["fingerprint"])
        .returning(col(SigningKey.fingerprint))
    )
    # RETURNING, not rowcount: PostgreSQL's driver reports -1 for this statement through the ORM,
    # which read as "inserted" and logged one more registration event per signing
    return result.first() is not None


def sign(pair: KeyPair, document: Any) -> str:
    """Base64 Ed25519 signature over the RFC 8785 form of ``document``."""
    return base64.b64encode(pair.private.sign(canonical_json(document))).decode()


def verify(document: Any, signature_b64: str, public_b64: str) -> bool:
    try:
        key = Ed25519PublicKey.from_public_bytes(b64decode_strict(public_b64))
        key.verify(b64decode_strict(signature_b64), canonical_json(document))
    except (InvalidSignature, ValueError, TypeError):
        return False
    return True


def verify_bytes(data: bytes, signature_b64: str, public_b64: str) -> bool:
    """Verify a detached signature over raw bytes (report files)."""
    try:
        key = Ed25519PublicKey.from_public_bytes(b64decode_strict(public_b64))
        key.verify(b64decode_strict(signature_b64), data)
    except (InvalidSignature, ValueError, TypeError):
        return False
    return True


def sign_bytes(pair: KeyPair, data: bytes) -> str:
    return base64.b64encode(pair.private.sign(data)).decode()


def known_public_key(session: Session, fingerprint: str) -> str | None:
    row = session.get(SigningKey, fingerprint)
    return row.public_key if row else None
