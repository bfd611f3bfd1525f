"""S3 erasure against moto's real HTTP server: every version and delete marker goes."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest

from tests.conftest import erase
from tests.fakes.aws import moto_server, use_aws


@pytest.fixture
def s3(monkeypatch: pytest.MonkeyPatch) -> Iterator[Any]:
    import boto3

    with moto_server() as url:
        use_aws(monkeypatch, url, "S3")
        yield boto3.client("s3", endpoint_url=url)


def _versions(client: Any, bucket: str, prefix: str = "") -> list[tuple[str, str]]:
    resp = client.list_object_versions(Bucket=bucket, Prefix=prefix)
    return [(v["Key"], v["VersionId"]) for v in resp.get("Versions", [])] + [
        (m["Key"], m["VersionId"]) for m in resp.get("DeleteMarkers", [])
    ]


def test_versioned_object_fully_deleted(cli: Any, tenant: Any, s3: Any) -> None:
    import uuid

    bucket = f"acme-{uuid.uuid4().hex[:12]}"  # moto keeps state per process: fresh bucket
    s3.create_bucket(Bucket=bucket)
    s3.put_bucket_versioning(Bucket=bucket, VersioningConfiguration={"Status": "Enabled"})
    for body in (b"v1", b"v2", b"v3"):
        s3.put_object(Bucket=bucket, Key="feedback.json", Body=body)
    s3.delete_object(Bucket=bucket, Key="feedback.json")  # a delete marker
    s3.put_object(Bucket=bucket, Key="feedback.json.bak", Body=b"keep me")
    assert len([k for k, _ in _versions(s3, bucket, "feedback.json") if k == "feedback.json"]) == 4
    asset = cli.ok(
        "data",
        "asset",
        "register",
        "feedback",
        "--type",
        "dataset",
        "--classification",
        "confidential",
        "--location",
        f"s3://{bucket}/feedback.json",
        user="olga",
        tenant="acme",
    )
    done = erase(cli, asset["id"], "secure_overwrite", "r")
    assert done["status"] == "completed"
    result = done["items"][0]["result"]
    assert result["versions_deleted"] == 3 and result["delete_markers_deleted"] == 1
    assert _versions(s3, bucket) == [("feedback.json.bak", _versions(s3, bucket)[0][1])]
    cert = cli.ok(
        "data", "certificate", "show", done["certificate_id"], user="audrey", tenant="acme"
    )
    assert "logical sanitization" in " ".join(cert["certificate"]["media"][0]["notes"])


def test_missing_bucket_fails_and_keeps_asset(cli: Any, tenant: Any, s3: Any) -> None:
    asset = cli.ok(
        "data",
        "asset",
        "register",
        "ghost",
        "--type",
        "dataset",
        "--classification",
        "internal",
        "--location",
        "s3://no-such-bucket/k",
        user="olga",
        tenant="acme",
    )
    job = cli.ok(
        "data",
        "delete",
        "request",
        asset["id"],
        "--method",
        "standard",
        "--reason",
        "r",
        user="olga",
        tenant="acme",
    )
    cli.ok("data", "delete", "approve", job["id"], user="alice", tenant="acme")
    res = cli("data", "delete", "execute", job["id"], "--yes", user="olga", tenant="acme")
    assert res.exit_code == 5
    shown = cli.ok("data", "delete", "show", job["id"], user="alice", tenant="acme")
    assert shown["status"] == "failed" and "NoSuchBucket" in shown["items"][0]["error"]
    assert (
        cli.ok("data", "asset", "show", asset["id"], user="alice", tenant="acme")["status"]
        == "active"
    )
