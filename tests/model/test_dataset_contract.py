"""One dataset contract (docs/datasets.md): what ``arcade dataset create`` writes is what
``model train start`` and ``model eval run|human`` read, as one asset, with one prompt template
that is stored with the trained version."""

from __future__ import annotations

import json
import os
import types
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest

from shifty_ent.arcade import dataset_format
from shifty_ent.arcade.mission_types import TYPES
from shifty_ent.core.errors import InvalidInput
from tests.arcade.conftest import LABELLERS, T0, Arcade, _payload
from tests.model.helpers import (
    count,
    query,
    register_llama,
    register_tiny_base_for,
    require_train_extra,
)

# 12 distinct test outputs and the verdict two labellers agree on (5 correct, 4 incorrect, 3 unsure)
AREAS = ("login", "checkout", "search", "profile", "billing", "upload")
VERDICTS = ("correct", "incorrect", "unsure")


def _outputs() -> list[tuple[dict[str, Any], str]]:
    out = []
    for i in range(12):
        verdict = (
            VERDICTS[0] if i in (0, 3, 6, 9, 11) else VERDICTS[1] if i % 3 == 1 else VERDICTS[2]
        )
        word = {"correct": "PASS", "incorrect": "FAIL", "unsure": "SKIP"}[verdict]
        payload = {"output": f"{word}: {AREAS[i % 6]} step {i}", "test_name": f"test_{i}"}
        out.append((payload, verdict))
    return out


@pytest.fixture
def arcade_dataset(cli: Any, tenant: Any) -> dict[str, Any]:
    """12 label_test_output missions answered by two labellers each, then ``dataset create``."""
    for user in LABELLERS[1:3]:
        cli.ok("user", "add", user, "--role", "labeler", tenant="acme")
    arcade = Arcade(cli)
    for n, (payload, verdict) in enumerate(_outputs()):
        t = T0 + timedelta(minutes=n)
        mission = arcade.create("label_test_output", payload, t=t, overlap=2)
        for user in ("lars", "lena"):
            arcade.answer(mission["id"], user, verdict, t=t)
    ds = arcade.ok("dataset", "create", "lto", "--mission-type", "label_test_output", user="olga")
    assert ds["rows"] == 12
    return ds


def _rows(ds: dict[str, Any]) -> list[dict[str, Any]]:
    return [json.loads(x) for x in Path(ds["path"]).read_text().splitlines()]


def test_every_mission_type_has_a_row_with_prompt_options_and_provenance() -> None:
    """The contract covers all eight mission types: each row carries its text, options, label,
    the prompt and completion a model reads, agreement and provenance, and reads back as the
    classification example it was written as."""
    for name, mtype in TYPES.items():
        payload = {**_payload(name), "meta": {"source": "ci"}}
        mission = types.SimpleNamespace(
            id="m-1",
            payload=payload,
            options=list(mtype.options),
            settled_result=mtype.options[0],
            agreement=1.0,
            gold=None,
            classification="internal",
            subject_ref=None,
        )
        row = dataset_format.mission_row(mtype, mission, answer_count=3, settled_at="2026-03-02")
        assert row["format"] == dataset_format.FORMAT and row["mission_type"] == name
        assert row["options"] == list(mtype.options) and row["label"] == mtype.options[0]
        assert row["completion"] == " " + mtype.options[0]
        assert row["task"] == mtype.description and row["input"] == payload
        for key in mtype.required:
            assert f"{key}: " in row["text"], (name, row["text"])
        assert "meta" not in row["text"]
        assert ", ".join(mtype.options) in row["prompt"] and row["text"] in row["prompt"]
        assert (row["agreement"], row["answer_count"], row["gold"]) == (1.0, 3, False)
        assert row["mission_id"] == "m-1" and row["settled_at"] == "2026-03-02"
        back = dataset_format.classification_example(row, dataset_format.DEFAULT_TEMPLATE)
        assert back == (row["prompt"], row["options"], row["label"])
        # a row written before rows carried `text` renders the same prompt from its payload
        old = {k: v for k, v in row.items() if k not in ("text", "task", "prompt", "completion")}
        assert dataset_format.classification_example(old, dataset_format.DEFAULT_TEMPLATE) == back


def test_templates_are_checked_and_never_formatted() -> None:
    for bad in ("", "{input} only", "{options} only", "{input}{options}{input}"):
        with pytest.raises(InvalidInput, match="template"):
            dataset_format.validate_template(bad)
    out = dataset_format.render_prompt(
        "{task}|{options}|{input}|{input.__class__}", text="{options}", options=["a", "b"]
    )
    assert out == "Classify the input.|a, b|{options}|{input.__class__}"


def test_arcade_dataset_is_one_asset_for_training(
    cli: Any, arcade_dataset: dict[str, Any], make_context: Any, tmp_path: Path
) -> None:
    """Bug: `model train start --dataset <arcade dataset>` queued a job whose `train run` failed
    with "dataset file ... is missing" (the asset is the directory). Now the job is queued on the
    one asset and reads the data.jsonl inside it, rendered with the template it will store."""
    base = tmp_path / "base"
    base.mkdir()
    (base / "config.json").write_text('{"model_type": "llama"}')
    cli.ok("model", "register", "b", "--source", "custom", "--source-id", str(base), tenant="acme")
    job = cli.ok("model", "train", "start", "--base", "b:1", "--dataset", "lto", tenant="acme")
    assert job["dataset_id"] == arcade_dataset["asset_id"]
    assert job["hyperparameters"]["prompt_template"] == dataset_format.DEFAULT_TEMPLATE

    from shifty_ent.model import examples

    with make_context(tenant="acme", user="olga") as ctx:
        ds = examples.open_dataset(ctx, "lto")
        learnt = examples.training_examples(ds, dataset_format.DEFAULT_TEMPLATE)
    rows = _rows(arcade_dataset)
    assert ds.path == Path(arcade_dataset["path"]) and ds.sha256 == arcade_dataset["sha256"]
    # training learns exactly the prompt and completion the file shows (not json.dumps(input))
    assert learnt == [(r["prompt"], r["completion"]) for r in rows]
    # fine-tuning a version that stores a template keeps training (and its result) on it
    own = "{task} [{options}] {input} =>"
    with make_context(tenant="acme", user="alice") as ctx:
        from shifty_ent.model.versions import get_version

        get_version(ctx, "b:1").prompt_template = own
    job = cli.ok("model", "train", "start", "--base", "b:1", "--dataset", "lto", tenant="acme")
    assert job["hyperparameters"]["prompt_template"] == own


def test_unsafe_or_empty_dataset_directory_is_refused_at_start(
    cli: Any, arcade_dataset: dict[str, Any], db_url: str, tmp_path: Path
) -> None:
    """A data.jsonl that is a symbolic link (to a file outside the dataset) is never followed,
    and a dataset directory without one is refused: one stderr line, nothing queued."""
    base = tmp_path / "base"
    base.mkdir()
    (base / "config.json").write_text('{"model_type": "llama"}')
    cli.ok("model", "register", "b", "--source", "custom", "--source-id", str(base), tenant="acme")
    data = Path(arcade_dataset["path"])
    secret = tmp_path / "secret.jsonl"
    secret.write_text(data.read_text())
    data.unlink()
    os.symlink(secret, data)
    res = cli("model", "train", "start", "--base", "b:1", "--dataset", "lto", tenant="acme")
    assert res.exit_code == 4 and "symbolic link" in res.stderr
    data.unlink()
    res = cli("model", "train", "start", "--base", "b:1", "--dataset", "lto", tenant="acme")
    assert res.exit_code == 3 and "data.jsonl" in res.stderr
    assert count(db_url, "SELECT count(*) FROM training_jobs") == 0


def test_eval_reads_the_arcade_dataset_with_the_versions_template(
    cli: Any, arcade_dataset: dict[str, Any], ollama_server: Any, make_context: Any
) -> None:
    """Bug: `eval run` and `eval human` refused arcade datasets (a directory; no `text` field).
    Now both read the one asset; `eval run` asks with the row's prompt (the training prompt), and
    a version that stores its own template is asked with that template instead."""
    truth = {r["prompt"]: r["label"] for r in _rows(arcade_dataset)}
    seen: list[str] = []

    def judge(prompt: str) -> str:
        seen.append(prompt)
        return truth.get(prompt, "no idea")

    ollama_server.respond = judge
    register_llama(cli)
    ev = cli.ok("model", "eval", "run", "llama", "--dataset", "lto", tenant="acme")
    assert ev["metrics"]["examples"] == 12 and ev["metrics"]["accuracy"] == 1.0
    assert set(seen) == set(truth) and ev["details"]["labels"] == sorted(VERDICTS)
    assert ev["details"]["prompt_template"] == dataset_format.DEFAULT_TEMPLATE
    # the version's own template is what evaluation renders with
    own = "Verdict on {input}? ({options})\n=>"
    with make_context(tenant="acme", user="alice") as ctx:
        from shifty_ent.model.versions import get_version

        get_version(ctx, "llama:1").prompt_template = own
    seen.clear()
    ev = cli.ok("model", "eval", "run", "llama", "--dataset", "lto", tenant="acme")
    assert ev["details"]["prompt_template"] == own and ev["metrics"]["accuracy"] == 0.0
    assert all(p.startswith("Verdict on ") and p.endswith("=>") for p in seen) and len(seen) == 12
    # eval human samples the arcade rows: the reviewer sees the row's text, the model its prompt
    ollama_server.respond = lambda prompt: "correct"
    human = cli.ok(
        "model", "eval", "human", "llama", "--dataset", "lto", "--sample", "3", tenant="acme"
    )
    assert human["status"] == "pending" and len(human["mission_ids"]) == 3
    texts = {r["text"] for r in _rows(arcade_dataset)}
    with make_context(tenant="acme", user="alice") as ctx:
        from shifty_ent.arcade.api import Mission

        for mid in human["mission_ids"]:
            import uuid

            mission = ctx.session.get(Mission, uuid.UUID(mid))
            assert mission is not None and mission.type == "review_model_output"
            assert mission.payload["input"] in texts and mission.payload["output"] == "correct"


@pytest.mark.slow
def test_arcade_answers_train_a_model_that_evaluation_scores_high(
    cli: Any, arcade_dataset: dict[str, Any], db_url: str, tmp_path: Path
) -> None:
    """The loop on CPU with a tiny model: arcade answers -> `dataset create` -> `train start
    --dataset` (the one asset) -> `train run` -> `eval run` on the same rows.

    Bug: a model that memorised its 12 training rows scored 12/12 in the training format and
    0/12 through `eval run` (training wrote `json.dumps(input)\\nlabel`, evaluation asked
    "Classify... Input: ... Label:"). Now both use the template stored with the version, so the
    memorised rows score high through `eval run` too."""
    require_train_extra()
    import torch

    torch.set_num_threads(1)
    rows = _rows(arcade_dataset)
    register_tiny_base_for(cli, tmp_path / "tiny", rows)
    job = cli.ok(
        "model", "train", "start", "--base", "tiny:1", "--dataset", "lto",
        "--learning-rate", "0.05", "--batch-size", "12", "--max-steps", "60",
        "--max-length", "96", tenant="acme",
    )  # fmt: skip
    done = cli.ok("model", "train", "run", job["id"], "--threads", "1", tenant="acme")
    assert done["status"] == "succeeded", done
    version = cli.ok("model", "show", done["output_version_id"], tenant="acme")
    assert version["prompt_template"] == dataset_format.DEFAULT_TEMPLATE
    lineage = version["lineage"]
    assert lineage["dataset_id"] == arcade_dataset["asset_id"]
    assert lineage["dataset_file_sha256"] == arcade_dataset["sha256"]
    ev = cli.ok("model", "eval", "run", "tiny:2", "--dataset", "lto", tenant="acme")
    assert ev["metrics"]["examples"] == 12 and ev["metrics"]["accuracy"] >= 11 / 12, ev
    assert ev["details"]["predictor"] == "local"
    assert ev["details"]["prompt_template"] == version["prompt_template"]
    human = cli.ok(
        "model", "eval", "human", "tiny:2", "--dataset", "lto", "--sample", "2", tenant="acme"
    )
    assert human["status"] == "pending" and len(human["mission_ids"]) == 2
    stored = query(
        db_url, "SELECT prompt_template FROM model_versions WHERE name = 'tiny' ORDER BY version"
    )
    assert [r[0] for r in stored] == [None, dataset_format.DEFAULT_TEMPLATE]
