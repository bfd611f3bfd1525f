"""Registering each source: the pin, the metadata, error lines and exit codes, and that a failed
registration changes nothing."""

from __future__ import annotations

import hashlib
from pathlib import Path
from typing import Any

import pytest

from tests.model.helpers import count, register_args, register_custom, register_hf, register_llama


def test_register_huggingface_pins_commit_with_one_request(cli: Any, tenant: Any, hub: Any) -> None:
    repo = hub.repos["acme/tiny-llama"]
    row = cli.ok(
        "model",
        "register",
        "tiny",
        "--source",
        "huggingface",
        "--source-id",
        "acme/tiny-llama",
        "--temperature",
        "0.3",
        "--max-tokens",
        "2048",
        "--config",
        "top_p=0.9",
        "--config",
        'stop=["</s>"]',
        tenant="acme",
    )
    assert row["version"] == 1 and row["source"] == "huggingface"
    assert row["pinned_revision"] == repo.sha
    meta = row["source_meta"]
    assert meta["license"] == "apache-2.0"
    assert meta["gated"] is False and meta["pipeline_tag"] == "text-generation"
    assert meta["parameters"] == 112_448
    sizes = {f["path"]: f["size"] for f in meta["files"]}
    assert sizes["model.safetensors"] == 4096
    lfs = {f["path"]: f["lfs_sha256"] for f in meta["files"]}
    assert lfs["model.safetensors"] == hashlib.sha256(b"\0" * 4096).hexdigest()
    assert row["generation_config"] == {
        "temperature": 0.3,
        "max_tokens": 2048,
        "top_p": 0.9,
        "stop": ["</s>"],
    }
    assert len(hub.requests) == 1
    assert hub.requests[0].path == "/api/models/acme/tiny-llama"
    assert hub.requests[0].query["blobs"] == ["true"]


def test_register_same_name_creates_next_version_and_revision(
    cli: Any, tenant: Any, hub: Any
) -> None:
    first = register_hf(cli, "tiny", "acme/tiny-llama")
    second = register_hf(cli, "tiny", "acme/tiny-llama", "--revision", "v1.0")
    assert (first["version"], second["version"]) == (1, 2)
    assert second["pinned_revision"] == "1" * 40 and second["requested_revision"] == "v1.0"
    assert hub.requests[-1].path == "/api/models/acme/tiny-llama/revision/v1.0"
    listed = cli.ok("model", "versions", "tiny", tenant="acme")
    assert [v["version"] for v in listed] == [2, 1]


@pytest.mark.parametrize(
    ("source_id", "revision", "code", "needle"),
    [
        ("acme/nope", None, 3, "not found (or private: set HF_TOKEN"),
        ("acme/private", None, 3, "not found"),
        ("meta/gated-llama", None, 4, "is gated: request access"),
        ("acme/tiny-llama", "no-such-branch", 3, "has no revision 'no-such-branch'"),
        ("not a/valid//id", None, 2, "Hugging Face model id"),
    ],
)
def test_register_huggingface_errors(
    cli: Any,
    tenant: Any,
    hub: Any,
    db_url: str,
    source_id: str,
    revision: str | None,
    code: int,
    needle: str,
) -> None:
    args = ["model", "register", "m", "--source", "huggingface", "--source-id", source_id]
    if revision:
        args += ["--revision", revision]
    res = cli(*args, tenant="acme")
    assert res.exit_code == code, res.stderr
    assert needle in res.error["message"]
    assert "\n" not in res.error["message"]
    assert count(db_url, "SELECT count(*) FROM model_versions") == 0
    assert count(db_url, "SELECT count(*) FROM registered_models") == 0


def test_register_huggingface_token_opens_private_and_gated(
    cli: Any, tenant: Any, hub: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("HF_TOKEN", "hf_good")
    row = register_hf(cli, "g", "meta/gated-llama")
    assert row["source_meta"]["gated"] == "manual"
    assert hub.requests[-1].headers["authorization"] == "Bearer hf_good"
    register_hf(cli, "p", "acme/private")


def test_register_huggingface_unreachable_and_rate_limited(
    cli: Any, tenant: Any, hub: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    hub.rate_limit = 100
    res = cli(
        *register_args("m", "huggingface", "acme/tiny-llama"),
        tenant="acme",
    )
    assert res.exit_code == 6 and "HTTP 429" in res.error["message"]
    monkeypatch.setenv("HF_ENDPOINT", "http://127.0.0.1:9")
    res = cli(
        *register_args("m", "huggingface", "acme/tiny-llama"),
        tenant="acme",
    )
    assert res.exit_code == 6 and "cannot reach Hugging Face" in res.error["message"]


def test_hub_transport_errors_cover_both_client_lines(monkeypatch: pytest.MonkeyPatch) -> None:
    """huggingface_hub 2.x raises httpx2 errors and 1.x httpx errors: both are caught, and a host
    without httpx2 (huggingface_hub 1.x) still gets the list (an unconditional ``import httpx2``
    once broke every Hugging Face command there)."""
    import importlib.util
    import sys

    import httpx

    from shifty_ent.model.sources.huggingface import transport_errors

    caught = transport_errors()
    assert issubclass(httpx.ConnectError, caught)
    if importlib.util.find_spec("httpx2") is not None:
        import httpx2

        assert issubclass(httpx2.ConnectError, caught)
    monkeypatch.setitem(sys.modules, "httpx2", None)  # import fails, as where it is absent
    assert issubclass(httpx.ConnectError, transport_errors())


def test_register_ollama_pins_digest(cli: Any, tenant: Any, ollama_server: Any) -> None:
    row = register_llama(cli)
    m = ollama_server.models["llama3.1:8b"]
    assert row["pinned_revision"] == m.digest
    meta = row["source_meta"]
    assert (meta["family"], meta["parameter_size"], meta["quantization"]) == (
        "llama",
        "8.0B",
        "Q4_K_M",
    )
    assert meta["parameters"] == 8_030_261_248
    assert [r.path for r in ollama_server.requests] == ["/api/show", "/api/tags"]


def test_register_ollama_missing_then_pull(
    cli: Any, tenant: Any, ollama_server: Any, db_url: str
) -> None:
    res = cli(
        "model", "register", "q", "--source", "ollama", "--source-id", "qwen2.5:0.5b", tenant="acme"
    )
    assert res.exit_code == 3 and "pass --pull" in res.error["message"]
    assert count(db_url, "SELECT count(*) FROM model_versions") == 0
    row = cli.ok(
        "model",
        "register",
        "q",
        "--source",
        "ollama",
        "--source-id",
        "qwen2.5:0.5b",
        "--pull",
        tenant="acme",
    )
    assert row["source_meta"]["family"] == "qwen2"
    assert ollama_server.requests[1].path == "/api/pull"
    res = cli(
        *register_args("x", "ollama", "nothing:1b"),
        "--pull",
        tenant="acme",
    )
    assert res.exit_code == 6 and "file does not exist" in res.error["message"]


def test_register_ollama_unreachable(
    cli: Any, tenant: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("OLLAMA_HOST", "http://127.0.0.1:9")
    res = cli(
        "model", "register", "l", "--source", "ollama", "--source-id", "llama3.1", tenant="acme"
    )
    assert res.exit_code == 6 and "cannot reach Ollama" in res.error["message"]


def test_register_custom_checkpoint_manifest_and_asset(
    cli: Any, tenant: Any, checkpoint: Path, make_context: Any
) -> None:
    from shifty_ent.data.assets import get_asset

    row = register_custom(cli, "mine", checkpoint, "--classification", "confidential")
    files = {f["path"]: f for f in row["source_meta"]["files"]}
    assert files["sub/weights.bin"]["sha256"] == hashlib.sha256(b"\1\2\3" * 100).hexdigest()
    assert row["pinned_revision"].startswith("sha256:")
    with make_context(tenant="acme") as ctx:
        asset = get_asset(ctx, row["asset_id"])
        assert asset.type == "model_checkpoint" and asset.classification == "confidential"
        assert asset.location == str(checkpoint)
        assert asset.sha256 == row["pinned_revision"].removeprefix("sha256:")
    # the same directory changed: a new registration pins a different manifest
    (checkpoint / "config.json").write_text('{"model_type": "llama", "x": 1}')
    again = register_custom(cli, "mine", checkpoint)
    assert again["version"] == 2 and again["pinned_revision"] != row["pinned_revision"]
    # one location is one live data asset (of one tenant): both versions refer to it, so its
    # retention and erasure cover the files whatever version wrote them
    assert again["asset_id"] == row["asset_id"]
    # the same files again: the live asset of those files is reused, not registered twice
    third = register_custom(cli, "mine", checkpoint)
    assert third["version"] == 3 and third["asset_id"] == again["asset_id"]


def test_register_custom_errors(cli: Any, tenant: Any, tmp_path: Path, db_url: str) -> None:
    res = cli(
        *register_args("m", "custom", str(tmp_path / "missing")),
        tenant="acme",
    )
    assert res.exit_code == 3 and "does not exist" in res.error["message"]
    (tmp_path / "empty").mkdir()
    res = cli(
        *register_args("m", "custom", str(tmp_path / "empty")),
        tenant="acme",
    )
    assert res.exit_code == 2 and "holds no files" in res.error["message"]
    assert count(db_url, "SELECT count(*) FROM model_versions") == 0


def test_register_s3_object_and_prefix(cli: Any, tenant: Any, s3: Any) -> None:
    s3.create_bucket(Bucket="weights")
    s3.put_bucket_versioning(Bucket="weights", VersioningConfiguration={"Status": "Enabled"})
    v1 = s3.put_object(Bucket="weights", Key="m/model.bin", Body=b"one")["VersionId"]
    v2 = s3.put_object(Bucket="weights", Key="m/model.bin", Body=b"two!")["VersionId"]
    s3.put_object(Bucket="weights", Key="m/config.json", Body=b"{}")
    row = cli.ok(
        "model",
        "register",
        "s",
        "--source",
        "s3",
        "--source-id",
        "s3://weights/m/model.bin",
        tenant="acme",
    )
    assert row["pinned_revision"] == v2 and row["source_meta"]["size"] == 4
    assert row["source_meta"]["etag"] == hashlib.md5(b"two!").hexdigest()
    old = cli.ok(
        "model",
        "register",
        "s",
        "--source",
        "s3",
        "--source-id",
        "s3://weights/m/model.bin",
        "--revision",
        v1,
        tenant="acme",
    )
    assert old["pinned_revision"] == v1 and old["source_meta"]["size"] == 3
    pre = cli.ok(
        "model", "register", "sp", "--source", "s3", "--source-id", "s3://weights/m/", tenant="acme"
    )
    assert pre["source_meta"]["object_count"] == 2 and pre["source_meta"]["size"] == 6
    assert pre["pinned_revision"].startswith("sha256:")


def test_register_s3_errors(cli: Any, tenant: Any, s3: Any, db_url: str) -> None:
    s3.create_bucket(Bucket="weights")
    cases = [
        ("s3://weights/none.bin", 3, "not found"),
        ("s3://nobucket/x.bin", 3, "not found"),
        ("s3://weights/empty/", 3, "holds no objects"),
        ("http://weights/x", 2, "s3://BUCKET/KEY"),
    ]
    for source_id, code, needle in cases:
        res = cli(
            "model", "register", "s", "--source", "s3", "--source-id", source_id, tenant="acme"
        )
        assert res.exit_code == code, (source_id, res.stderr)
        assert needle in res.error["message"], res.error
    assert count(db_url, "SELECT count(*) FROM model_versions") == 0


def test_register_bad_input_and_roles(cli: Any, tenant: Any, hub: Any) -> None:
    res = cli(
        *register_args("bad name!", "huggingface", "acme/tiny-llama"),
        tenant="acme",
    )
    assert res.exit_code == 2
    res = cli(
        *register_args("m", "huggingface", "acme/tiny-llama"),
        "--temperature",
        "5",
        tenant="acme",
    )
    assert res.exit_code == 2 and "temperature" in res.error["message"]
    res = cli(
        *register_args("m", "huggingface", "acme/tiny-llama"),
        user="lars",
        tenant="acme",
    )
    assert res.exit_code == 4
    assert hub.requests == []
