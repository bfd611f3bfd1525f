"""Encrypted archives made before deletion, when a policy says ``archive_before_delete``.

An archive is a tar of the asset (file, directory tree, vault plaintext or S3 object) streamed
through the vault's chunked AES-256-GCM writer into ``<archive>/<tenant>/<asset>-<time>.tar.enc``.
Its header (``SHIFTYA1``, u32 length, JSON) names the asset and holds its own data key wrapped
by the tenant key, so the archive can be opened with the tenant key alone:
:func:`open_archive` returns the tar bytes and :func:`extract_archive` restores them
(``data asset restore``).
"""

from __future__ import annotations

import io
import json
import os
import secrets
import shutil
import struct
import tarfile
import uuid
from collections.abc import Iterator
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any, BinaryIO

from shifty_ent.core import outfiles
from shifty_ent.core.config import Settings
from shifty_ent.core.errors import ExternalServiceError, InvalidInput, Refused
from shifty_ent.data import vault
from shifty_ent.data.tables import Asset, VaultKey

MAGIC = b"SHIFTYA1"


def archive_dir(settings: Settings, tenant_id: uuid.UUID) -> Path:
    return settings.archive_dir / str(tenant_id)


def archive_asset(
    settings: Settings, asset: Asset, key: VaultKey | None, stamp: str
) -> dict[str, Any]:
    """Write the encrypted archive; returns its path, size and the archived byte count.

    It is written under a hidden name and renamed into place when complete, all under the key
    lock: a key rotation sees only whole archives, each wrapped by a key that still exists."""
    with vault.key_lock(settings, asset.tenant_id):
        return _write_archive(settings, asset, key, stamp)


def _write_archive(
    settings: Settings, asset: Asset, key: VaultKey | None, stamp: str
) -> dict[str, Any]:
    kek, kid = vault.load_kek(settings, asset.tenant_id, create=True)
    dek = secrets.token_bytes(32)
    binding = asset.id.bytes
    header = json.dumps(
        {
            "asset_id": str(asset.id),
            "name": asset.name,
            "classification": asset.classification,
            "location": asset.location,
            "archived_at": stamp,
            "kek_id": kid,
            "wrapped_key": vault.wrap_key(kek, dek, binding),
        },
        sort_keys=True,
    ).encode()
    folder = archive_dir(settings, asset.tenant_id)
    outfiles.private_dir(folder)
    target = folder / f"{asset.id}-{stamp.replace(':', '').replace('+', 'Z')}.tar.enc"
    partial = folder / f".{target.name}.partial"
    fd = os.open(partial, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_CLOEXEC, 0o600)
    try:
        with os.fdopen(fd, "wb", buffering=vault.CHUNK) as out:
            out.write(MAGIC + struct.pack(">I", len(header)) + header)
            writer = vault.EncryptingWriter(out, dek, binding)
            with tarfile.open(fileobj=writer, mode="w|") as tar:  # type: ignore[call-overload]  # a write-only stream
                _add_content(settings, tar, asset, key)
            writer.close()
            out.flush()
            os.fsync(out.fileno())
        if os.path.lexists(target):
            raise FileExistsError(f"{target} already exists")
        os.rename(partial, target)
    except BaseException:
        partial.unlink(missing_ok=True)
        raise
    return {"path": str(target), "archived_bytes": writer.plain_bytes, "kek_id": kid}


def _add_content(
    settings: Settings, tar: tarfile.TarFile, asset: Asset, key: VaultKey | None
) -> None:
    if asset.scheme == "file":
        path = Path(asset.location)
        if not os.path.lexists(path):
            raise Refused(f"cannot archive {path}: it does not exist")
        if path.is_symlink():
            raise Refused(f"cannot archive {path}: it is a symbolic link")
        tar.add(str(path), arcname=path.name, recursive=True, filter=_no_links)
    elif asset.scheme == "vault":
        data = b"".join(
            vault.read_vault(
                settings,
                asset.tenant_id,
                asset.id,
                key.wrapped_key if key else None,
                key.kek_id if key else None,
            )
        )
        _add_bytes(tar, asset.name, data)
    elif asset.scheme == "s3":
        from botocore.exceptions import BotoCoreError, ClientError

        from shifty_ent.data.erasure import s3_client

        bucket, _, name = asset.location[len("s3://") :].partition("/")
        try:
            body = (
                s3_client(settings.s3_endpoint_url)
                .get_object(Bucket=bucket, Key=name)["Body"]
                .read()
            )
        except (ClientError, BotoCoreError) as exc:
            raise ExternalServiceError(f"cannot archive {asset.location}: {exc}") from None
        _add_bytes(tar, name.rsplit("/", 1)[-1] or "object", body)
    else:
        raise Refused(f"cannot archive a {asset.scheme}:// location: this tool cannot read it")


def _no_links(info: tarfile.TarInfo) -> tarfile.TarInfo | None:
    return None if info.issym() or info.islnk() or not (info.isfile() or info.isdir()) else info


def _add_bytes(tar: tarfile.TarFile, name: str, data: bytes) -> None:
    info = tarfile.TarInfo(name=name)
    info.size = len(data)
    tar.addfile(info, io.BytesIO(data))


def parse_header(reader: BinaryIO, path: Path) -> tuple[dict[str, Any], uuid.UUID, uuid.UUID]:
    """(header, asset id, tenant id) of an archive whose reader stands at its first byte; the
    reader is left at the encrypted stream."""
    if reader.read(len(MAGIC)) != MAGIC:
        raise InvalidInput(f"{path} is not a shifty-ent archive")
    try:
        (length,) = struct.unpack(">I", reader.read(4))
        header = json.loads(reader.read(length))
        asset_id = uuid.UUID(header["asset_id"])
        tenant_id = uuid.UUID(path.parent.name)
    except (struct.error, ValueError, KeyError, TypeError):
        raise InvalidInput(f"{path} has a damaged archive header") from None
    return header, asset_id, tenant_id


def rewrap_archive(settings: Settings, path: Path, kek: bytes, kid: str) -> None:
    """Wrap the archive's data key under ``kek`` (a new file with the new header and the same
    encrypted stream, renamed over the old one). The caller holds the key lock exclusively."""
    with open(path, "rb") as src:
        header, asset_id, tenant_id = parse_header(src, path)
        if header.get("kek_id") == kid:
            return
        old = vault.kek_by_id(settings, tenant_id, header.get("kek_id"))
        dek = vault.unwrap_key(old, header["wrapped_key"], asset_id.bytes)
        header = {**header, "kek_id": kid, "wrapped_key": vault.wrap_key(kek, dek, asset_id.bytes)}
        body = json.dumps(header, sort_keys=True).encode()
        tmp = path.with_name(f".{path.name}.rewrap")
        fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC | os.O_CLOEXEC, 0o600)
        try:
            with os.fdopen(fd, "wb") as out:
                out.write(MAGIC + struct.pack(">I", len(body)) + body)
                shutil.copyfileobj(src, out, vault.CHUNK)
                out.flush()
                os.fsync(out.fileno())
            os.replace(tmp, path)
        except BaseException:
            tmp.unlink(missing_ok=True)
            raise


def archive_key_ids(settings: Settings, tenant_id: uuid.UUID) -> dict[Path, str | None]:
    """Each whole archive of the tenant and the id of the key its header names."""
    out: dict[Path, str | None] = {}
    for path in sorted(archive_dir(settings, tenant_id).glob("*.tar.enc")):
        with open(path, "rb") as fh:
            header = parse_header(fh, path)[0]
        out[path] = header.get("kek_id")
    return out


def _read_header(
    settings: Settings, reader: io.BufferedReader[Any], path: Path
) -> tuple[dict[str, Any], bytes, bytes]:
    """(header, data key, binding) of an archive whose reader stands at its first byte."""
    header, asset_id, tenant_id = parse_header(reader, path)
    with vault.key_lock(settings, tenant_id):
        kek = vault.kek_by_id(settings, tenant_id, header.get("kek_id"))
        dek = vault.unwrap_key(kek, header["wrapped_key"], asset_id.bytes)
    return header, dek, asset_id.bytes


def open_archive(settings: Settings, path: Path) -> tuple[dict[str, Any], bytes]:
    """(header, tar bytes) of an archive, decrypted with the tenant key."""
    with open(path, "rb") as raw:
        reader = io.BufferedReader(raw, vault.CHUNK)
        header, dek, binding = _read_header(settings, reader, path)
        return header, b"".join(vault.decrypt_stream(reader, dek, binding))


class _PlainReader(io.RawIOBase):
    """The decrypted chunks as a readable stream, so tarfile can extract without the whole
    archive in memory."""

    def __init__(self, chunks: Iterator[bytes]) -> None:
        self._chunks = chunks
        self._view = memoryview(b"")

    def readable(self) -> bool:
        return True

    def readinto(self, buffer: Any) -> int:
        while not self._view:
            chunk = next(self._chunks, None)
            if chunk is None:
                return 0
            self._view = memoryview(chunk)
        n = min(len(buffer), len(self._view))
        buffer[:n] = self._view[:n]
        self._view = self._view[n:]
        return n


def extract_archive(
    settings: Settings, path: Path, target: Path, asset_id: uuid.UUID
) -> dict[str, Any]:
    """Decrypt and unpack the archive of ``asset_id`` into the new directory ``target``.

    Streams (constant memory), takes only regular files and directories through tarfile's
    ``data`` filter (no absolute names, ``..``, links or devices), and unpacks into a hidden
    sibling first, renamed into place only when every chunk authenticated: a damaged or
    changed archive leaves nothing behind."""
    data_filter = getattr(tarfile, "data_filter", None)
    if data_filter is None:  # Python before 3.11.4
        raise Refused("restoring archives needs Python 3.11.4 or newer (tarfile's data filter)")
    staging = target.parent / f".{target.name}.restoring-{secrets.token_hex(4)}"
    staging.mkdir(mode=0o700)
    files = size = 0
    try:
        with open(path, "rb") as raw:
            reader = io.BufferedReader(raw, vault.CHUNK)
            header, dek, binding = _read_header(settings, reader, path)
            if header.get("asset_id") != str(asset_id):
                raise InvalidInput(f"{path} is the archive of another asset")
            stream = io.BufferedReader(_PlainReader(vault.decrypt_stream(reader, dek, binding)))
            with tarfile.open(fileobj=stream, mode="r|") as tar:
                for member in tar:
                    if not (member.isfile() or member.isdir()):
                        raise InvalidInput(f"{path} holds {member.name!r}, which is not a file")
                    tar.extract(member, staging, filter=data_filter)
                    if member.isfile():
                        files, size = files + 1, size + member.size
        try:
            os.rename(staging, target)
        except OSError:  # another restore took the name meanwhile
            raise InvalidInput(f"{target} already exists; restore into a new directory") from None
    except tarfile.TarError as exc:
        shutil.rmtree(staging, ignore_errors=True)
        raise InvalidInput(f"{path} does not unpack: {exc}") from None
    except BaseException:
        shutil.rmtree(staging, ignore_errors=True)
        raise
    return {"header": header, "files": files, "bytes": size}


# ------------------------------------------------------------------ retention and erasure

DEFAULT_ARCHIVE_RETENTION_DAYS = 365


def archive_until(ctx: Any, asset: Asset) -> datetime | None:
    """When an asset's pre-deletion archive is due for erasure: its archive date plus the
    retention days of the asset's policy (the policy that asked for the archive), or
    :data:`DEFAULT_ARCHIVE_RETENTION_DAYS` without a policy."""
    from shifty_ent.data.tables import RetentionPolicy

    if asset.archived_at is None:
        return None
    policy = ctx.session.get(RetentionPolicy, asset.policy_id) if asset.policy_id else None
    days = policy.retention_days if policy is not None else DEFAULT_ARCHIVE_RETENTION_DAYS
    return asset.archived_at + timedelta(days=days)


def erase_archive(settings: Settings, tenant_id: uuid.UUID, path: Path) -> dict[str, Any]:
    """Overwrite an archive with one verified random pass, truncate and unlink it (below the
    tenant's archive folder only); returns the copy's fate for the certificate."""
    from shifty_ent.data import erasure

    root = Path(os.path.realpath(archive_dir(settings, tenant_id)))
    if not os.path.isdir(root):
        return {"fate": "absent: the archive file was no longer at its location", "erased": False,
                "absent": True}  # fmt: skip
    path = Path(os.path.realpath(path.parent)) / path.name
    done = erasure.remove_ciphertext(path, root)
    if done["ciphertext"].startswith("absent"):
        return {"fate": "absent: the archive file was no longer at its location", "erased": False,
                "absent": True}  # fmt: skip
    if os.path.lexists(path):
        raise Refused(f"archive {path} still exists after erasure")
    return {
        "fate": "erased: " + done["ciphertext"].replace("overwritten", "overwritten (Clear)", 1),
        "erased": True,
        "passes": done.get("ciphertext_passes", []),
        "verification": {
            "result": "passed",
            "method": "full read-back of the random pass; file checked absent after unlink",
        },
    }
