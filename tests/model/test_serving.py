"""Serving what was trained: a deployment's health is its served name on the endpoint, replicas
are separate instances, a fine-tuned adapter reaches vLLM (over SSH, ``--enable-lora
--lora-modules``) or Ollama (blobs + create), and terminated instances leave no deployment
"starting". vast.ai, vLLM and Ollama are fakes on 127.0.0.1; SSH is a real OpenSSH server."""

from __future__ import annotations

import json
import re
import shutil
import socket
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.fakes.server import LoopbackServer, Request, Response
from tests.fakes.sshd import Sshd, missing_reason
from tests.fakes.vastai import FakeVast, serving
from tests.model.helpers import count, make_instance, register_custom, register_hf

# ``model deploy`` options that rent an instance for it and wait (briefly) until it serves
ON_A_RENTAL = (
    "--gpu-type",
    "RTX_4090",
    "--max-price",
    "1",
    "--poll-interval",
    "0.05",
    "--timeout",
    "20",
)


@pytest.fixture
def vast(monkeypatch: pytest.MonkeyPatch) -> Iterator[FakeVast]:
    with serving(FakeVast(), monkeypatch) as fake:
        yield fake


class FakeVllm:
    """vLLM's OpenAI-compatible server as a client sees it: ``/health``, ``/v1/models`` listing
    the base and each ``--lora-modules NAME=PATH`` of the instance's start script (read from the
    vast.ai fake's rent) once PATH holds the adapter (the script waits for its ``.complete``
    marker), and ``/v1/load_lora_adapter``."""

    def __init__(
        self, base: str, home: Path, *, vast: FakeVast | None = None, lists_base: bool = True
    ) -> None:
        self.base = base
        self.home = home
        self.vast = vast
        self.lists_base = lists_base
        self.loaded: dict[str, str] = {}
        self.server = LoopbackServer(self.handle, max_requests=500, max_seconds=120)

    def _adapters(self) -> list[str]:
        found = []
        for rent in self.vast.rents if self.vast else []:
            script = rent["body"].get("onstart") or ""
            for name, rel in re.findall(r'--lora-modules (\S+)="\$HOME/([^"]+)"', script):
                if (self.home / rel / ".complete").exists() and name not in found:
                    found.append(name)
        return found + list(self.loaded)

    def handle(self, req: Request) -> Response:
        if req.path == "/health":
            return Response(200, raw=b"")
        if req.path == "/v1/models":
            names = ([self.base] if self.lists_base else ["other/model"]) + self._adapters()
            return Response(200, {"object": "list", "data": [{"id": n} for n in names]})
        if req.path == "/v1/load_lora_adapter" and req.method == "POST":
            body = req.json()
            if not Path(body["lora_path"], "adapter_config.json").exists():
                return Response(400, {"error": "adapter not found"})
            self.loaded[body["lora_name"]] = body["lora_path"]
            return Response(200, raw=b"Success")
        return Response(404, {"error": "no"})

    def __enter__(self) -> FakeVllm:
        self.server.start()
        return self

    def __exit__(self, *exc: Any) -> None:
        self.server.stop()


def _hf_base(cli: Any) -> dict[str, Any]:
    return register_hf(cli, "tiny", "acme/tiny-llama")


def _adapter(make_context: Any, where: Path, base_ref: str, served: str) -> str:
    """A fine-tuned LoRA adapter of ``base_ref`` registered as version 1 of ``tuned``."""
    from shifty_ent.model.sources import custom
    from shifty_ent.model.versions import add_version, get_version

    where.mkdir(parents=True)
    (where / "adapter_config.json").write_text(json.dumps({"r": 4, "peft_type": "LORA"}))
    (where / "adapter_model.safetensors").write_bytes(b"\7" * 2048)
    with make_context(tenant="acme") as ctx:
        base = get_version(ctx, base_ref)
        version = add_version(
            ctx,
            name=served.split(":")[0],
            pin=custom.resolve(str(where)),
            lineage={"adapter_of": str(base.id), "base_model_id": str(base.id)},
        )
        ctx.session.commit()
        return version.ref


def test_health_is_the_served_name_not_any_answer(
    cli: Any, tenant: Any, hub: Any, make_context: Any, tmp_path: Path
) -> None:
    """Reproduction: deploy ``tiny`` (acme/tiny-llama) with ``--instance`` on an instance whose
    vLLM answers ``/health`` 200 but serves another model. On main the deployment was
    ``running``/healthy. Now it is ``starting`` until ``/v1/models`` lists the served name."""
    _hf_base(cli)
    with FakeVllm("acme/tiny-llama", tmp_path, lists_base=False) as vllm:
        inst = make_instance(
            make_context, endpoint=vllm.server.url, checkpoint="acme/tiny-llama", kind="openai"
        )
        dep = cli.ok("model", "deploy", "tiny", "--instance", inst, tenant="acme")
        assert dep["status"] == "starting", dep
        assert dep["health"]["path"] == "/v1/models"
        assert "acme/tiny-llama not served" in dep["health"]["detail"]
        vllm.lists_base = True
        checked = cli.ok("model", "deployments", "--check", tenant="acme")
        assert checked[0]["status"] == "running" and checked[0]["served_name"] == "acme/tiny-llama"


def test_replicas_rent_separate_instances_and_terminate_stops_the_deployment(
    cli: Any, tenant: Any, hub: Any, vast: FakeVast, db_url: str
) -> None:
    """Reproduction: ``model deploy tiny --gpu-type RTX_4090 --max-price 1 --replicas 2``
    rented ONE instance on main (``--replicas`` was stored and did nothing), and after
    ``gpu terminate`` the deployment stayed "starting" forever. Now two instances are rented,
    each a replica, and once both are terminated the deployment is stopped."""
    _hf_base(cli)
    vast.boot_polls = 10**6  # they stay loading: no endpoint yet
    vast.add_offer(1, dph_base=0.3)
    vast.add_offer(2, dph_base=0.31)
    dep = cli.ok(
        "model",
        "deploy",
        "tiny",
        "--gpu-type",
        "RTX_4090",
        "--max-price",
        "1",
        "--replicas",
        "2",
        tenant="acme",
    )
    assert len(vast.rents) == 2 and dep["replicas"] == 2
    instances = [r["instance_id"] for r in dep["replica_instances"]]
    assert len(set(instances)) == 2
    assert dep["status"] == "starting"
    assert all(r["health"]["status"] == "not_running" for r in dep["replica_instances"])
    assert count(db_url, "SELECT count(*) FROM model_deployment_replicas") == 2
    # --check asks vast.ai about booting replicas: once one runs, its endpoint is probed
    with FakeVllm("acme/tiny-llama", Path.home()) as vllm:
        vast.endpoint_port = vllm.server.port
        vast.set_status(7_000_001, "running")
        (checked,) = cli.ok("model", "deployments", "--check", tenant="acme")
        by_provider = {
            cli.ok("gpu", "status", i, tenant="acme")["provider_instance_id"]: i for i in instances
        }
        up = by_provider["7000001"]
        first = next(r for r in checked["replica_instances"] if r["instance_id"] == up)
        assert first["status"] == "running", first
        assert first["endpoint_url"].endswith(f":{vllm.server.port}")
        assert checked["status"] == "starting"  # the other replica still boots
    cli.ok("gpu", "terminate", instances[0], "--yes", tenant="acme")
    listed = cli.ok("model", "deployments", tenant="acme")
    assert listed[0]["status"] == "unhealthy"  # one replica left of two
    cli.ok("gpu", "terminate", instances[1], "--yes", tenant="acme")
    assert cli.ok("model", "deployments", tenant="acme") == []
    stopped = cli.ok("model", "deployments", "--all", tenant="acme")
    assert stopped[0]["status"] == "stopped" and stopped[0]["stopped_by"] == "system:instance-gone"
    assert count(db_url, "SELECT count(*) FROM model_deployments WHERE status='starting'") == 0


@pytest.fixture
def sshd(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Sshd]:
    reason = missing_reason()
    if reason:
        pytest.skip(reason)
    with Sshd(tmp_path / "sshd") as server:
        monkeypatch.setenv("SHIFTY_SSH_KEY", str(server.client_key))
        monkeypatch.setenv("SHIFTY_SSH_USER", server.user)
        yield server


def test_adapter_served_on_vllm_replicas_over_ssh(
    cli: Any,
    tenant: Any,
    hub: Any,
    vast: FakeVast,
    sshd: Sshd,
    make_context: Any,
    tmp_path: Path,
) -> None:
    """Reproduction: deploying a fine-tuned adapter was refused on main ("a custom model: the
    serving images start Hugging Face or Ollama models") or, with --instance, only recorded on
    an instance serving its base. Now each of two rented vLLM instances starts with
    ``--enable-lora --lora-modules NAME=PATH``, gets the adapter over SSH, and is healthy once
    its ``/v1/models`` lists the version's name."""
    _hf_base(cli)
    served = f"tuned{uuid.uuid4().hex[:6]}:1"
    ref = _adapter(make_context, tmp_path / "adapter", "tiny", served)
    assert ref == served
    home = Path.home()
    target = home / "shifty-adapters" / served.replace(":", "-")
    vast.ssh_host, vast.ssh_port = "127.0.0.1", sshd.port
    vast.add_offer(1, dph_base=0.3)
    vast.add_offer(2, dph_base=0.31)
    try:
        with (
            FakeVllm("acme/tiny-llama", home, vast=vast) as one,
            FakeVllm("acme/tiny-llama", home, vast=vast) as two,
        ):
            vast.endpoint_ports = {7_000_001: one.server.port, 7_000_002: two.server.port}
            dep = cli.ok("model", "deploy", ref, *ON_A_RENTAL, "--replicas", "2", tenant="acme")
        assert dep["status"] == "running", dep
        assert dep["served_name"] == served
        assert [r["status"] for r in dep["replica_instances"]] == ["running", "running"]
        for rent in vast.rents:
            onstart = rent["body"]["onstart"]
            assert "vllm serve acme/tiny-llama" in onstart and "--enable-lora" in onstart
            assert f"--lora-modules {served}=" in onstart
            assert rent["body"]["env"]["VLLM_ALLOW_RUNTIME_LORA_UPDATING"] == "True"
        got = (target / "adapter_model.safetensors").read_bytes()
        assert got == b"\7" * 2048 and (target / ".complete").exists()
    finally:
        shutil.rmtree(target, ignore_errors=True)


def test_adapter_served_on_ollama_through_blobs_and_create(
    cli: Any, tenant: Any, make_context: Any, tmp_path: Path
) -> None:
    """Reproduction: on main an adapter deployed with --instance on an Ollama host was only
    recorded (its health was the host's). Now base and adapter are uploaded as blobs, the
    model is created under the version's name, and health waits for that name in the tags."""
    from tests.fakes.ollama import FakeOllama

    base_dir = tmp_path / "base"
    base_dir.mkdir()
    (base_dir / "config.json").write_text('{"model_type": "llama"}')
    (base_dir / "model.safetensors").write_bytes(b"\1" * 4096)
    register_custom(cli, "base", base_dir)
    served = "tuned:1"
    ref = _adapter(make_context, tmp_path / "adapter", "base", served)
    with FakeOllama() as ollama:
        inst = make_instance(make_context, endpoint=ollama.url, checkpoint=None, kind="ollama")
        res = cli("model", "deploy", ref, "--instance", inst, tenant="acme")
        assert res.exit_code == 4 and "--server ollama" in res.error["message"]
        dep = cli.ok(
            "model", "deploy", ref, "--instance", inst, "--server", "ollama", tenant="acme"
        )
        assert dep["status"] == "running" and dep["health"]["path"] == "/api/tags"
        body = ollama.created[served]
        assert set(body["files"]) == {"config.json", "model.safetensors"}
        assert set(body["adapters"]) == {"adapter_config.json", "adapter_model.safetensors"}
        assert set(body["files"].values()) | set(body["adapters"].values()) <= set(ollama.blobs)
        # served: the adapter's files and its base checkpoint are held from sweeps and erasure
        tuned = cli.ok("model", "show", ref, tenant="acme")
        base = cli.ok("model", "show", "base", tenant="acme")
        held = cli.ok("data", "asset", "show", tuned["asset_id"], tenant="acme")["implicit_holds"]
        assert len(held) == 1 and f"deployment {dep['id'][:8]}" in held[0]["reason"]
        held = cli.ok("data", "asset", "show", base["asset_id"], tenant="acme")["implicit_holds"]
        assert held and held[0]["reason"].startswith("base of model tuned:1")
        cli.ok("model", "undeploy", dep["id"], tenant="acme")
        for asset_id in (tuned["asset_id"], base["asset_id"]):
            shown = cli.ok("data", "asset", "show", asset_id, tenant="acme")
            assert shown["implicit_holds"] == []


def test_adapter_that_cannot_be_sent_is_reported_on_its_replica(
    db_url: str,
    cli: Any,
    tenant: Any,
    hub: Any,
    vast: FakeVast,
    make_context: Any,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """An instance whose SSH endpoint refuses: deploy exits 6 with one line, the deployment is
    kept with the replica's health saying why (``deployments --check`` retries nothing silently)."""
    if missing_reason():
        pytest.skip(missing_reason())
    _hf_base(cli)
    ref = _adapter(make_context, tmp_path / "adapter", "tiny", "tuned:1")
    with socket.socket() as sock:  # a port where nothing listens
        sock.bind(("127.0.0.1", 0))
        closed = sock.getsockname()[1]
    vast.ssh_host, vast.ssh_port = "127.0.0.1", closed
    monkeypatch.setenv("SHIFTY_SSH_USER", "nobody")
    vast.add_offer(1, dph_base=0.3)
    res = cli("model", "deploy", ref, *ON_A_RENTAL, tenant="acme")
    assert res.exit_code == 6, res.stderr
    assert "sending the adapter" in res.error["message"]
    assert len(res.stderr.strip().splitlines()) == 1
    assert count(db_url, "SELECT count(*) FROM model_deployments WHERE status='unhealthy'") == 1
    (dep,) = cli.ok("model", "deployments", tenant="acme")
    (replica,) = dep["replica_instances"]
    assert replica["status"] == "unhealthy"
    assert replica["health"]["detail"].startswith("adapter not delivered")
