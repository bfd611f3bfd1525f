"""S3: pin an object (``head_object``: size, ETag, version id) or a prefix (one listing page per
1,000 keys: every key's size, ETag and version).

``s3://bucket/key`` is an object; ``s3://bucket/prefix/`` (trailing slash) a prefix. An object
pin is its version id when the bucket is versioned, otherwise its ETag; a prefix pin is the
sha256 of the canonical listing, so any change below the prefix changes the pin.
"""

from __future__ import annotations

from typing import Any
from urllib.parse import urlparse

from shifty_ent.core.canonical import canonical_json, sha256_hex
from shifty_ent.core.config import Settings
from shifty_ent.core.errors import ExternalServiceError, InvalidInput, NotFound, Refused
from shifty_ent.model.sources import Pin

MAX_KEYS = 10_000


def parse(uri: str) -> tuple[str, str]:
    parsed = urlparse((uri or "").strip())
    bucket, key = parsed.netloc, parsed.path.lstrip("/")
    if parsed.scheme != "s3" or not bucket:
        raise InvalidInput(f"--source-id {uri!r} must be s3://BUCKET/KEY or s3://BUCKET/PREFIX/")
    return bucket, key


def client(settings: Settings) -> Any:
    import boto3
    from botocore.config import Config

    cfg = Config(
        retries={"max_attempts": 2, "mode": "standard"}, connect_timeout=5, read_timeout=30
    )
    return boto3.client("s3", endpoint_url=settings.s3_endpoint_url or None, config=cfg)


def _error(exc: Exception, uri: str) -> Exception:
    from botocore.exceptions import ClientError, NoCredentialsError

    if isinstance(exc, NoCredentialsError):
        return Refused(f"no AWS credentials to read {uri}: set AWS_ACCESS_KEY_ID/SECRET")
    if isinstance(exc, ClientError):
        code = str(exc.response.get("Error", {}).get("Code", ""))
        status = exc.response.get("ResponseMetadata", {}).get("HTTPStatusCode")
        if code in ("NoSuchBucket",):
            return NotFound(f"S3 bucket of {uri} does not exist")
        if code in ("404", "NoSuchKey", "NoSuchVersion", "NotFound") or status == 404:
            return NotFound(f"S3 object {uri} not found")
        if code in ("403", "AccessDenied", "Forbidden") or status == 403:
            return Refused(f"S3 denied access to {uri}")
        if code in ("400", "InvalidArgument") and "version" in str(exc).lower():
            return NotFound(f"S3 object {uri} has no such version")
        return ExternalServiceError(f"S3 failed for {uri}: {code or status}")
    return ExternalServiceError(f"cannot reach S3 for {uri}: {exc}")


def resolve(settings: Settings, uri: str, revision: str | None = None) -> Pin:
    from botocore.exceptions import BotoCoreError, ClientError

    bucket, key = parse(uri)
    s3 = client(settings)
    try:
        if key and not key.endswith("/"):
            return _object(s3, bucket, key, revision)
        if revision:
            raise InvalidInput("--revision (an S3 version id) applies to an object, not a prefix")
        return _prefix(s3, bucket, key)
    except (ClientError, BotoCoreError) as exc:
        raise _error(exc, uri) from None


def _object(s3: Any, bucket: str, key: str, revision: str | None) -> Pin:
    args: dict[str, Any] = {"Bucket": bucket, "Key": key}
    if revision:
        args["VersionId"] = revision
    head = s3.head_object(**args)
    etag = str(head.get("ETag", "")).strip('"')
    version = head.get("VersionId")
    if version == "null":
        version = None
    meta = {
        "bucket": bucket,
        "key": key,
        "kind": "object",
        "size": head.get("ContentLength"),
        "etag": etag,
        "version_id": version,
        "last_modified": head["LastModified"].isoformat() if head.get("LastModified") else None,
        "content_type": head.get("ContentType"),
    }
    return Pin(
        source="s3",
        source_id=f"s3://{bucket}/{key}",
        pinned_revision=version or f"etag:{etag}",
        requested_revision=revision,
        meta=meta,
        size_bytes=head.get("ContentLength"),
    )


def _prefix(s3: Any, bucket: str, prefix: str) -> Pin:
    objects: list[dict[str, Any]] = []
    args: dict[str, Any] = {"Bucket": bucket, "Prefix": prefix, "MaxKeys": 1000}
    while True:
        page = s3.list_object_versions(**args)
        for v in page.get("Versions", []):
            if not v.get("IsLatest"):
                continue
            vid = v.get("VersionId")
            objects.append(
                {
                    "key": v["Key"],
                    "size": v.get("Size"),
                    "etag": str(v.get("ETag", "")).strip('"'),
                    "version_id": None if vid == "null" else vid,
                }
            )
        if len(objects) > MAX_KEYS:
            raise InvalidInput(f"S3 prefix s3://{bucket}/{prefix} holds over {MAX_KEYS} objects")
        if not page.get("IsTruncated"):
            break
        args["KeyMarker"] = page.get("NextKeyMarker")
        args["VersionIdMarker"] = page.get("NextVersionIdMarker")
    # a key whose latest entry is a delete marker has no IsLatest version: already skipped
    if not objects:
        raise NotFound(f"S3 prefix s3://{bucket}/{prefix} holds no objects")
    objects.sort(key=lambda o: o["key"])
    digest = sha256_hex(canonical_json(objects))
    total = sum(o["size"] or 0 for o in objects)
    meta = {
        "bucket": bucket,
        "prefix": prefix,
        "kind": "prefix",
        "objects": objects,
        "object_count": len(objects),
        "size": total,
    }
    return Pin(
        source="s3",
        source_id=f"s3://{bucket}/{prefix}",
        pinned_revision=f"sha256:{digest}",
        meta=meta,
        size_bytes=total,
    )
