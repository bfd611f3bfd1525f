"""Metric gates on an alias: ``accuracy>=0.8`` on a named evaluation dataset.

``promote`` moves a gated alias only when the version's newest *measured* evaluation on the gate's
dataset holding that metric meets it. Claimed results (``eval record``) never count: anyone with
the role could type them. A ratio metric (accuracy, F1, ...) may only be gated from below, by a
positive floor (``>=`` a value above 0, or ``>`` any value), so a version that scored 0 never
passes.
"""

from __future__ import annotations

import math
import re
import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from sqlalchemy import select
from sqlmodel import col

from shifty_ent.core.context import Context
from shifty_ent.core.errors import InvalidInput
from shifty_ent.core.inputs import strict_float
from shifty_ent.model.tables import CLAIMED_METHODS, Evaluation, ModelVersion

_REQUIRE = re.compile(r"^\s*([A-Za-z_][A-Za-z0-9_.-]{0,63})\s*(>=|<=|>|<)\s*(\S+)\s*$")
OPS = {
    ">=": lambda v, t: v >= t,
    ">": lambda v, t: v > t,
    "<=": lambda v, t: v <= t,
    "<": lambda v, t: v < t,
}
RATIO_METRICS = frozenset(
    {"acc", "accuracy", "precision", "recall", "f1", "f1_macro", "f1_micro", "exact_match", "auc"}
)
MAX_GATES = 20


def parse_require(text: str) -> tuple[str, str, float]:
    """``accuracy>=0.8`` -> ("accuracy", ">=", 0.8); refused when a zero score could pass."""
    m = _REQUIRE.match(text or "")
    if m is None:
        raise InvalidInput(f"--require {text!r} must be METRIC>=VALUE (or >, <=, <)")
    metric, op, raw = m.groups()
    try:
        threshold = strict_float(raw)
    except ValueError:
        raise InvalidInput(f"--require {text!r}: {raw!r} is not a finite number") from None
    if metric.lower() in RATIO_METRICS:
        if op in ("<", "<="):
            raise InvalidInput(
                f"--require {text!r}: {metric} is gated from below (use >= or >), "
                "a ceiling would let a score of 0 pass"
            )
        if not 0 <= threshold <= 1 or (op == ">=" and threshold == 0):
            raise InvalidInput(
                f"--require {text!r}: the floor must be above 0 and at most 1, "
                "so that a score of 0 cannot pass"
            )
    return metric, op, threshold


def describe(gate: dict[str, Any]) -> str:
    return f"{gate['metric']}{gate['op']}{gate['threshold']:g}"


@dataclass(frozen=True)
class GateResult:
    """One gate checked against a version: the evaluation that decided it, if any."""

    gate: dict[str, Any]
    passed: bool
    value: float | None
    evaluation_id: uuid.UUID | None
    reason: str

    def public(self) -> dict[str, Any]:
        return {
            "require": describe(self.gate),
            "dataset_id": self.gate["dataset_id"],
            "dataset": self.gate.get("dataset"),
            "passed": self.passed,
            "value": self.value,
            "evaluation_id": str(self.evaluation_id) if self.evaluation_id else None,
            "reason": self.reason,
        }


def _number(value: Any) -> float | None:
    if isinstance(value, bool) or not isinstance(value, int | float):
        return None
    return float(value) if math.isfinite(value) else None


def check(ctx: Context, version: ModelVersion, gates: Sequence[dict[str, Any]]) -> list[GateResult]:
    """Each gate against the newest completed, measured evaluation on its dataset."""
    if not gates:
        return []
    evals = ctx.session.scalars(
        select(Evaluation)
        .where(
            col(Evaluation.tenant_id) == ctx.tenant_id,
            col(Evaluation.version_id) == version.id,
            col(Evaluation.status) == "completed",
            col(Evaluation.method).not_in(CLAIMED_METHODS),
            col(Evaluation.dataset_id).is_not(None),
        )
        .order_by(col(Evaluation.created_at).desc(), col(Evaluation.id))
    ).all()
    out = []
    for gate in gates:
        dataset = uuid.UUID(str(gate["dataset_id"]))
        name = gate.get("dataset") or str(dataset)
        found = next(
            (
                e
                for e in evals
                if e.dataset_id == dataset
                and _number((e.metrics or {}).get(gate["metric"])) is not None
            ),
            None,
        )
        if found is None:
            out.append(
                GateResult(
                    gate,
                    False,
                    None,
                    None,
                    f"no measured {gate['metric']} on dataset {name} "
                    "(claimed results from 'eval record' do not count)",
                )
            )
            continue
        value = _number(found.metrics[gate["metric"]])
        assert value is not None
        passed = OPS[gate["op"]](value, float(gate["threshold"]))
        out.append(
            GateResult(
                gate,
                passed,
                value,
                found.id,
                f"{gate['metric']} = {value:g} on dataset {name}"
                + ("" if passed else f", needs {gate['op']}{gate['threshold']:g}"),
            )
        )
    return out
