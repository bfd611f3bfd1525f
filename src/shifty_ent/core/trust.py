"""Which signing keys a verifier trusts.

A valid signature proves only that *some* key signed; an attacker can re-sign a forged
certificate with a key of their own and embed it. So a signature counts only when its key is
trusted, by one of (in this order):

1. a pin given for this check (``--fingerprint``, ``--public-key``): then nothing else counts;
2. the trust file (``report trust add|remove|list``): ``trusted_keys.json`` in the config dir;
3. the keys registered in the store this command is configured for (read only; a store that does
   not exist yet is not created).
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from shifty_ent.core import outfiles
from shifty_ent.core.asking import Confirm, ask
from shifty_ent.core.config import Settings
from shifty_ent.core.errors import InvalidInput, NotFound
from shifty_ent.core.signing import b64decode_strict, fingerprint_of

TRUST_FILE = "trusted_keys.json"
FINGERPRINT_HEX = 64


def normalize_fingerprint(value: str) -> str:
    """``SHA256:<64 hex>`` in lower case; a bare hex digest is accepted."""
    text = value.strip()
    hexpart = text[7:] if text.upper().startswith("SHA256:") else text
    hexpart = hexpart.lower()
    if len(hexpart) != FINGERPRINT_HEX or any(c not in "0123456789abcdef" for c in hexpart):
        raise InvalidInput(f"{value!r} is not a key fingerprint (SHA256: and 64 hex digits)")
    return "SHA256:" + hexpart


def trust_path(settings: Settings) -> Path:
    return settings.config_dir / TRUST_FILE


def _read(path: Path) -> dict[str, dict[str, Any]]:
    if not path.is_file():
        return {}
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError) as exc:
        raise InvalidInput(f"trust file {path} is not readable JSON: {exc}") from None
    keys = data.get("keys") if isinstance(data, dict) else None
    if not isinstance(keys, list):
        raise InvalidInput(f"trust file {path} has no 'keys' list")
    return {k["fingerprint"]: k for k in keys if isinstance(k, dict) and "fingerprint" in k}


def _write(path: Path, entries: dict[str, dict[str, Any]]) -> None:
    outfiles.private_dir(path.parent)
    body = json.dumps({"keys": sorted(entries.values(), key=lambda e: e["fingerprint"])}, indent=2)
    outfiles.write_file(path, (body + "\n").encode(), force=True, flag="trust file")


def public_key_from(source: str) -> str | None:
    """A base64 Ed25519 public key named by ``source``: the key itself, or a file holding it
    (bare base64, a report ``.sig`` envelope, or an exported certificate)."""
    path = Path(source).expanduser()
    text = source
    if path.is_file():
        try:
            text = path.read_text(encoding="utf-8").strip()
        except (OSError, UnicodeDecodeError) as exc:
            raise InvalidInput(f"cannot read {path}: {exc}") from None
        if text.startswith("{"):
            try:
                doc = json.loads(text)
            except ValueError:
                raise InvalidInput(f"{path} is not JSON nor a base64 key") from None
            key = doc.get("public_key") if isinstance(doc, dict) else None
            if not isinstance(key, str):
                raise InvalidInput(f"{path} holds no public_key")
            text = key
    try:
        raw = b64decode_strict(text.strip())
    except (ValueError, TypeError):
        return None
    return text.strip() if len(raw) == 32 else None


def add(settings: Settings, source: str, *, label: str | None = None) -> dict[str, Any]:
    """Trust a key given as a fingerprint, a base64 public key or a file that holds one."""
    key = public_key_from(source)
    fp = fingerprint_of(key) if key else normalize_fingerprint(source)
    path = trust_path(settings)
    entries = _read(path)
    entry = {
        "fingerprint": fp,
        "public_key": key,
        "label": label,
        "added_at": datetime.now(UTC).isoformat(),
    }
    entries[fp] = {**entry, **{k: v for k, v in entries.get(fp, {}).items() if v is not None}}
    _write(path, entries)
    return {**entries[fp], "trust_file": str(path)}


def remove(settings: Settings, source: str, *, confirm: Confirm | None = None) -> dict[str, Any]:
    """Drop a key from the trust file; ``confirm`` runs once the key is found there."""
    key = public_key_from(source)
    fp = fingerprint_of(key) if key else normalize_fingerprint(source)
    path = trust_path(settings)
    entries = _read(path)
    if fp not in entries:
        raise NotFound(f"{fp} is not in the trust file {path}")
    ask(confirm)
    gone = entries.pop(fp)
    _write(path, entries)
    return {**gone, "removed": True}


def listing(settings: Settings) -> list[dict[str, Any]]:
    rows = [{**e, "source": "trust file"} for e in _read(trust_path(settings)).values()]
    rows += [
        {"fingerprint": fp, "public_key": None, "label": None, "source": "store"}
        for fp in sorted(store_fingerprints(settings))
    ]
    return rows


def file_fingerprints(settings: Settings) -> set[str]:
    """Keys in this account's trust file."""
    return set(_read(trust_path(settings)))


def store_fingerprints(settings: Settings) -> set[str]:
    """Keys registered in the configured store; nothing when it does not exist or cannot be
    read (verification needs no database, and never creates one)."""
    from shifty_ent.core import store

    path = store.sqlite_path(settings.database_url)
    if settings.database_url.startswith("sqlite") and (path is None or not path.is_file()):
        return set()
    try:
        from sqlalchemy import text

        engine = store.get_engine(settings.database_url)
        with engine.connect() as conn:
            return {row[0] for row in conn.execute(text("SELECT fingerprint FROM signing_keys"))}
    except Exception:
        return set()


@dataclass
class TrustSet:
    """The keys one verification accepts, and why."""

    pinned: set[str] = field(default_factory=set)
    trusted: set[str] = field(default_factory=set)

    def check(self, fingerprint: str | None) -> tuple[bool, str]:
        if fingerprint is None:
            return False, "the signature names no key"
        fp = normalize_fingerprint(fingerprint)
        if self.pinned:
            if fp in self.pinned:
                return True, "pinned"
            return False, f"signed by {fp}, not the pinned key {', '.join(sorted(self.pinned))}"
        if fp in self.trusted:
            return True, "trusted"
        return False, (
            f"signed by an untrusted key {fp} (pin it with --fingerprint, or trust it with "
            "'shifty-ent report trust add')"
        )


def trust_set(
    settings: Settings, *, fingerprint: str | None = None, public_key: str | None = None
) -> TrustSet:
    pins = set()
    if fingerprint:
        pins.add(normalize_fingerprint(fingerprint))
    if public_key:
        key = public_key_from(public_key)
        if key is None:
            raise InvalidInput(
                "--public-key is not an Ed25519 public key (base64) or a file with one"
            )
        pins.add(fingerprint_of(key))
    if pins:
        return TrustSet(pinned=pins)
    return TrustSet(trusted=set(_read(trust_path(settings))) | store_fingerprints(settings))
