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
    from shifty_ent.gpu import health, instances

    inst = _running(gpu, vast, "org/model", model_server.port)
    cli.ok("tenant", "create", "beta", user="bob")
    with make_context(tenant="acme") as ctx:
        obj = instances.get_instance(ctx, inst["id"])
        assert health.check_health(ctx, obj)["status"] == "healthy"
    with make_context(tenant="beta", user="bob") as ctx, pytest.raises(NotFound):
        health.check_health(ctx, inst["id"])


class SlowEndpoint:
    """A model server on 127.0.0.1 that takes ``delay`` s per answer (``/api/tags`` never
    answers in time) and records how many probes it served at once."""

    def __init__(self, delay: float) -> None:
        import threading

        self.delay = delay
        self.in_flight = 0
        self.most_at_once = 0
        self.lock = threading.Lock()
        self.release = threading.Event()
        self.server = LoopbackServer(self.handle, max_requests=100, max_seconds=60)

    def handle(self, req):
        with self.lock:
            self.in_flight += 1
            self.most_at_once = max(self.most_at_once, self.in_flight)
        try:
            if req.path == "/api/tags":  # hangs past the probe timeout, then hangs up
                self.release.wait(10)
                return Response(drop=True)
            self.release.wait(self.delay)
            return Response(200, {"data": [{"id": "m"}]})
        finally:
            with self.lock:
                self.in_flight -= 1

    def __enter__(self) -> SlowEndpoint:
        self.server.start()
        return self

    def __exit__(self, *exc) -> None:
        self.release.set()
        self.server.stop()


def test_reconcile_probes_slow_and_dead_endpoints_concurrently(
    gpu, vast, monkeypatch, make_context
):
    """Four endpoints taking 1 s each, one that never answers (timeout 1.5 s) and one that
    refuses connections: probed one after another that is at least 5.5 s; reconcile takes
    about the longest single probe, and stores every result."""
    import time
    import uuid

    from sqlalchemy import update

    from shifty_ent.gpu import health
    from shifty_ent.gpu.tables import GpuInstance

    monkeypatch.setattr(health, "PROBE_TIMEOUT_S", 1.5)
    with LoopbackServer(lambda req: Response(200)) as dead:
        dead_url = dead.url  # stopped below: connections are refused
    with SlowEndpoint(delay=1.0) as slow:
        slow_ones = [_running(gpu, vast, f"org/model-{i}", slow.server.port) for i in range(4)]
        hanging = _running(gpu, vast, "llama3:8b", slow.server.port)
        vast.add_offer(2, dph_base=0.3)
        refused = gpu("provision", "--type", "RTX_4090", "--max-price", "1", "--wait").json
        with make_context() as ctx:  # a machine whose server is down
            ctx.session.execute(
                update(GpuInstance)
                .where(GpuInstance.id == uuid.UUID(refused["id"]))
                .values(endpoint_url=dead_url)
            )
        started = time.perf_counter()
        summary = gpu("reconcile", tenant=None).json
        elapsed = time.perf_counter() - started
        assert slow.most_at_once == 5  # the four slow ones and the hanging one, all at once
    statuses = {h["instance_id"]: h["status"] for h in summary["health"]}
    assert statuses == {
        **{s["id"]: "healthy" for s in slow_ones},
        hanging["id"]: "unreachable",
        refused["id"]: "unreachable",
    }
    assert elapsed < 4.0, f"reconcile took {elapsed:.1f} s: probes ran one after another?"
    for s in slow_ones:
        assert gpu("status", s["id"]).json["health"]["status"] == "healthy"
    stored = gpu("status", hanging["id"]).json["health"]
    assert stored["status"] == "unreachable" and "Timeout" in stored["detail"]
    assert gpu("status", refused["id"]).json["health"]["status"] == "unreachable"


def test_probe_pool_is_bounded_and_keeps_order(monkeypatch):
    from shifty_ent.gpu import health
    from shifty_ent.gpu.tables import GpuInstance

    with SlowEndpoint(delay=0.3) as slow:
        insts = [
            GpuInstance(status="running", endpoint_url=slow.server.url, server_kind="openai")
            for _ in range(6)
        ]
        insts.insert(2, GpuInstance(status="loading", endpoint_url=slow.server.url))
        docs = list(health.probe_many(insts, workers=2))
        assert slow.most_at_once == 2
    assert [d["status"] for d in docs] == ["healthy"] * 2 + ["not_running"] + ["healthy"] * 4
    assert len(slow.server.requests) == 6
