"""Text vast.ai sends that no store can keep (a NUL in a status message) is kept escaped."""

from __future__ import annotations

import json
from typing import Any

from tests.fakes.vastai import FakeVast
from tests.model.helpers import query


def test_status_message_with_nul_is_stored_escaped(
    gpu: Any, vast: FakeVast, rented: dict[str, Any], db_url: str
) -> None:
    """Reproduction: vast.ai reported ``status_msg`` "pull\\u0000failed"; ``gpu reconcile``
    ended with exit 1 on PostgreSQL (the driver refuses NUL). It now records the message with
    the NUL written as ``\\u0000`` and exits 0, on both backends alike."""
    pid = int(rented["provider_instance_id"])
    vast.set_status(pid, "running")
    vast.instances[pid].status_msg = "pull\x00failed \ud800"
    res = gpu("reconcile", tenant=None)
    assert res.exit_code == 0, res.stderr
    [(msg,)] = query(db_url, "SELECT status_msg FROM gpu_instances")
    assert msg == "pull\\u0000failed \\ud800"


def test_endpoint_error_text_with_nul_is_stored_escaped(
    gpu: Any, vast: FakeVast, db_url: str
) -> None:
    """Reproduction: a model endpoint answered HTTP 500 with a body holding a NUL byte;
    ``gpu health`` stored the body's start as the health detail and ended with exit 1 on
    PostgreSQL. The detail is now kept with the NUL escaped."""
    from tests.fakes.server import LoopbackServer, Response

    def handle(req: Any) -> Response:
        return Response(500, raw=b"engine\x00crashed")

    with LoopbackServer(handle, max_requests=20, max_seconds=60) as srv:
        vast.add_offer(1, dph_base=0.3)
        vast.endpoint_port = srv.port
        inst = gpu(
            "provision", "--type", "RTX_4090", "--max-price", "1", "--model", "org/model",
            "--wait", "--poll-interval", "0.05",
        ).json  # fmt: skip
        res = gpu("health", inst["id"])
    assert res.exit_code == 0, res.stderr
    assert res.json["status"] == "unhealthy"
    assert res.json["detail"] == "engine\\u0000crashed"
    [(health,)] = query(db_url, "SELECT health FROM gpu_instances")
    health = health if isinstance(health, dict) else json.loads(health)
    assert health["detail"] == "engine\\u0000crashed"
