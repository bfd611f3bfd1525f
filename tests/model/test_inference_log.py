"""Inference logs: ``model generate`` (against a deployment) and evaluations record prompts and
outputs in a per-tenant log asset that is classified, retained, inventoried and erasable."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from tests.conftest import compliance_report, erase
from tests.model.helpers import (
    count,
    make_instance,
    register_custom,
    register_dataset,
    register_llama,
    write_jsonl,
)


def _logs(cli: Any) -> list[dict[str, Any]]:
    rows = cli.ok("data", "asset", "list", tenant="acme")
    return [a for a in rows if a["type"] == "inference_log"]


def _entries(asset: dict[str, Any]) -> list[dict[str, Any]]:
    return [json.loads(line) for line in Path(asset["location"]).read_text().splitlines()]


def test_generate_on_deployment_is_logged_inventoried_and_erasable(
    cli: Any, tenant: Any, ollama_server: Any, make_context: Any, tmp_path: Path
) -> None:
    """Reproduction: ``model generate llama --prompt ...`` did not exist on main and nothing kept
    what a tenant's model was asked (the seed's per-tenant inference logs were missing). Now the
    deployment answers, the prompt and output land in a classified log asset below the data root,
    the data_inventory report lists it, and it is erased with a certificate."""
    root = tmp_path / "acme-root"
    root.mkdir()
    cli.ok("tenant", "root", "add", str(root), "-t", "acme")
    ollama_server.respond = lambda prompt: f"echo: {prompt}"
    register_llama(cli)
    inst = make_instance(make_context, endpoint=ollama_server.url, checkpoint="llama3.1:8b")
    cli.ok("model", "deploy", "llama", "--instance", inst, tenant="acme")
    prompts = tmp_path / "prompts.jsonl"
    prompts.write_text(json.dumps({"prompt": "nul \u0000 here"}) + "\nplain line\n")
    rows = cli.ok("model", "generate", "llama", "--input", str(prompts), tenant="acme")
    assert [r["output"] for r in rows] == ["echo: nul \u0000 here", "echo: plain line"]
    assert rows[0]["via"].startswith("deployment ")
    assert any(r.path == "/api/generate" for r in ollama_server.requests)
    cli.ok(
        "model",
        "generate",
        "llama",
        "--prompt",
        "salary of bob?",
        "--classification",
        "pii",
        tenant="acme",
    )
    logs = {a["classification"]: a for a in _logs(cli)}
    assert set(logs) == {"internal", "pii"}
    assert Path(logs["pii"]["location"]).is_relative_to(root)
    entries = _entries(logs["internal"])
    assert [e["prompt"] for e in entries] == ["nul \u0000 here", "plain line"]
    assert entries[0]["output"] == "echo: nul \u0000 here" and entries[0]["model"] == "llama:1"
    assert _entries(logs["pii"])[0]["prompt"] == "salary of bob?"
    out = tmp_path / "inventory.json"
    compliance_report(cli, "data_inventory", out)
    doc = json.loads(out.read_text())
    listed = next(s for s in doc["sections"] if s["id"] == "assets")["rows"]
    assert {logs["pii"]["name"], logs["internal"]["name"]} <= {r["name"] for r in listed}
    done = erase(cli, logs["pii"]["id"], "standard", "subject asked")
    assert done["status"] == "completed" and done["certificate_id"]
    assert not Path(logs["pii"]["location"]).exists()
    # the next pii prompt starts a new log: never appended under an erasure
    cli.ok(
        "model",
        "generate",
        "llama",
        "--prompt",
        "again",
        "--classification",
        "pii",
        tenant="acme",
    )
    fresh = [a for a in _logs(cli) if a["classification"] == "pii"]
    assert len(fresh) == 1 and fresh[0]["id"] != logs["pii"]["id"]
    assert [e["prompt"] for e in _entries(fresh[0])] == ["again"]


def test_generate_refusals_change_nothing(
    cli: Any, tenant: Any, ollama_server: Any, db_url: str
) -> None:
    register_llama(cli)
    cases = [
        (("llama",), 2, "--prompt"),
        (("llama", "--prompt", " "), 2, "prompt 1"),
        (("llama", "--prompt", "x", "--classification", "secret"), 2, "--classification"),
        (("nope", "--prompt", "x"), 3, "not found"),
    ]
    for args, code, needle in cases:
        res = cli("model", "generate", *args, tenant="acme")
        assert res.exit_code == code, (args, res.stderr)
        assert needle in res.error["message"]
    res = cli("model", "generate", "llama", "--prompt", "x", user="lars", tenant="acme")
    assert res.exit_code == 4
    assert count(db_url, "SELECT count(*) FROM data_assets") == 0


def test_evaluation_prompts_and_outputs_are_logged(
    cli: Any, tenant: Any, ollama_server: Any, make_context: Any, tmp_path: Path
) -> None:
    """Reproduction: ``model eval run`` on main sent every example of a confidential dataset to
    the model and kept only the metrics; the prompts and answers were nowhere the tenant could
    account for or erase. Now they are in an inference log classified like the dataset."""
    ollama_server.respond = lambda prompt: "network"
    register_llama(cli)
    records = [{"text": "DNS failed", "label": "network"}, {"text": "x != y", "label": "logic"}]
    data = register_dataset(
        make_context, write_jsonl(tmp_path / "eval.jsonl", records), classification="confidential"
    )
    ev = cli.ok("model", "eval", "run", "llama", "--dataset", data, tenant="acme")
    (log,) = _logs(cli)
    assert log["classification"] == "confidential"
    entries = _entries(log)
    assert [e["output"] for e in entries] == ["network", "network"]
    assert "Input: DNS failed" in entries[0]["prompt"]
    assert {e["evaluation_id"] for e in entries} == {ev["id"]}
    # no data root: the log lives in the tenant's managed area, which deletion may erase
    done = erase(cli, log["id"], "standard", "done")
    assert done["status"] == "completed" and not Path(log["location"]).exists()


def test_generate_locally_when_not_deployed(
    cli: Any, tenant: Any, make_context: Any, tmp_path: Path
) -> None:
    """Reproduction: there was no way on main to ask a version that is not deployed; now a
    custom checkpoint answers locally (the train extra) and the exchange is logged with the
    checkpoint's classification."""
    from tests.model.helpers import require_train_extra

    require_train_extra()
    from tests.model.tiny import build_tiny_llama, sample_texts

    tiny = build_tiny_llama(tmp_path / "tiny", sample_texts(60))
    register_custom(cli, "tiny", tiny, "--classification", "restricted")
    rows = cli.ok(
        "model", "generate", "tiny", "--prompt", "hello", "--max-tokens", "4", tenant="acme"
    )
    assert rows[0]["via"] == "local" and isinstance(rows[0]["output"], str)
    (log,) = _logs(cli)
    assert log["classification"] == "restricted"
    assert _entries(log)[0]["output"] == rows[0]["output"]
