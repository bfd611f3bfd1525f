"""Witnesses: where signed audit checkpoints are kept, outside the database.

A checkpoint only helps if whoever can rewrite the database cannot also rewrite where it went, so
every witness is write-once from this program's side:

- a directory (``/srv/witness``, ``file:///srv/witness``): one file per checkpoint under
  ``CHAIN/``, mode 0600, created exclusively (never overwritten); put it on a mount the database's
  writers cannot change (another host, an append-only or WORM volume);
- ``s3://BUCKET/PREFIX``: one object per checkpoint, put with ``If-None-Match: *``; when the bucket
  has S3 Object Lock enabled each object gets a retention (the bucket's default rule's mode and
  period, else COMPLIANCE for :data:`LOCK_DAYS` days), so nobody can delete or replace it;
- ``https://URL`` (``http://`` on loopback only): each checkpoint is POSTed as JSON; the receiver
  keeps it. Such a witness cannot be read back: verify its copies with ``--checkpoint FILE``.
"""

from __future__ import annotations

import os
from collections.abc import Collection, Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from shifty_ent.core.config import Settings
from shifty_ent.core.errors import Conflict, ExternalServiceError, InvalidInput

LOCK_MODE = "COMPLIANCE"
LOCK_DAYS = 365
LOOPBACK = ("127.0.0.1", "::1", "localhost")
POST_ATTEMPTS = 3


class Witness:
    """Keeps checkpoint documents, each named ``CHAIN/NAME``."""

    spec: str
    readable = True

    def write(self, chain: str, name: str, body: bytes) -> str:
        """Store ``body`` once; returns where it went. Existing identical content is fine."""
        raise NotImplementedError

    def read(self, chains: Collection[str] | None) -> Iterator[tuple[str, str | None, bytes]]:
        """(location, chain it is filed under, content) of the checkpoints of ``chains`` (every
        chain when None)."""
        raise NotImplementedError


class DirWitness(Witness):
    def __init__(self, spec: str, root: Path) -> None:
        self.spec, self.root = spec, root

    def write(self, chain: str, name: str, body: bytes) -> str:
        folder = self.root / chain
        folder.mkdir(parents=True, exist_ok=True, mode=0o700)
        path = folder / name
        try:
            fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        except FileExistsError:
            if path.read_bytes() == body:
                return str(path)
            raise Conflict(
                f"witness file {path} exists with other content; not overwritten"
            ) from None
        except OSError as exc:
            raise ExternalServiceError(f"cannot write witness file {path}: {exc}") from None
        with os.fdopen(fd, "wb") as fh:
            fh.write(body)
            fh.flush()
            os.fsync(fh.fileno())
        return str(path)

    def read(self, chains: Collection[str] | None) -> Iterator[tuple[str, str | None, bytes]]:
        if not self.root.is_dir():
            return
        folders = (
            sorted(p for p in self.root.iterdir() if p.is_dir())
            if chains is None
            else [self.root / c for c in sorted(chains)]
        )
        for folder in folders:
            if folder.is_dir():
                for path in sorted(folder.glob("*.json")):
                    yield str(path), folder.name, path.read_bytes()


class S3Witness(Witness):
    def __init__(self, spec: str, bucket: str, prefix: str, endpoint_url: str | None) -> None:
        self.spec, self.bucket, self.prefix = spec, bucket, prefix.strip("/")
        self.endpoint_url = endpoint_url
        self._client: Any = None
        self._lock: tuple[str, int] | bool | None = False  # False: not asked yet

    @property
    def client(self) -> Any:
        if self._client is None:
            import boto3
            from botocore.config import Config

            self._client = boto3.client(
                "s3",
                endpoint_url=self.endpoint_url or None,
                config=Config(retries={"max_attempts": 5, "mode": "standard"}, connect_timeout=10),
            )
        return self._client

    def _key(self, *parts: str) -> str:
        return "/".join(p for p in (self.prefix, *parts) if p)

    def lock(self) -> tuple[str, int] | None:
        """(mode, days) to retain each object for, when the bucket has Object Lock enabled."""
        if self._lock is False:
            from botocore.exceptions import ClientError

            try:
                conf = self.client.get_object_lock_configuration(Bucket=self.bucket)
            except ClientError as exc:
                code = exc.response.get("Error", {}).get("Code", "")
                if "ObjectLockConfigurationNotFound" not in code:
                    raise ExternalServiceError(f"{self.spec}: {exc}") from None
                conf = {}
            rules = conf.get("ObjectLockConfiguration", {})
            if rules.get("ObjectLockEnabled") != "Enabled":
                self._lock = None
            else:
                default = rules.get("Rule", {}).get("DefaultRetention", {})
                days = default.get("Days") or 365 * default.get("Years", 0) or LOCK_DAYS
                self._lock = (default.get("Mode", LOCK_MODE), int(days))
        return self._lock  # type: ignore[return-value]  # set just above when it was unset

    def write(self, chain: str, name: str, body: bytes) -> str:
        from botocore.exceptions import BotoCoreError, ClientError

        key = self._key(chain, name)
        extra: dict[str, Any] = {}
        lock = self.lock()
        if lock is not None:
            extra["ObjectLockMode"] = lock[0]
            extra["ObjectLockRetainUntilDate"] = datetime.now(UTC) + timedelta(days=lock[1])
        try:
            self.client.put_object(
                Bucket=self.bucket,
                Key=key,
                Body=body,
                ContentType="application/json",
                IfNoneMatch="*",
                **extra,
            )
        except ClientError as exc:
            status = exc.response.get("ResponseMetadata", {}).get("HTTPStatusCode")
            if status == 412:  # the object exists: fine when it is this very checkpoint
                old = self.client.get_object(Bucket=self.bucket, Key=key)["Body"].read()
                if old == body:
                    return f"s3://{self.bucket}/{key}"
                raise Conflict(f"s3://{self.bucket}/{key} exists with other content") from None
            raise ExternalServiceError(f"cannot write s3://{self.bucket}/{key}: {exc}") from None
        except BotoCoreError as exc:
            raise ExternalServiceError(f"cannot write s3://{self.bucket}/{key}: {exc}") from None
        return f"s3://{self.bucket}/{key}"

    def read(self, chains: Collection[str] | None) -> Iterator[tuple[str, str | None, bytes]]:
        from botocore.exceptions import BotoCoreError, ClientError

        prefixes = [self._key(c) + "/" for c in sorted(chains)] if chains is not None else None
        try:
            pages = self.client.get_paginator("list_objects_v2")
            for prefix in prefixes or [self._key() + "/" if self.prefix else ""]:
                for page in pages.paginate(Bucket=self.bucket, Prefix=prefix):
                    for obj in page.get("Contents", []):
                        key = obj["Key"]
                        if not key.endswith(".json"):
                            continue
                        body = self.client.get_object(Bucket=self.bucket, Key=key)["Body"].read()
                        filed = key[len(self._key()) :].strip("/").split("/")[0] or None
                        yield f"s3://{self.bucket}/{key}", filed, body
        except (BotoCoreError, ClientError) as exc:
            raise ExternalServiceError(f"cannot read the witness {self.spec}: {exc}") from None


class WebhookWitness(Witness):
    readable = False

    def __init__(self, spec: str) -> None:
        self.spec = spec

    def write(self, chain: str, name: str, body: bytes) -> str:
        import httpx

        error = ""
        with httpx.Client(timeout=10.0, follow_redirects=False) as client:
            for _ in range(POST_ATTEMPTS):
                try:
                    resp = client.post(
                        self.spec,
                        content=body,
                        headers={
                            "Content-Type": "application/json",
                            "User-Agent": "shifty-ent-audit-checkpoint",
                            "X-Shifty-Checkpoint": f"{chain}/{name}",
                        },
                    )
                except httpx.HTTPError as exc:
                    error = f"{type(exc).__name__}: {exc}"
                    continue
                if 200 <= resp.status_code < 300:
                    return self.spec
                error = f"HTTP {resp.status_code}"
                if resp.status_code < 500:
                    break
        raise ExternalServiceError(f"the witness {self.spec} refused the checkpoint: {error}")

    def read(self, chains: Collection[str] | None) -> Iterator[tuple[str, str | None, bytes]]:
        return iter(())


def open_witness(spec: str, settings: Settings) -> Witness:
    """The witness ``spec`` names: a directory, ``s3://BUCKET/PREFIX`` or an HTTPS URL."""
    spec = spec.strip()
    if not spec:
        raise InvalidInput("the audit witness is empty")
    if spec.startswith("s3://"):
        bucket, _, prefix = spec[5:].partition("/")
        if not bucket:
            raise InvalidInput(f"witness {spec!r} names no bucket (s3://BUCKET/PREFIX)")
        return S3Witness(spec, bucket, prefix, settings.s3_endpoint_url)
    if spec.startswith(("https://", "http://")):
        host = urlsplit(spec).hostname or ""
        if spec.startswith("http://") and host not in LOOPBACK:
            raise InvalidInput(f"witness {spec!r}: plain http is allowed on loopback only")
        return WebhookWitness(spec)
    if spec.startswith("file://"):
        spec_path = spec[7:]
    elif "://" in spec:
        raise InvalidInput(f"witness {spec!r}: use a directory, s3://BUCKET/PREFIX or https://URL")
    else:
        spec_path = spec
    return DirWitness(spec, Path(spec_path).expanduser())
