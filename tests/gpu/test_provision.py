"""Provisioning: cheapest offer under the ceiling, refusals that rent nothing, taken offers,
lost create responses, regions, the serving image and --wait."""

from __future__ import annotations

import json

from tests.fakes.vastai import FakeVast


def _rent_bodies(vast: FakeVast) -> list[dict]:
    return [r.json() for r in vast.requests if r.method == "PUT" and "/asks/" in r.path]


def test_rents_cheapest_total_under_ceiling(gpu, vast):
    # offer 1 has the cheaper GPU but expensive storage: 0.40 + 0.90*100/720 = 0.525
    vast.add_offer(1, dph_base=0.40, storage_cost=0.90)
    # offer 2: 0.45 + 0.072*100/720 = 0.46 -> cheapest total
    vast.add_offer(2, dph_base=0.45, storage_cost=0.072)
    vast.add_offer(3, dph_base=0.20, gpu_name="RTX 3090")  # wrong type
    vast.add_offer(4, dph_base=0.10, verified=False)  # unverified
    res = gpu("provision", "--type", "RTX_4090", "--max-price", "0.50", "--disk", "100")
    assert res.exit_code == 0, res.stderr
    inst = res.json
    assert [r["offer_id"] for r in vast.rents] == [2]
    assert inst["status"] == "loading"
    assert inst["price_per_hour"] == "0.46"
    assert inst["max_price_per_hour"] == "0.50"
    assert inst["gpu_type"] == "RTX_4090" and inst["gpu_count"] == 1 and inst["disk_gb"] == 100
    assert inst["provider"] == "vastai"
    assert inst["provider_instance_id"] == str(vast.rents[0]["instance_id"])
    for key in (
        "id",
        "tenant_id",
        "region",
        "model_checkpoint",
        "endpoint_url",
        "health",
        "created_at",
        "terminated_at",
        "cost_to_date",
    ):
        assert key in inst
    # the machine carries a label naming tenant and instance
    assert vast.rents[0]["label"] == f"shifty-ent:{inst['tenant_id']}:{inst['id']}"
    search = next(r for r in vast.requests if r.path == "/api/v0/bundles/")
    query = search.json()
    assert query["gpu_name"] == {"eq": "RTX 4090"}
    assert query["verified"] == {"eq": True} and query["rented"] == {"eq": False}
    assert query["allocated_storage"] == 100.0
    assert query["order"] == [["dph_total", "asc"]]
    body = _rent_bodies(vast)[0]
    assert body["client_id"] == "me" and body["disk"] == 100
    assert body["cancel_unavail"] is True
    # every call used the canonical path and the bearer header, never ?api_key=
    for r in vast.requests:
        assert r.path.endswith("/")
        assert "api_key" not in r.query
    rent = next(r for r in vast.requests if "/asks/" in r.path)
    assert rent.headers["authorization"].startswith("Bearer ")
    assert rent.headers["content-type"] == "application/json"
    listed = gpu("list").json
    assert [i["id"] for i in listed] == [inst["id"]]


def test_no_offer_under_ceiling_refuses_and_rents_nothing(gpu, vast):
    vast.add_offer(1, dph_base=0.80)
    res = gpu("provision", "--type", "RTX_4090", "--max-price", "0.50")
    assert res.exit_code == 4
    assert res.error["type"] == "refused"
    assert "nothing rented" in res.error["message"]
    assert vast.rents == []
    assert not any("/asks/" in r.path for r in vast.requests)
    assert gpu("list").json == []


def test_hourly_budget_refusal(cli, gpu, vast):
    cli.ok("gpu", "budget", "set", "--hourly", "0.70", tenant="acme")
    vast.add_offer(1, dph_base=0.40, storage_cost=0.0)
    vast.add_offer(2, dph_base=0.41, storage_cost=0.0)
    first = gpu("provision", "--type", "RTX_4090", "--max-price", "1")
    assert first.exit_code == 0, first.stderr
    second = gpu("provision", "--type", "RTX_4090", "--max-price", "1")
    assert second.exit_code == 4
    assert "hourly GPU budget" in second.error["message"]
    assert len(vast.rents) == 1
    assert len(gpu("list").json) == 1


def test_monthly_budget_refusal_counts_projection(cli, gpu, vast):
    # 2026-03-31 12:00 -> 12 hours to month end; 1.00/h x 12 = 12 > 10
    env = {"SHIFTY_NOW": "2026-03-31T12:00:00Z"}
    cli.ok("gpu", "budget", "set", "--monthly", "10", tenant="acme")
    vast.add_offer(1, dph_base=1.0, storage_cost=0.0)
    res = gpu("provision", "--type", "RTX_4090", "--max-price", "2", env=env)
    assert res.exit_code == 4
    assert "monthly GPU budget" in res.error["message"]
    assert vast.rents == []
    # with 8 hours left the same rent fits (8 <= 10)
    ok = gpu(
        "provision",
        "--type",
        "RTX_4090",
        "--max-price",
        "2",
        env={"SHIFTY_NOW": "2026-03-31T16:00:00Z"},
    )
    assert ok.exit_code == 0, ok.stderr


def test_offer_taken_between_search_and_rent_uses_next(gpu, vast):
    vast.add_offer(1, dph_base=0.30)
    vast.add_offer(2, dph_base=0.35)
    vast.take_on_search = {1}
    res = gpu("provision", "--type", "RTX_4090", "--max-price", "1")
    assert res.exit_code == 0, res.stderr
    asks = [r.path for r in vast.requests if "/asks/" in r.path]
    assert asks == ["/api/v0/asks/1/", "/api/v0/asks/2/"]
    assert [r["offer_id"] for r in vast.rents] == [2]
    assert res.json["provider_instance_id"] == str(vast.rents[0]["instance_id"])


def test_every_offer_taken_is_a_conflict_and_rents_nothing(gpu, vast):
    vast.add_offer(1, dph_base=0.30)
    vast.take_on_search = {1}
    res = gpu("provision", "--type", "RTX_4090", "--max-price", "1")
    assert res.exit_code == 5
    assert vast.rents == []
    rows = gpu("list").json
    assert [r["status"] for r in rows] == ["failed"]


def test_lost_create_response_rents_exactly_one(gpu, vast):
    vast.add_offer(1, dph_base=0.30)
    vast.add_offer(2, dph_base=0.31)
    vast.fail_next("PUT", r"^/api/v0/asks/", "drop_after")
    res = gpu("provision", "--type", "RTX_4090", "--max-price", "1")
    assert res.exit_code == 0, res.stderr
    assert len(vast.rents) == 1
    assert len(vast.instances) == 1
    assert res.json["provider_instance_id"] == str(vast.rents[0]["instance_id"])
    # exactly one create was sent; the instance was found again by its label
    assert vast.method_count("PUT", "/api/v0/asks/") == 1
    label_lookups = [
        r
        for r in vast.requests
        if r.path == "/api/v1/instances/" and "label" in json.loads(r.query["select_filters"][0])
    ]
    assert label_lookups


def test_create_500_not_processed_is_rechecked_then_retried_once(gpu, vast):
    vast.add_offer(1, dph_base=0.30)
    vast.fail_next("PUT", r"^/api/v0/asks/", "500")  # answered 500 before renting anything
    res = gpu("provision", "--type", "RTX_4090", "--max-price", "1")
    assert res.exit_code == 0, res.stderr
    assert vast.method_count("PUT", "/api/v0/asks/") == 2
    assert len(vast.rents) == 1 and len(vast.instances) == 1


def test_search_retries_429_with_retry_after_and_500(gpu, vast, retry_waits):
    vast.add_offer(1, dph_base=0.30)
    vast.fail_next("POST", r"^/api/v0/bundles/", "429", retry_after="0.3")
    vast.fail_next("POST", r"^/api/v0/bundles/", "500")
    res = gpu("offers", "--type", "RTX_4090")
    assert res.exit_code == 0, res.stderr
    assert len(retry_waits) == 2 and retry_waits[0] >= 0.3  # Retry-After is a floor
    assert vast.method_count("POST", "/api/v0/bundles/") == 3
    assert [o["offer_id"] for o in res.json] == [1]


def test_region_us_east_filters_states(gpu, vast):
    vast.add_offer(1, dph_base=0.20, geolocation="Oregon, US")
    vast.add_offer(2, dph_base=0.25, geolocation="Virginia, US")
    vast.add_offer(3, dph_base=0.10, geolocation="Quebec, CA")
    offers = gpu("offers", "--type", "RTX_4090", "--region", "us-east").json
    assert [o["offer_id"] for o in offers] == [2]
    query = next(r for r in vast.requests if r.path == "/api/v0/bundles/").json()
    assert query["geolocation"] == {"eq": "US"}
    ca = gpu("offers", "--type", "RTX_4090", "--region", "CA").json
    assert [o["offer_id"] for o in ca] == [3]


def test_a100_40_and_80_differ_by_memory(gpu, vast):
    vast.add_offer(1, gpu_name="A100 PCIE", gpu_ram=40960, dph_base=0.8)
    vast.add_offer(2, gpu_name="A100 SXM4", gpu_ram=81920, dph_base=1.2)
    assert [o["offer_id"] for o in gpu("offers", "--type", "A100_40GB").json] == [1]
    assert [o["offer_id"] for o in gpu("offers", "--type", "A100_80GB").json] == [2]
    types = {t["type"]: t for t in gpu("types").json}
    assert types["H100"]["vast_gpu_names"] == ["H100 PCIE", "H100 SXM", "H100 NVL"]


def test_bad_input_changes_nothing(gpu, vast):
    vast.add_offer(1)
    for args, code in (
        (("--type", "RTX_9999", "--max-price", "1"), 2),
        (("--type", "RTX_4090", "--max-price", "-1"), 2),
        (("--type", "RTX_4090", "--max-price", "1", "--region", "mars"), 2),
    ):
        res = gpu("provision", *args)
        assert res.exit_code == code, (args, res.stderr)
    assert vast.requests == []
    assert gpu("list").json == []


def test_labeler_cannot_provision(gpu, vast):
    vast.add_offer(1)
    res = gpu("provision", "--type", "RTX_4090", "--max-price", "1", user="lars")
    assert res.exit_code == 4
    assert vast.rents == []


def test_model_wait_records_endpoint_and_server(gpu, vast):
    vast.add_offer(1, dph_base=0.30)
    vast.endpoint_port = 31234
    res = gpu(
        "provision",
        "--type",
        "RTX_4090",
        "--max-price",
        "1",
        "--model",
        "meta-llama/Llama-2-7b-chat-hf",
        "--wait",
        "--poll-interval",
        "0.05",
    )
    assert res.exit_code == 0, res.stderr
    inst = res.json
    assert inst["status"] == "running"
    assert inst["endpoint_url"] == "http://127.0.0.1:31234"
    assert inst["model_checkpoint"] == "meta-llama/Llama-2-7b-chat-hf"
    body = _rent_bodies(vast)[0]
    assert body["image"] == "vllm/vllm-openai:latest"
    assert body["env"]["-p 8000:8000"] == "1"
    assert body["args"][:2] == ["--model", "meta-llama/Llama-2-7b-chat-hf"]


def test_ollama_model_uses_ollama_image(gpu, vast):
    vast.add_offer(1, dph_base=0.30)
    res = gpu("provision", "--type", "RTX_4090", "--max-price", "1", "--model", "llama3:8b")
    assert res.exit_code == 0, res.stderr
    body = _rent_bodies(vast)[0]
    assert body["image"] == "ollama/ollama:latest"
    assert "ollama pull llama3:8b" in body["onstart"]
    assert "-p 11434:11434" in body["env"]


def test_wait_stops_at_exited_with_exit_6(gpu, vast):
    vast.add_offer(1, dph_base=0.30)
    vast.boot_polls = 10**6
    import threading

    def crash() -> None:
        import time

        for _ in range(200):
            if vast.instances:
                vast.set_status(next(iter(vast.instances)), "exited")
                return
            time.sleep(0.01)

    t = threading.Thread(target=crash)
    t.start()
    res = gpu(
        "provision",
        "--type",
        "RTX_4090",
        "--max-price",
        "1",
        "--wait",
        "--poll-interval",
        "0.05",
        "--timeout",
        "10",
    )
    t.join()
    assert res.exit_code == 6
    assert "exited" in res.error["message"]
    rows = gpu("list").json
    assert rows[0]["status"] == "exited"  # rented and recorded, so it can be terminated


def test_wait_timeout_exit_6_keeps_instance(gpu, vast):
    vast.add_offer(1, dph_base=0.30)
    vast.boot_polls = 10**6
    res = gpu(
        "provision",
        "--type",
        "RTX_4090",
        "--max-price",
        "1",
        "--wait",
        "--poll-interval",
        "0.05",
        "--timeout",
        "1",
    )
    assert res.exit_code == 6
    assert "still loading" in res.error["message"]
    assert gpu("list").json[0]["status"] == "loading"


def test_lost_create_and_failed_label_check_is_recovered_by_reconcile(gpu, vast):
    vast.add_offer(1, dph_base=0.30)
    vast.fail_next("PUT", r"^/api/v0/asks/", "drop_after")
    vast.fail_next("GET", r"^/api/v1/instances/", "500", times=10)
    res = gpu("provision", "--type", "RTX_4090", "--max-price", "1")
    assert res.exit_code == 6
    assert "gpu reconcile" in res.error["message"]
    (row,) = gpu("list").json
    assert row["status"] == "requested" and row["provider_instance_id"] is None
    assert len(vast.rents) == 1
    vast.faults.clear()
    summary = gpu("reconcile", tenant=None).json
    assert [r["provider_instance_id"] for r in summary["recovered"]] == [
        vast.rents[0]["instance_id"]
    ]
    assert summary["orphans"] == []
    shown = gpu("status", row["id"]).json
    assert shown["provider_instance_id"] == str(vast.rents[0]["instance_id"])
    assert len(vast.rents) == 1
