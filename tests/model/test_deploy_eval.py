"""Deployments on GPU instances (health through the gpu group), evaluations: recorded, computed on
labelled data via Ollama / an OpenAI-compatible endpoint / local transformers, and human review."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from tests.model.helpers import (
    count,
    make_instance,
    query,
    register_custom,
    register_dataset,
    register_llama,
    require_train_extra,
    write_jsonl,
)


@pytest.fixture
def llama(cli: Any, tenant: Any, ollama_server: Any) -> dict[str, Any]:
    return register_llama(cli)


def test_deploy_on_instance_checks_health(
    cli: Any, llama: dict[str, Any], ollama_server: Any, make_context: Any, db_url: str
) -> None:
    inst = make_instance(make_context, endpoint=ollama_server.url, checkpoint="llama3.1:8b")
    second = make_instance(make_context, endpoint=ollama_server.url, checkpoint="llama3.1:8b")
    # --replicas N means N instances: one instance cannot be two replicas
    res = cli("model", "deploy", "llama", "--instance", inst, "--replicas", "2", tenant="acme")
    assert res.exit_code == 2 and "needs 2 --instance" in res.error["message"]
    dep = cli.ok(
        "model", "deploy", "llama", "--instance", inst, "--instance", second, tenant="acme"
    )
    assert dep["status"] == "running" and dep["health"]["status"] == "healthy"
    assert dep["replicas"] == 2 and dep["endpoint_url"] == ollama_server.url
    assert dep["model"] == "llama:1" and dep["instance_id"] == inst
    assert {r["instance_id"] for r in dep["replica_instances"]} == {inst, second}
    assert {r["status"] for r in dep["replica_instances"]} == {"running"}
    assert any(r.path == "/api/tags" for r in ollama_server.requests)
    res = cli("model", "deploy", "llama", "--instance", inst, tenant="acme")
    assert res.exit_code == 5 and "already deployed" in res.error["message"]
    listed = cli.ok("model", "deployments", tenant="acme")
    assert [d["id"] for d in listed] == [dep["id"]]
    # the endpoint goes away: a check marks the deployment unhealthy
    ollama_server.server.stop()
    checked = cli.ok("model", "deployments", "--check", tenant="acme")
    assert checked[0]["status"] == "unhealthy"
    assert checked[0]["health"]["status"] == "unreachable"
    stopped = cli.ok("model", "undeploy", dep["id"][:8], user="olga", tenant="acme")
    assert stopped["status"] == "stopped" and stopped["stopped_by"] == "olga"
    assert cli.ok("model", "deployments", tenant="acme") == []
    assert len(cli.ok("model", "deployments", "--all", tenant="acme")) == 1
    res = cli("model", "undeploy", dep["id"], tenant="acme")
    assert res.exit_code == 5
    actions = [r[0] for r in query(db_url, "SELECT action FROM audit_events")]
    assert "model.deploy" in actions and "model.undeploy" in actions


def test_deploy_refusals_change_nothing(
    cli: Any,
    llama: dict[str, Any],
    ollama_server: Any,
    make_context: Any,
    db_url: str,
    checkpoint: Path,
) -> None:
    other_model = make_instance(make_context, endpoint=ollama_server.url, checkpoint="qwen2.5:0.5b")
    gone = make_instance(make_context, endpoint=None, checkpoint=None, status="terminated")
    cli.ok("tenant", "create", "globex", user="gina")
    foreign = make_instance(
        make_context,
        endpoint=ollama_server.url,
        checkpoint="llama3.1:8b",
        tenant="globex",
        user="gina",
    )
    cases = [
        (("llama", "--instance", other_model), 5, "serves qwen2.5:0.5b"),
        (("llama", "--instance", gone), 5, "terminated"),
        (("llama", "--instance", foreign), 3, "not found"),
        (("llama",), 2, "--gpu-type"),
        (("llama", "--instance", other_model, "--gpu-type", "H100"), 2, "drop --gpu-type"),
    ]
    for args, code, needle in cases:
        res = cli("model", "deploy", *args, tenant="acme")
        assert res.exit_code == code, (args, res.stderr)
        assert needle in res.error["message"]
    register_custom(cli, "mine", checkpoint)
    res = cli(
        "model", "deploy", "mine", "--gpu-type", "RTX_4090", "--max-price", "0.5", tenant="acme"
    )
    assert res.exit_code == 4 and "custom model" in res.error["message"]
    res = cli("model", "deploy", "llama", "--instance", other_model, user="audrey", tenant="acme")
    assert res.exit_code == 4
    assert count(db_url, "SELECT count(*) FROM model_deployments") == 0


def test_eval_record_and_list(cli: Any, llama: dict[str, Any], db_url: str) -> None:
    ev = cli.ok(
        "model",
        "eval",
        "record",
        "llama",
        "--type",
        "automated",
        "--metric",
        "accuracy=0.92",
        "--metric",
        "f1Score=0.89",
        tenant="acme",
    )
    assert ev["metrics"] == {"accuracy": 0.92, "f1Score": 0.89} and ev["method"] == "recorded"
    for bad in (["--metric", "accuracy"], ["--metric", "acc=high"], ["--metric", "acc=nan"]):
        res = cli("model", "eval", "record", "llama", "--type", "automated", *bad, tenant="acme")
        assert res.exit_code == 2, bad
    assert (
        cli(
            "model",
            "eval",
            "record",
            "llama",
            "--type",
            "automated",
            "--metric",
            "a=1",
            user="lars",
            tenant="acme",
        ).exit_code
        == 4
    )
    listed = cli.ok("model", "eval", "list", "llama", tenant="acme")
    assert [e["id"] for e in listed] == [ev["id"]]
    assert count(db_url, "SELECT count(*) FROM model_evaluations") == 1


def test_classification_metrics_by_hand() -> None:
    from shifty_ent.model.evaluation import UNPARSED, classification_metrics

    gold = ["pass", "pass", "fail", "fail", "flaky"]
    pred = ["pass", "fail", "fail", "fail", UNPARSED]
    m = classification_metrics(gold, pred, ["fail", "flaky", "pass"])
    assert m["accuracy"] == 0.6 and m["unparsed"] == 1
    assert m["per_label"]["fail"] == {
        "precision": pytest.approx(2 / 3, abs=1e-6),
        "recall": 1.0,
        "f1": 0.8,
        "support": 2,
    }
    assert m["per_label"]["pass"]["recall"] == 0.5 and m["per_label"]["pass"]["precision"] == 1.0
    assert m["per_label"]["flaky"]["f1"] == 0.0
    assert m["precision"] == pytest.approx((2 / 3 + 0 + 1) / 3, abs=1e-6)
    assert m["confusion_matrix"]["pass"]["fail"] == 1
    assert m["confusion_matrix"]["flaky"][UNPARSED] == 1


LABELLED = [
    {"text": "login button not found", "label": "selector"},
    {"text": "connection reset by peer", "label": "network"},
    {"text": "expected 3 got 4", "label": "assertion"},
    {"text": "element #buy missing", "label": "selector"},
    {"text": "DNS lookup failed", "label": "network"},
    {"text": "timeout waiting for socket", "label": "network"},
]


def keyword_judge(prompt: str) -> str:
    text = prompt.split("Input:", 1)[1].lower()
    if "button" in text or "element" in text:
        return "The label is selector."
    if "expected" in text or "timeout" in text:  # the timeout example is deliberately wrong
        return "assertion"
    if "dns" in text:
        return "I am not sure"
    return "network"


@pytest.mark.parametrize("via", ["ollama", "endpoint"])
def test_eval_run_remote_computes_metrics(
    cli: Any,
    tenant: Any,
    ollama_server: Any,
    make_context: Any,
    tmp_path: Path,
    via: str,
    db_url: str,
) -> None:
    ollama_server.respond = keyword_judge
    register_llama(cli)
    data = register_dataset(make_context, write_jsonl(tmp_path / "labelled.jsonl", LABELLED))
    extra = ["--endpoint", ollama_server.url + "/v1"] if via == "endpoint" else []
    ev = cli.ok("model", "eval", "run", "llama", "--dataset", data, *extra, tenant="acme")
    m = ev["metrics"]
    assert m["examples"] == 6 and m["accuracy"] == pytest.approx(4 / 6, abs=1e-6)
    assert m["unparsed"] == 1
    cm = ev["details"]["confusion_matrix"]
    assert cm["network"] == {"assertion": 1, "network": 1, "selector": 0, "<unparsed>": 1}
    assert cm["selector"]["selector"] == 2 and cm["assertion"]["assertion"] == 1
    assert ev["details"]["per_label"]["assertion"]["precision"] == 0.5
    assert ev["details"]["predictor"] == ("openai_endpoint" if via == "endpoint" else "ollama")
    path = "/v1/chat/completions" if via == "endpoint" else "/api/chat"
    assert sum(1 for r in ollama_server.requests if r.path == path) == 6
    # a dataset without labels is refused before any request
    before = len(ollama_server.requests)
    bad = register_dataset(make_context, write_jsonl(tmp_path / "bad.jsonl", [{"text": "x"}]))
    res = cli("model", "eval", "run", "llama", "--dataset", bad, tenant="acme")
    assert res.exit_code == 2 and len(ollama_server.requests) == before
    assert count(db_url, "SELECT count(*) FROM model_evaluations") == 1


def test_eval_run_endpoint_failures_are_external_errors(
    cli: Any,
    llama: dict[str, Any],
    ollama_server: Any,
    make_context: Any,
    tmp_path: Path,
    db_url: str,
) -> None:
    """Reproduction: ``model eval run llama --dataset D --endpoint URL`` where nothing listens at
    URL, or where the server answers 404: exit 6 with one line naming the URL (``cannot reach``,
    ``answered HTTP 404``), and no evaluation is stored."""
    import socket

    data = register_dataset(make_context, write_jsonl(tmp_path / "labelled.jsonl", LABELLED))
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        closed = f"http://127.0.0.1:{sock.getsockname()[1]}/v1"
    res = cli(
        "model", "eval", "run", "llama", "--dataset", data, "--endpoint", closed, tenant="acme"
    )
    assert res.exit_code == 6
    assert res.error["message"].startswith(f"cannot reach {closed}/chat/completions: ")
    missing = ollama_server.url + "/nowhere/v1"
    res = cli(
        "model", "eval", "run", "llama", "--dataset", data, "--endpoint", missing, tenant="acme"
    )
    assert res.exit_code == 6
    assert res.error["message"] == (
        f"{missing}/chat/completions answered HTTP 404: 404 page not found"
    )
    assert count(db_url, "SELECT count(*) FROM model_evaluations") == 0


@pytest.mark.slow
def test_eval_run_local_transformers(
    cli: Any, tenant: Any, make_context: Any, tmp_path: Path
) -> None:
    require_train_extra()
    from tests.model.tiny import build_tiny_llama, sample_texts

    tiny = build_tiny_llama(tmp_path / "tiny", sample_texts(80) + [r["text"] for r in LABELLED])
    cli.ok(
        "model", "register", "tiny", "--source", "custom", "--source-id", str(tiny), tenant="acme"
    )
    data = register_dataset(make_context, write_jsonl(tmp_path / "labelled.jsonl", LABELLED))
    ev = cli.ok("model", "eval", "run", "tiny", "--dataset", data, tenant="acme")
    m, d = ev["metrics"], ev["details"]
    assert d["predictor"] == "local" and m["examples"] == 6 and m["unparsed"] == 0
    diagonal = sum(d["confusion_matrix"][label][label] for label in d["labels"])
    assert m["accuracy"] == pytest.approx(diagonal / 6, abs=1e-6)
    assert sum(sum(row.values()) for row in d["confusion_matrix"].values()) == 6
    # deterministic: a second run predicts the same
    again = cli.ok("model", "eval", "run", "tiny", "--dataset", data, tenant="acme")
    assert again["details"]["confusion_matrix"] == d["confusion_matrix"]


def test_eval_human_opens_missions_and_aggregates(
    cli: Any, tenant: Any, ollama_server: Any, make_context: Any, tmp_path: Path, db_url: str
) -> None:
    ollama_server.respond = lambda prompt: "generated answer"
    register_llama(cli)
    records = [{"text": f"case {i}", "output": f"out {i}"} for i in range(8)]
    records[3].pop("output")  # this one is generated by the model
    data = register_dataset(make_context, write_jsonl(tmp_path / "outputs.jsonl", records))
    ev = cli.ok(
        "model", "eval", "human", "llama", "--dataset", data, "--sample", "8", tenant="acme"
    )
    assert ev["status"] == "pending" and len(ev["mission_ids"]) == 8
    payloads = query(db_url, "SELECT type, subject_ref, payload FROM arcade_missions")
    assert {p[0] for p in payloads} == {"review_model_output"}
    assert {p[1] for p in payloads} == {f"model_version:{ev['version_id']}"}
    outputs = sorted(str(p[2]) for p in payloads)
    assert any("generated answer" in o for o in outputs)
    from sqlalchemy import create_engine, text

    verdicts = ["correct"] * 5 + ["incorrect"] * 2 + ["unsure"]
    engine = create_engine(db_url)
    with engine.begin() as conn:
        for mid, verdict in zip(ev["mission_ids"], verdicts, strict=True):
            key = mid.replace("-", "") if db_url.startswith("sqlite") else mid
            conn.execute(
                text("UPDATE arcade_missions SET status='settled', settled_result=:v WHERE id=:i"),
                {"v": verdict, "i": key},
            )
    engine.dispose()
    listed = cli.ok("model", "eval", "list", "llama", tenant="acme")
    done = listed[0]
    assert done["status"] == "completed"
    assert done["metrics"]["correct"] == 5 and done["metrics"]["incorrect"] == 2
    assert done["metrics"]["accuracy"] == pytest.approx(5 / 7, abs=1e-6)


@pytest.fixture
def vast(monkeypatch: pytest.MonkeyPatch) -> Any:
    from tests.fakes.vastai import FakeVast, cli_clock, serving

    with serving(FakeVast(clock=cli_clock), monkeypatch) as fake:
        yield fake


def test_deploy_provisions_through_the_gpu_group(
    cli: Any, llama: dict[str, Any], vast: Any, db_url: str
) -> None:
    vast.add_offer(1, dph_base=0.40, storage_cost=0.0)
    res = cli(
        "model", "deploy", "llama", "--gpu-type", "RTX_4090", "--max-price", "0.30", tenant="acme"
    )
    assert res.exit_code == 4 and vast.rents == []  # no offer under the ceiling: nothing rented
    assert count(db_url, "SELECT count(*) FROM model_deployments") == 0
    dep = cli.ok(
        "model", "deploy", "llama", "--gpu-type", "RTX_4090", "--max-price", "0.50", tenant="acme"
    )
    assert len(vast.rents) == 1
    inst = cli.ok("gpu", "status", dep["instance_id"], tenant="acme")
    assert inst["model_checkpoint"] == "llama3.1:8b"
    # the machine is still loading: the deployment is recorded as starting, health says why
    assert dep["status"] == "starting" and dep["health"]["status"] == "not_running"
