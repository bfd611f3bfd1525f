"""Health probes of a model endpoint served by a loopback server standing in for the instance."""

from __future__ import annotations

import pytest

from tests.fakes.server import LoopbackServer, Response


@pytest.fixture
def model_server():
    state = {"status": 200, "models": [{"name": "llama3:8b"}]}

    def handle(req):
        if req.path == "/health":
            return Response(state["status"], {} if state["status"] == 200 else {"error": "boom"})
        if req.path == "/v1/models":
            return Response(200, {"data": [{"id": "m"}]})
        if req.path == "/api/tags":
            return Response(200, {"models": state["models"]})
        return Response(404, {"error": "no"})

    with LoopbackServer(handle, max_requests=200, max_seconds=60) as srv:
        srv.state = state
        yield srv


def _running(gpu, vast, model: str, port: int) -> dict:
    vast.add_offer(1, dph_base=0.3)
    vast.endpoint_port = port
    res = gpu(
        "provision",
        "--type",
        "RTX_4090",
        "--max-price",
        "1",
        "--model",
        model,
        "--wait",
        "--poll-interval",
        "0.05",
    )
    assert res.exit_code == 0, res.stderr
    return res.json


def test_openai_health_healthy_then_unhealthy(gpu, vast, model_server):
    inst = _running(gpu, vast, "org/model", model_server.port)
    res = gpu("health", inst["id"])
    assert res.exit_code == 0, res.stderr
    doc = res.json
    assert doc["status"] == "healthy" and doc["path"] == "/health" and doc["http_status"] == 200
    assert doc["latency_ms"] >= 0
    assert gpu("status", inst["id"]).json["health"]["status"] == "healthy"
    model_server.state["status"] = 503
    # /health fails, /v1/models answers: the server is up
    assert gpu("health", inst["id"]).json["status"] == "healthy"
    assert gpu("health", inst["id"]).json["path"] == "/v1/models"


def test_ollama_health_waits_for_model(gpu, vast, model_server):
    model_server.state["models"] = []
    inst = _running(gpu, vast, "llama3:8b", model_server.port)
    assert gpu("health", inst["id"]).json["status"] == "starting"
    model_server.state["models"] = [{"name": "llama3:8b"}]
    assert gpu("health", inst["id"]).json["status"] == "healthy"


def test_unreachable_endpoint_and_reconcile_probes(gpu, vast, model_server):
    inst = _running(gpu, vast, "org/model", model_server.port)
    model_server.stop()
    res = gpu("health", inst["id"])
    assert res.exit_code == 0
    assert res.json["status"] == "unreachable"
    summary = gpu("reconcile", tenant=None).json
    assert summary["health"] == [{"instance_id": inst["id"], "status": "unreachable"}]


def test_no_endpoint_without_model(gpu, vast):
    vast.add_offer(1)
    inst = gpu("provision", "--type", "RTX_4090", "--max-price", "1").json
    assert gpu("health", inst["id"]).json["status"] == "not_running"


def test_service_check_health_is_tenant_scoped(cli, make_context, gpu, vast, model_server):
    from shifty_ent.core.errors import NotFound
    from shifty_ent.gpu import service

    inst = _running(gpu, vast, "org/model", model_server.port)
    cli.ok("tenant", "create", "beta", user="bob")
    with make_context(tenant="acme") as ctx:
        obj = service.get_instance(ctx, inst["id"])
        assert service.check_health(ctx, obj)["status"] == "healthy"
    with make_context(tenant="beta", user="bob") as ctx, pytest.raises(NotFound):
        service.check_health(ctx, inst["id"])
