"""Fixtures of the model group: loopback Hugging Face / Ollama fakes, moto's S3 server, and a
tiny local checkpoint."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.fakes.huggingface import FakeHub, FakeRepo
from tests.fakes.ollama import FakeModel, FakeOllama


def tiny_repo(repo_id: str = "acme/tiny-llama", **kw: Any) -> FakeRepo:
    files = {
        "config.json": json.dumps({"model_type": "llama", "hidden_size": 64}).encode(),
        "model.safetensors": b"\0" * 4096,
        "README.md": b"# tiny\n",
    }
    return FakeRepo(repo_id, files, parameters={"F32": 112_448}, **kw)


@pytest.fixture
def hub(monkeypatch: pytest.MonkeyPatch) -> Iterator[FakeHub]:
    gated = tiny_repo("meta/gated-llama", gated="manual")
    private = tiny_repo("acme/private", private=True)
    main = tiny_repo()
    main.refs["v1.0"] = "1" * 40
    with FakeHub([main, gated, private], tokens={"hf_good"}, granted={"hf_good"}) as fake:
        monkeypatch.setenv("HF_ENDPOINT", fake.url)
        yield fake


@pytest.fixture
def ollama_server(monkeypatch: pytest.MonkeyPatch) -> Iterator[FakeOllama]:
    with FakeOllama(
        [FakeModel("llama3.1:8b")],
        registry=[
            FakeModel("qwen2.5:0.5b", family="qwen2", parameter_size="494M", size=397_000_000)
        ],
    ) as fake:
        monkeypatch.setenv("OLLAMA_HOST", fake.url)
        yield fake


@pytest.fixture(scope="session")
def moto_server() -> Iterator[str]:
    from tests.fakes.aws import moto_server as running

    with running() as url:
        yield url


@pytest.fixture
def s3(moto_server: str, monkeypatch: pytest.MonkeyPatch) -> Iterator[Any]:
    import boto3
    import httpx

    httpx.post(f"{moto_server}/moto-api/reset")
    from tests.fakes.aws import use_aws

    use_aws(monkeypatch, moto_server, "S3")
    client = boto3.client("s3", endpoint_url=moto_server, region_name="us-east-1")
    yield client


@pytest.fixture
def checkpoint(tmp_path: Path) -> Path:
    root = tmp_path / "ckpt"
    (root / "sub").mkdir(parents=True)
    (root / "config.json").write_text('{"model_type": "llama"}')
    (root / "sub" / "weights.bin").write_bytes(b"\1\2\3" * 100)
    return root
