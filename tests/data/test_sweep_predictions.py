"""``data sweep --dry-run`` predicts the refusals a real sweep meets; registering outside every
data root warns (or is refused with ``--strict-roots``)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from tests.data.conftest import make_file

LATER = {"SHIFTY_NOW": "2099-01-01T00:00:00+00:00"}


def _policy(cli: Any) -> None:
    cli.ok(
        "data", "policy", "create", "short", "-c", "internal", "--retention-days", "1",
        "--auto-delete", user="olga", tenant="acme",
    )  # fmt: skip


def _register(cli: Any, name: str, location: str) -> Any:
    return cli.ok(
        "data", "asset", "register", name, "--type", "file", "-c", "internal",
        "--location", location, user="olga", tenant="acme",
    )  # fmt: skip


def test_dry_run_predicts_a_file_outside_the_roots_as_a_failure(
    cli: Any, tenant: Any, root: Path, tmp_path: Path
) -> None:
    """On main the dry run listed a file outside every data root under ``deleted`` with
    ``would_delete: true`` and exit 0; every real sweep then failed on it (exit 5)."""
    _policy(cli)
    inside = _register(cli, "inside", str(make_file(root / "in.bin")))
    outside_file = make_file(tmp_path / "elsewhere" / "out.bin")
    outside = _register(cli, "outside", str(outside_file))
    preview = cli("data", "sweep", "--dry-run", user="olga", tenant="acme", env=LATER)
    assert preview.exit_code == 5
    body = preview.json
    assert [d["asset_id"] for d in body["deleted"]] == [inside["id"]]
    failed = {f["asset_id"]: f for f in body["failures"]}
    assert set(failed) == {outside["id"]}
    assert failed[outside["id"]]["predicted"] is True
    assert "outside the allowed data roots" in failed[outside["id"]]["error"]
    assert outside_file.exists()  # a dry run changes nothing
    real = cli("data", "sweep", user="olga", tenant="acme", env=LATER)
    assert real.exit_code == 5
    assert [f["asset_id"] for f in real.json["failures"]] == [outside["id"]]
    assert [f["step"] for f in real.json["failures"]] == [failed[outside["id"]]["step"]]


def test_dry_run_predicts_an_s3_object_without_credentials_as_a_failure(
    cli: Any, tenant: Any, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """On main the dry run promised to delete ``s3://bucket/key`` on a host with no S3
    credentials at all; the real sweep then failed with "Unable to locate credentials"."""
    for var in ("AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY", "AWS_SESSION_TOKEN", "AWS_PROFILE"):
        monkeypatch.delenv(var, raising=False)
    monkeypatch.setenv("AWS_SHARED_CREDENTIALS_FILE", str(tmp_path / "no-credentials"))
    monkeypatch.setenv("AWS_CONFIG_FILE", str(tmp_path / "no-config"))
    monkeypatch.setenv("AWS_EC2_METADATA_DISABLED", "true")
    monkeypatch.setenv("AWS_DEFAULT_REGION", "us-east-1")
    _policy(cli)
    obj = _register(cli, "object", "s3://bucket/data/key.csv")
    preview = cli("data", "sweep", "--dry-run", user="olga", tenant="acme", env=LATER)
    assert preview.exit_code == 5
    assert preview.json["deleted"] == []
    (failure,) = preview.json["failures"]
    assert failure["asset_id"] == obj["id"] and failure["predicted"] is True
    assert "no S3 credentials" in failure["error"]
    real = cli("data", "sweep", user="olga", tenant="acme", env=LATER)
    assert real.exit_code == 5 and [f["asset_id"] for f in real.json["failures"]] == [obj["id"]]


def test_register_outside_every_root_warns_or_is_refused_with_strict_roots(
    cli: Any, tenant: Any, root: Path, tmp_path: Path
) -> None:
    """On main ``data asset register --location /etc/hostname`` (outside every data root, so it
    could never be erased) was accepted silently."""
    target = Path("/etc/hostname")
    if not target.is_file():
        target = make_file(tmp_path / "outside" / "hostname", 10)
    res = cli(
        "data", "asset", "register", "host", "--type", "file", "-c", "internal",
        "--location", str(target), user="olga", tenant="acme",
    )  # fmt: skip
    assert res.exit_code == 0
    assert res.stderr.startswith("warning: ") and res.stderr.count("\n") == 1
    assert "outside every data root" in res.stderr and "tenant root add" in res.stderr
    strict = cli(
        "data", "asset", "register", "host2", "--type", "file", "-c", "internal",
        "--location", str(target), "--strict-roots", user="olga", tenant="acme",
    )  # fmt: skip
    assert strict.exit_code == 2 and strict.stderr.count("\n") == 1
    assert "--strict-roots" in strict.stderr
    names = {a["name"] for a in cli.ok("data", "asset", "list", user="olga", tenant="acme")}
    assert names == {"host"}
    # inside a root: no warning, accepted with --strict-roots too
    ok = cli(
        "data", "asset", "register", "in", "--type", "file", "-c", "internal",
        "--location", str(make_file(root / "in.bin")), "--strict-roots", user="olga", tenant="acme",
    )  # fmt: skip
    assert ok.exit_code == 0 and ok.stderr == ""
