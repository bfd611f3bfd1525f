"""Evaluations: recorded metrics, automated runs on labelled data, and human review missions.

``run_eval`` classifies each example of a labelled dataset (``model/examples.py``: an arcade
dataset or a JSONL file, each row's prompt rendered with the version's template, the one it was
trained with) with the version itself:
- a custom or Hugging Face checkpoint (and LoRA adapters on one) runs locally through
  transformers, choosing the option with the highest log-likelihood after the prompt, tokenized
  as training tokenized it (no sampling, so the result is reproducible);
- an Ollama version asks the Ollama server (``chat``), any version may instead be sent to a
  deployed OpenAI-compatible endpoint (``--endpoint``); the first label named in the answer is
  the prediction.
Then accuracy, macro precision/recall/F1, per-label scores and the confusion matrix are stored.
``human`` opens ``review_model_output`` missions; their verdicts aggregate when they settle.
"""

from __future__ import annotations

import math
import random
import re
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

from sqlalchemy import select
from sqlmodel import col

from shifty_ent.arcade import api as arcade_api
from shifty_ent.core.authz import authorize
from shifty_ent.core.context import Context
from shifty_ent.core.errors import ExternalServiceError, InvalidInput
from shifty_ent.core.inputs import strict_float
from shifty_ent.core.storable import escape_unstorable
from shifty_ent.data import api as data_api
from shifty_ent.model import examples, inference_log, permissions, training
from shifty_ent.model.tables import EVAL_TYPES, Evaluation, ModelVersion
from shifty_ent.model.versions import get_version, subject_ref

UNPARSED = "<unparsed>"
MAX_EVAL_EXAMPLES = 100_000
HTTP_TIMEOUT_S = 60.0


# metrics that are fractions; every metric is a measurement, never negative
RATIO_METRICS = frozenset(
    {"acc", "accuracy", "precision", "recall", "f1", "f1_macro", "f1_micro", "exact_match", "auc"}
)
METRIC_MAX = 1e12


def parse_metrics(pairs: Sequence[str]) -> dict[str, float]:
    if not pairs:
        raise InvalidInput("give at least one --metric NAME=VALUE")
    out: dict[str, float] = {}
    for pair in pairs:
        name, sep, raw = pair.partition("=")
        name = name.strip()
        if not sep or not re.match(r"^[A-Za-z_][A-Za-z0-9_.-]{0,63}$", name):
            raise InvalidInput(f"--metric {pair!r} must be NAME=VALUE")
        try:
            value = strict_float(raw)
        except ValueError:
            raise InvalidInput(f"--metric {pair!r}: {raw!r} is not a finite number") from None
        high = 1.0 if name.lower() in RATIO_METRICS else METRIC_MAX
        if not 0 <= value <= high:
            raise InvalidInput(f"--metric {pair!r} is out of range (0 to {high:g})")
        out[name] = value
    return out


def record(
    ctx: Context, ref: str, type: str, pairs: Sequence[str], *, dataset: str | None = None
) -> Evaluation:
    """Store metrics measured elsewhere (operator or admin); audited. They are shown as
    ``claimed`` everywhere and never meet a promotion gate: nothing here checked them."""
    authorize(ctx, permissions.EVAL)
    if type not in EVAL_TYPES:
        raise InvalidInput(f"--type must be one of {', '.join(EVAL_TYPES)}")
    metrics = parse_metrics(pairs)
    version = get_version(ctx, ref)
    asset = data_api.get_asset(ctx, dataset) if dataset else None
    ev = Evaluation(
        tenant_id=ctx.tenant_id,
        version_id=version.id,
        type=type,
        method="recorded",
        dataset_id=asset.id if asset else None,
        metrics=metrics,
        created_at=ctx.now(),
        created_by=ctx.actor,
        completed_at=ctx.now(),
    )
    return _save(ctx, ev, version)


def _save(ctx: Context, ev: Evaluation, version: ModelVersion) -> Evaluation:
    ctx.session.add(ev)
    ctx.session.flush()
    ctx.audit(
        "model.eval." + ev.method,
        target_type="model_evaluation",
        target_id=ev.id,
        details={
            "version": version.ref,
            "type": ev.type,
            "evidence": ev.evidence,
            "metrics": {k: v for k, v in ev.metrics.items() if not isinstance(v, dict | list)},
            "dataset_id": str(ev.dataset_id) if ev.dataset_id else None,
        },
    )
    return ev


# ------------------------------------------------------------------------------ metrics


def classification_metrics(
    gold: Sequence[str], pred: Sequence[str], labels: Sequence[str]
) -> dict[str, Any]:
    """Accuracy, macro precision/recall/F1 over ``labels``, per-label scores, confusion matrix."""
    n = len(gold)
    matrix = {g: {p: 0 for p in [*labels, UNPARSED]} for g in labels}
    for g, p in zip(gold, pred, strict=True):
        matrix.setdefault(g, {k: 0 for k in [*labels, UNPARSED]})
        matrix[g][p if p in labels else UNPARSED] += 1
    per_label = {}
    for label in labels:
        tp = matrix[label][label]
        fp = sum(matrix[g][label] for g in matrix if g != label)
        fn = sum(v for p, v in matrix[label].items() if p != label)
        precision = tp / (tp + fp) if tp + fp else 0.0
        recall = tp / (tp + fn) if tp + fn else 0.0
        f1 = 2 * precision * recall / (precision + recall) if precision + recall else 0.0
        per_label[label] = {
            "precision": round(precision, 6),
            "recall": round(recall, 6),
            "f1": round(f1, 6),
            "support": tp + fn,
        }
    k = len(labels) or 1
    correct = sum(1 for g, p in zip(gold, pred, strict=True) if g == p)
    return {
        "examples": n,
        "accuracy": round(correct / n, 6) if n else 0.0,
        "precision": round(sum(v["precision"] for v in per_label.values()) / k, 6),
        "recall": round(sum(v["recall"] for v in per_label.values()) / k, 6),
        "f1": round(sum(v["f1"] for v in per_label.values()) / k, 6),
        "unparsed": sum(1 for p in pred if p not in labels),
        "per_label": per_label,
        "confusion_matrix": matrix,
    }


# ------------------------------------------------------------------------------ predictors


def template_of(version: ModelVersion) -> str:
    """The prompt template of a version: the one it was trained with, else the default."""
    return arcade_api.validate_template(version.prompt_template or arcade_api.DEFAULT_TEMPLATE)


def first_label(answer: str, labels: Sequence[str]) -> str:
    """The label named first in a free-text answer (whole words, case-insensitive)."""
    best: tuple[int, str] | None = None
    for label in labels:
        m = re.search(rf"(?<![\w-]){re.escape(label)}(?![\w-])", answer, re.IGNORECASE)
        if m and (best is None or m.start() < best[0]):
            best = (m.start(), label)
    return best[1] if best else UNPARSED


def openai_chat(endpoint: str, model: str, gen: dict[str, Any]) -> Callable[[str], str]:
    import httpx

    from shifty_ent.model.endpoint_http import post_json

    base = endpoint.rstrip("/")
    url = base + ("/chat/completions" if base.endswith("/v1") else "/v1/chat/completions")
    client = httpx.Client(timeout=HTTP_TIMEOUT_S)

    def ask(prompt: str) -> str:
        body = {
            "model": model,
            "messages": [{"role": "user", "content": prompt}],
            "temperature": 0,
            "max_tokens": int(gen.get("max_tokens", 16)),
        }
        resp = post_json(client, url, body)
        try:
            return str(resp.json()["choices"][0]["message"]["content"])
        except (ValueError, KeyError, IndexError, TypeError):
            raise ExternalServiceError(f"{url} gave no chat completion") from None

    return ask


def ollama_chat(ctx: Context, model: str) -> Callable[[str], str]:
    import httpx
    import ollama

    from shifty_ent.model.sources.ollama import client

    cl = client(ctx.settings)

    def ask(prompt: str) -> str:
        try:
            resp = cl.chat(
                model=model,
                messages=[{"role": "user", "content": prompt}],
                options={"temperature": 0},
            )
        except (ollama.ResponseError, ConnectionError, httpx.HTTPError) as exc:
            raise ExternalServiceError(f"Ollama at {ctx.settings.ollama_host}: {exc}") from None
        return resp.message.content or ""

    return ask


class LocalClassifier:
    """Scores each label's log-likelihood after the prompt with a local causal LM."""

    def __init__(self, base: Path, adapter: Path | None) -> None:
        from shifty_ent.model import finetune

        self.model, self.tokenizer = finetune.load(base, adapter)
        self.device = next(self.model.parameters()).device

    def __call__(self, prompt: str, labels: Sequence[str]) -> str:
        """The label whose tokens are likeliest after ``prompt``, tokenized as training does."""
        import torch

        from shifty_ent.model.finetune import encode_example

        best, best_score = UNPARSED, -math.inf
        device = self.device
        for label in labels:
            ids, n_prompt = encode_example(self.tokenizer, prompt, arcade_api.completion(label))
            if n_prompt == 0 or n_prompt == len(ids):
                continue
            with torch.no_grad():
                logits = self.model(input_ids=torch.tensor([ids], device=device)).logits[0]
            logp = torch.log_softmax(logits[:-1], dim=-1)
            rows = torch.arange(n_prompt - 1, len(ids) - 1, device=device)
            picked = logp[rows, torch.tensor(ids[n_prompt:], device=device)]
            score = float(picked.mean())  # one device sync per label, not one per token
            if score > best_score:
                best, best_score = label, score
        return best

    def generate(self, prompt: str, max_new_tokens: int) -> str:
        import torch

        ids = self.tokenizer(prompt, return_tensors="pt").to(self.device)
        with torch.no_grad():
            out = self.model.generate(
                **ids,
                max_new_tokens=max_new_tokens,
                do_sample=False,
                pad_token_id=self.tokenizer.pad_token_id,
            )
        return self.tokenizer.decode(out[0][ids["input_ids"].shape[1] :], skip_special_tokens=True)


def run_eval(
    ctx: Context,
    ref: str,
    dataset: str,
    *,
    endpoint: str | None = None,
    text_field: str = "text",
    label_field: str = "label",
    labels: Sequence[str] | None = None,
    limit: int | None = None,
) -> Evaluation:
    """Classify a labelled dataset with the version and store the metrics (operator or admin)."""
    authorize(ctx, permissions.EVAL)
    version = get_version(ctx, ref)
    ds = examples.open_dataset(ctx, dataset)
    asset = ds.asset
    template = template_of(version)
    records = ds.records[:limit] if limit is not None else ds.records
    if len(records) > MAX_EVAL_EXAMPLES:
        raise InvalidInput(
            f"dataset {asset.name} has over {MAX_EVAL_EXAMPLES} examples; pass --limit N"
        )
    if not records:
        raise InvalidInput(f"dataset {asset.name} holds no examples")
    found = examples.choices(
        ds.records, template, text_field=text_field, label_field=label_field, labels=labels
    )[: len(records)]
    for number, choice in enumerate(found, 1):
        if choice is None:
            raise InvalidInput(
                f"dataset example {number} needs a string {text_field!r} and a {label_field!r}"
            )
    items = [c for c in found if c is not None]
    gold = [c.label for c in items]
    label_set = (
        list(labels) if labels else sorted({o for c in items for o in c.options} | set(gold))
    )
    if len(label_set) < 2 or any(len(c.options) < 2 for c in items):
        raise InvalidInput("a classification needs at least two labels (--labels A,B,...)")
    gen = dict(version.generation_config or {})
    if endpoint:
        method, where = "openai_endpoint", endpoint
    elif version.source == "ollama":
        method, where = "ollama", ctx.settings.ollama_host
    elif version.source in ("custom", "huggingface"):
        method, where = "local", "transformers"
    else:
        raise InvalidInput(f"{version.ref} is an {version.source} model: pass --endpoint URL")
    local: LocalClassifier | None = None
    if method == "local":
        base, adapter = training.adapter_base(ctx, version)
    ctx.session.commit()  # the model runs outside any transaction
    if method == "local":
        local = LocalClassifier(base, adapter)
        pred = [local(c.prompt, c.options) for c in items]
        answers = pred
    else:
        ask = (
            openai_chat(endpoint, version.source_id, gen)
            if endpoint
            else ollama_chat(ctx, version.source_id)
        )
        answers = [ask(c.prompt) for c in items]
        pred = [first_label(a, c.options) for a, c in zip(answers, items, strict=True)]
    metrics = classification_metrics(gold, pred, label_set)
    details = {
        "per_label": metrics.pop("per_label"),
        "confusion_matrix": metrics.pop("confusion_matrix"),
        "labels": label_set,
        "predictor": method,
        "where": where,
        "text_field": text_field,
        "label_field": label_field,
        "prompt_template": template,
        "dataset_file_sha256": ds.sha256,
    }
    ev = Evaluation(
        tenant_id=ctx.tenant_id,
        version_id=version.id,
        type="automated",
        method=method,
        dataset_id=asset.id,
        metrics=metrics,
        details=details,
        created_at=ctx.now(),
        created_by=ctx.actor,
        completed_at=ctx.now(),
    )
    _save(ctx, ev, version)
    inference_log.record_evaluation(ctx, version, asset, [c.prompt for c in items], answers, ev.id)
    return ev


# ------------------------------------------------------------------------------ human review


def human(
    ctx: Context,
    ref: str,
    dataset: str,
    *,
    sample: int,
    text_field: str = "text",
    output_field: str = "output",
    seed: int = 0,
) -> Evaluation:
    """Sample outputs into review_model_output missions (operator or admin).

    An example's output is taken from ``output_field`` when present, otherwise generated now
    with the version (locally, or on Ollama) from the example's prompt: for a classification row
    (an arcade dataset's) the prompt its template renders, as in training and ``eval run``.
    """
    authorize(ctx, permissions.EVAL)
    if sample < 1:
        raise InvalidInput("--sample must be at least 1")
    version = get_version(ctx, ref)
    ds = examples.open_dataset(ctx, dataset)
    asset = ds.asset
    template = template_of(version)
    found = examples.choices(ds.records, template, text_field=text_field)
    # (index, input shown to the reviewer, prompt the model answers, row)
    usable = [
        (i, c.text, c.prompt, r) if c is not None else (i, r[text_field], r[text_field], r)
        for i, (r, c) in enumerate(zip(ds.records, found, strict=True))
        if c is not None or isinstance(r.get(text_field), str)
    ]
    if not usable:
        raise InvalidInput(f"dataset {asset.name} has no examples with a {text_field!r} field")
    chosen = random.Random(seed).sample(usable, min(sample, len(usable)))
    chosen.sort(key=lambda pair: pair[0])
    need_generation = any(not isinstance(r.get(output_field), str) for *_, r in chosen)
    generate: Callable[[str], str] | None = None
    if need_generation:
        max_new = int((version.generation_config or {}).get("max_tokens", 32))
        if version.source in ("custom", "huggingface"):
            base, adapter = training.adapter_base(ctx, version)
            ctx.session.commit()
            local = LocalClassifier(base, adapter)
            generate = lambda prompt: local.generate(prompt, min(max_new, 256))  # noqa: E731
        elif version.source == "ollama":
            ctx.session.commit()
            generate = ollama_chat(ctx, version.source_id)
        else:
            raise InvalidInput(f"dataset examples need an {output_field!r} field for this model")
    mission_ids = []
    generated: list[tuple[str, str]] = []  # what the model produced now: the inference log's
    for index, shown, prompt, rec in chosen:
        output = rec.get(output_field)
        if not isinstance(output, str):
            assert generate is not None
            # the model's text is kept, a NUL or lone surrogate in it escaped (core.storable)
            output = escape_unstorable(generate(prompt))
            generated.append((prompt, output))
        payload: dict[str, Any] = {
            "input": shown,
            "output": output,
            "model": version.ref,
            "model_version_id": str(version.id),
            "sample_id": f"{asset.id}:{index}",
        }
        mission = arcade_api.create_mission(
            ctx,
            type="review_model_output",
            payload=payload,
            subject_ref=subject_ref(version.id),
        )
        mission_ids.append(str(mission.id))
    ev = Evaluation(
        tenant_id=ctx.tenant_id,
        version_id=version.id,
        type="human",
        method="review_missions",
        status="pending",
        dataset_id=asset.id,
        metrics={"sampled": len(mission_ids), "reviewed": 0},
        details={
            "seed": seed,
            "text_field": text_field,
            "output_field": output_field,
            "prompt_template": template,
        },
        mission_ids=mission_ids,
        created_at=ctx.now(),
        created_by=ctx.actor,
    )
    _save(ctx, ev, version)
    inference_log.record_evaluation(ctx, version, asset, *_generated(generated), ev.id)
    return ev


def _generated(pairs: list[tuple[str, str]]) -> tuple[list[str], list[str]]:
    return [p for p, _ in pairs], [o for _, o in pairs]


def aggregate_human(
    ctx: Context, ev: Evaluation, missions: dict[str, arcade_api.MissionView]
) -> bool:
    """Fold settled review missions into the evaluation; True when it changed."""
    counts = {"correct": 0, "incorrect": 0, "unsure": 0}
    closed = 0
    for mid in ev.mission_ids:
        mission = missions.get(mid)
        if mission is None:
            continue
        if mission.status == "settled" and mission.settled_result in counts:
            counts[mission.settled_result] += 1
        if mission.status != "open":
            closed += 1
    judged = counts["correct"] + counts["incorrect"]
    metrics = {
        "sampled": len(ev.mission_ids),
        "reviewed": sum(counts.values()),
        **counts,
        "accuracy": round(counts["correct"] / judged, 6) if judged else None,
        "pending": len(ev.mission_ids) - closed,
    }
    status = "completed" if closed == len(ev.mission_ids) else "pending"
    if metrics == ev.metrics and status == ev.status:
        return False
    ev.metrics = metrics
    ev.status = status
    if status == "completed":
        ev.completed_at = ctx.now()
        ctx.audit(
            "model.eval.human_completed",
            target_type="model_evaluation",
            target_id=ev.id,
            details={"metrics": metrics},
        )
    return True


def list_evals(ctx: Context, ref: str) -> list[Evaluation]:
    """Evaluations of a version, newest first; pending human ones are refreshed from missions."""
    authorize(ctx, permissions.EVAL_READ)
    version = get_version(ctx, ref)
    evals = list(
        ctx.session.scalars(
            select(Evaluation)
            .where(
                col(Evaluation.tenant_id) == ctx.tenant_id, col(Evaluation.version_id) == version.id
            )
            .order_by(col(Evaluation.created_at).desc())
        ).all()
    )
    pending = [e for e in evals if e.type == "human" and e.status == "pending" and e.mission_ids]
    if pending:
        missions = {
            str(m.id): m
            for m in arcade_api.missions_for_subject(
                ctx, subject_ref(version.id), type="review_model_output"
            )
        }
        for ev in pending:
            aggregate_human(ctx, ev, missions)
        ctx.session.flush()
    return evals


def show_eval(ctx: Context, ref: str) -> Evaluation:
    """One evaluation by id or prefix (its ``evidence`` says claimed or measured); a pending
    human one is refreshed from its missions first."""
    from shifty_ent.core.ids import resolve

    authorize(ctx, permissions.EVAL_READ)
    ev = resolve(
        ctx.session, Evaluation, ref, what="evaluation", tenant_id=ctx.tenant_id, name_attr=None
    )
    if ev.type == "human" and ev.status == "pending" and ev.mission_ids:
        missions = {
            str(m.id): m
            for m in arcade_api.missions_for_subject(
                ctx, subject_ref(ev.version_id), type="review_model_output"
            )
        }
        if aggregate_human(ctx, ev, missions):
            ctx.session.flush()
    return ev
