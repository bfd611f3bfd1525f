"""The tenant vault: files encrypted from their first write, so they can be purged by key erasure.

- Each tenant has a 256-bit key-encryption key (KEK) in ``<vault>/<tenant>/tenant.kek`` (0600),
  or, with ``vault_kms = "aws"``, a KEK that AWS KMS generated and keeps wrapped
  (``tenant.kms``, see ``vault_kms.py``): one KMS key per key epoch.
- Each vault asset has its own AES-256 data key (DEK), stored only wrapped (AES-256-GCM under the
  KEK) in ``data_vault_keys``; destroying that row's ``wrapped_key`` is the cryptographic erase.
- Contents are a chunked AES-256-GCM stream: ``MAGIC | 8-byte nonce prefix`` then records
  ``u32 length | ciphertext+tag`` of at most 1 MiB of plaintext each. The nonce of chunk ``i`` is
  ``prefix || u32(i)``; the associated data binds the asset id and marks the final chunk, so
  reordering, truncation and splicing between files all fail authentication.

Archives (``archive.py``) use the same stream with the wrapped DEK in their header instead.

Key rotation (``data vault rotate-key``, ``vault_keys.py``) rewraps every DEK under a new KEK.
Keys that are not current live in ``keys/<id>.kek`` until nothing refers to them, so every
wrapped key names (``kek_id``) a key that exists, whatever step a rotation stopped at. Whoever
wraps a DEK holds a shared lock on ``.keys.lock`` until the wrapped key is stored (committed, or
the archive renamed into place); a rotation holds it exclusively.
"""

from __future__ import annotations

import base64
import fcntl
import hashlib
import io
import os
import secrets
import stat
import struct
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any, BinaryIO

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM

from shifty_ent.core import infiles, outfiles
from shifty_ent.core.config import Settings
from shifty_ent.core.errors import InvalidInput, Refused
from shifty_ent.data import vault_kms

MAGIC = b"SHIFTYV1"
CHUNK = 1024 * 1024
_LEN = struct.Struct(">I")


def tenant_vault_dir(settings: Settings, tenant_id: uuid.UUID) -> Path:
    return settings.vault_dir / str(tenant_id)


def vault_uri(tenant_id: uuid.UUID, asset_id: uuid.UUID) -> str:
    return f"vault://{tenant_id}/{asset_id}"


def vault_file(settings: Settings, tenant_id: uuid.UUID, asset_id: uuid.UUID) -> Path:
    return tenant_vault_dir(settings, tenant_id) / f"{asset_id}.vault"


PARTIAL_SUFFIX = ".vault.partial"


def partial_file(settings: Settings, tenant_id: uuid.UUID, asset_id: uuid.UUID) -> Path:
    """Where :func:`encrypt_file_into_vault` writes, until the ingest that stores its key renames
    it to :func:`vault_file`; one left by a killed ingest is removed by ``data sweep``."""
    return tenant_vault_dir(settings, tenant_id) / f".{asset_id}{PARTIAL_SUFFIX}"


def kek_path(settings: Settings, tenant_id: uuid.UUID) -> Path:
    return tenant_vault_dir(settings, tenant_id) / "tenant.kek"


def kms_path(settings: Settings, tenant_id: uuid.UUID) -> Path:
    """The current epoch's KEK as AWS KMS ciphertext (``vault_kms = "aws"``, see ``vault_kms``)."""
    return tenant_vault_dir(settings, tenant_id) / "tenant.kms"


def load_kek(settings: Settings, tenant_id: uuid.UUID, *, create: bool) -> tuple[bytes, str]:
    """The tenant's current KEK and its id, created on first use when ``create``: by AWS KMS
    when ``vault_kms`` is set, else a local file (0600, created exclusively)."""
    kms = kms_path(settings, tenant_id)
    if kms.exists():
        return _open_kms(settings, tenant_id, kms)
    path = kek_path(settings, tenant_id)
    if not path.exists():
        if not create:
            raise Refused(f"the tenant key {path} is missing: vault data cannot be decrypted")
        if settings.vault_kms:
            return _create_kms_epoch(settings, tenant_id)
        outfiles.private_dir(path.parent)
        try:
            fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_CLOEXEC, 0o600)
        except FileExistsError:
            return load_kek(settings, tenant_id, create=False)
        with os.fdopen(fd, "wb") as fh:
            fh.write(secrets.token_bytes(32))
            fh.flush()
            os.fsync(fh.fileno())
    key = path.read_bytes()
    if len(key) != 32:
        raise Refused(f"the tenant key {path} is damaged (expected 32 bytes)")
    return key, kek_id(key)


def new_epoch_key(settings: Settings, tenant_id: uuid.UUID) -> tuple[bytes, str, bytes | None]:
    """A new KEK for a new key epoch: (key, id, KMS record to store, or None for a local key)."""
    if not settings.vault_kms and not kms_path(settings, tenant_id).exists():
        key = secrets.token_bytes(32)
        return key, kek_id(key), None
    key, record = vault_kms.new_epoch(settings, tenant_id)
    record["kek_id"] = kek_id(key)
    return key, record["kek_id"], vault_kms.record_bytes(record)


def _create_kms_epoch(settings: Settings, tenant_id: uuid.UUID) -> tuple[bytes, str]:
    key, kid, record = new_epoch_key(settings, tenant_id)
    assert record is not None  # settings.vault_kms is set
    target = kms_path(settings, tenant_id)
    tmp = target.with_name(f".{target.name}.{secrets.token_hex(4)}")
    write_key_file(tmp, record)
    try:
        os.link(tmp, target)  # first writer wins; a loser's KMS key is never used
    except FileExistsError:
        vault_kms.destroy(settings, vault_kms.read_record(tmp))
        return load_kek(settings, tenant_id, create=False)
    finally:
        tmp.unlink(missing_ok=True)
    fsync_dir(target.parent)
    return key, kid


_KMS_CACHE: dict[tuple[str, str], bytes] = {}


def _open_kms(settings: Settings, tenant_id: uuid.UUID, path: Path) -> tuple[bytes, str]:
    record = vault_kms.read_record(path)
    cached = (record["kms_key_id"], record["blob"])
    key = _KMS_CACHE.get(cached)
    if key is None:
        key = vault_kms.open_record(settings, tenant_id, record)
        if len(key) != 32 or kek_id(key) != record.get("kek_id"):
            raise Refused(f"the vault key record {path} does not match what AWS KMS returned")
        _KMS_CACHE[cached] = key
    return key, kek_id(key)


def current_kek_id(settings: Settings, tenant_id: uuid.UUID) -> str | None:
    """The current epoch's KEK id, read without asking KMS; None when the tenant has none."""
    kms = kms_path(settings, tenant_id)
    if kms.exists():
        return str(vault_kms.read_record(kms).get("kek_id"))
    path = kek_path(settings, tenant_id)
    try:
        key = path.read_bytes()
    except FileNotFoundError:
        return None
    if len(key) != 32:
        raise Refused(f"the tenant key {path} is damaged (expected 32 bytes)")
    return kek_id(key)


def kek_holder(settings: Settings, tenant_id: uuid.UUID, kid: str | None) -> dict[str, Any] | None:
    """Where this installation still holds the KEK ``kid`` (a local file, or a KMS record whose
    key KMS still has), or None once its epoch is closed and the key destroyed. A key record
    that cannot be read counts as held (``unreadable``): nothing is claimed gone unchecked."""
    try:
        return _holder(settings, tenant_id, kid)
    except (Refused, OSError) as exc:
        return {
            "kind": "unreadable",
            "location": str(tenant_vault_dir(settings, tenant_id)),
            "error": getattr(exc, "message", None) or str(exc),
        }


def _holder(settings: Settings, tenant_id: uuid.UUID, kid: str | None) -> dict[str, Any] | None:
    current = current_kek_id(settings, tenant_id)
    if kid is None or kid == current:
        kms = kms_path(settings, tenant_id)
        if kms.exists():
            record = vault_kms.read_record(kms)
            return {"kind": vault_kms.KIND, "location": str(kms), **_kms_fields(settings, record)}
        if current is not None:
            return {"kind": "local_file", "location": str(kek_path(settings, tenant_id))}
    if kid is None:
        return None
    kept = key_file(settings, tenant_id, kid)
    if kept.exists():
        return {"kind": "local_file", "location": str(kept)}
    kept = kept.with_suffix(".kms")
    if kept.exists():
        record = vault_kms.read_record(kept)
        return {"kind": vault_kms.KIND, "location": str(kept), **_kms_fields(settings, record)}
    return None


def _kms_fields(settings: Settings, record: dict[str, Any]) -> dict[str, Any]:
    return {
        "kms_key_id": record.get("kms_key_id"),
        "kms_key_arn": record.get("kms_key_arn"),
        **vault_kms.key_state(settings, record),
    }


def kek_id(key: bytes) -> str:
    return "kek:" + hashlib.sha256(b"shifty-ent kek id\n" + key).hexdigest()[:32]


def keys_dir(settings: Settings, tenant_id: uuid.UUID) -> Path:
    """Where the tenant's keys other than the current one wait until nothing refers to them."""
    return tenant_vault_dir(settings, tenant_id) / "keys"


def key_file(settings: Settings, tenant_id: uuid.UUID, kid: str) -> Path:
    return keys_dir(settings, tenant_id) / f"{kid.removeprefix('kek:')}.kek"


def write_key_file(path: Path, key: bytes) -> None:
    """Write a key durably (0600, fsynced file and directory); an existing file is replaced."""
    outfiles.private_dir(path.parent)
    tmp = path.with_name(f".{path.name}.{secrets.token_hex(4)}")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_CLOEXEC, 0o600)
    with os.fdopen(fd, "wb") as fh:
        fh.write(key)
        fh.flush()
        os.fsync(fh.fileno())
    os.replace(tmp, path)
    fsync_dir(path.parent)


def fsync_dir(path: Path) -> None:
    dir_fd = os.open(path, os.O_RDONLY | os.O_DIRECTORY)
    try:
        os.fsync(dir_fd)
    finally:
        os.close(dir_fd)


def kek_by_id(settings: Settings, tenant_id: uuid.UUID, kid: str | None) -> bytes:
    """The KEK that wrapped a data key: the current one, or one kept in ``keys/`` (a local
    ``.kek`` file, or a ``.kms`` record that AWS KMS decrypts)."""
    current, current_id = load_kek(settings, tenant_id, create=False)
    if kid is None or kid == current_id:
        return current
    path = key_file(settings, tenant_id, kid)
    if not path.exists() and path.with_suffix(".kms").exists():
        key, found = _open_kms(settings, tenant_id, path.with_suffix(".kms"))
        if found != kid:
            raise Refused(f"the vault key record {path.with_suffix('.kms')} is damaged")
        return key
    try:
        key = path.read_bytes()
    except FileNotFoundError:
        raise Refused(
            f"the tenant key {kid} is gone: what it wrapped cannot be decrypted"
        ) from None
    if len(key) != 32 or kek_id(key) != kid:
        raise Refused(f"the tenant key file {path} is damaged")
    return key


@contextmanager
def key_lock(
    settings: Settings, tenant_id: uuid.UUID, *, exclusive: bool = False
) -> Iterator[None]:
    """Shared while a DEK is wrapped and stored, exclusive while the KEK is rotated."""
    folder = tenant_vault_dir(settings, tenant_id)
    outfiles.private_dir(folder)
    fd = os.open(folder / ".keys.lock", os.O_RDWR | os.O_CREAT | os.O_CLOEXEC, 0o600)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX if exclusive else fcntl.LOCK_SH)
        yield
    finally:
        os.close(fd)


def wrap_key(kek: bytes, dek: bytes, aad: bytes) -> str:
    nonce = secrets.token_bytes(12)
    return base64.b64encode(nonce + AESGCM(kek).encrypt(nonce, dek, aad)).decode()


def unwrap_key(kek: bytes, wrapped: str, aad: bytes) -> bytes:
    raw = base64.b64decode(wrapped)
    try:
        return AESGCM(kek).decrypt(raw[:12], raw[12:], aad)
    except InvalidTag:
        raise Refused("the wrapped data key does not open with the tenant key") from None


def _aad(binding: bytes, final: bool) -> bytes:
    return binding + (b"\x01" if final else b"\x00")


class EncryptingWriter:
    """A write-only file object that encrypts into ``out`` as a chunked AES-GCM stream."""

    def __init__(self, out: BinaryIO, dek: bytes, binding: bytes) -> None:
        self._out = out
        self._aead = AESGCM(dek)
        self._binding = binding
        self._prefix = secrets.token_bytes(8)
        self._buf = bytearray()
        self._index = 0
        self.plain_bytes = 0
        self.plain_sha256 = hashlib.sha256()
        out.write(MAGIC + self._prefix)

    def write(self, data: bytes) -> int:
        self._buf += data
        self.plain_bytes += len(data)
        self.plain_sha256.update(data)
        while len(self._buf) > CHUNK:
            self._emit(bytes(self._buf[:CHUNK]), final=False)
            del self._buf[:CHUNK]
        return len(data)

    def _emit(self, chunk: bytes, *, final: bool) -> None:
        nonce = self._prefix + struct.pack(">I", self._index)
        sealed = self._aead.encrypt(nonce, chunk, _aad(self._binding, final))
        self._out.write(_LEN.pack(len(sealed)) + sealed)
        self._index += 1

    def close(self) -> None:
        self._emit(bytes(self._buf), final=True)
        self._buf.clear()

    def flush(self) -> None:  # tarfile calls it
        return None


def decrypt_stream(src: io.BufferedReader[Any], dek: bytes, binding: bytes) -> Iterator[bytes]:
    """Plaintext chunks of a stream written by :class:`EncryptingWriter`; raises on tampering."""
    head = src.read(len(MAGIC) + 8)
    if len(head) != len(MAGIC) + 8 or not head.startswith(MAGIC):
        raise InvalidInput("not a shifty-ent encrypted stream")
    aead, prefix, index = AESGCM(dek), head[len(MAGIC) :], 0
    while True:
        raw_len = src.read(4)
        if len(raw_len) != 4:
            raise InvalidInput("encrypted stream is truncated")
        (length,) = _LEN.unpack(raw_len)
        sealed = src.read(length)
        if len(sealed) != length:
            raise InvalidInput("encrypted stream is truncated")
        nonce = prefix + struct.pack(">I", index)
        final = not src.peek(1)
        try:
            plain = aead.decrypt(nonce, sealed, _aad(binding, final))
        except InvalidTag:
            raise InvalidInput(
                "encrypted stream failed authentication (changed, truncated or wrong key)"
            ) from None
        yield plain
        index += 1
        if final:
            return


def encrypt_file_into_vault(
    settings: Settings, tenant_id: uuid.UUID, asset_id: uuid.UUID, source: Path
) -> tuple[bytes, int, str]:
    """Encrypt ``source`` into the vault's :func:`partial_file`; returns (DEK, size, sha256 of
    plaintext).

    The file is created exclusively (0600) and fsynced, as is its directory. The caller wraps
    the DEK with :func:`wrap_key` under :func:`key_lock`, stores it, and renames the file to
    :func:`vault_file` before committing.
    """
    try:
        src_fd = infiles.open_regular(source, "source")
    except OSError as exc:
        raise InvalidInput(f"cannot read {source}: {exc.strerror}") from None
    dek = secrets.token_bytes(32)
    binding = asset_id.bytes
    target = partial_file(settings, tenant_id, asset_id)
    try:
        outfiles.private_dir(target.parent)
        st = os.fstat(src_fd)
        if not stat.S_ISREG(st.st_mode):
            raise InvalidInput(f"{source} is not a regular file")
        fd = os.open(target, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_CLOEXEC, 0o600)
        try:
            with (
                os.fdopen(fd, "wb", buffering=CHUNK) as out,
                os.fdopen(src_fd, "rb", buffering=0, closefd=False) as src,
            ):
                writer = EncryptingWriter(out, dek, binding)
                while chunk := src.read(CHUNK):
                    writer.write(chunk)
                writer.close()
                out.flush()
                os.fsync(out.fileno())
        except BaseException:
            target.unlink(missing_ok=True)
            raise
        fsync_dir(target.parent)
    finally:
        os.close(src_fd)
    return dek, writer.plain_bytes, writer.plain_sha256.hexdigest()


def read_vault(
    settings: Settings,
    tenant_id: uuid.UUID,
    asset_id: uuid.UUID,
    wrapped: str | None,
    kid: str | None = None,
) -> Iterator[bytes]:
    """Plaintext of a vault asset (refused once its key was destroyed)."""
    if not wrapped:
        raise Refused(f"the data key of vault asset {asset_id} was destroyed; it cannot be read")
    with key_lock(settings, tenant_id):
        dek = unwrap_key(kek_by_id(settings, tenant_id, kid), wrapped, asset_id.bytes)
    with open(vault_file(settings, tenant_id, asset_id), "rb") as raw:
        yield from decrypt_stream(io.BufferedReader(raw, CHUNK), dek, asset_id.bytes)


def forget_kms_key(kms_key_id: str) -> None:
    """Drop this process's copies of the KEKs a KMS key wrapped (its epoch is closing)."""
    for cached in [c for c in _KMS_CACHE if c[0] == kms_key_id]:
        del _KMS_CACHE[cached]
