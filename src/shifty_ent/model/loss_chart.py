"""The loss curve of a training job as a few lines of text, for ``model train show``.

Kept apart from the job queue: it is pure formatting of the recorded points and needs no store.
"""

from __future__ import annotations

from typing import Any


def loss_chart(points: list[dict[str, Any]], *, width: int = 60, height: int = 8) -> str:
    """The loss curve as a few lines of text (min/max labelled), averaged into ``width`` bins."""
    losses = [float(p["loss"]) for p in points]
    if not losses:
        return ""
    bins = min(width, len(losses))
    values = []
    for b in range(bins):
        lo, hi = b * len(losses) // bins, (b + 1) * len(losses) // bins
        chunk = losses[lo : max(hi, lo + 1)]
        values.append(sum(chunk) / len(chunk))
    top, bottom = max(values), min(values)
    span = (top - bottom) or 1.0
    rows = []
    for r in range(height):
        level = top - span * r / (height - 1) if height > 1 else top
        label = f"{level:8.4f} |" if r in (0, height - 1) else "         |"
        line = "".join("*" if round((top - v) / span * (height - 1)) == r else " " for v in values)
        rows.append(label + line)
    rows.append("         +" + "-" * bins)
    rows.append(f"          step 1..{points[-1]['step']}  loss {losses[0]:.4f} -> {losses[-1]:.4f}")
    return "\n".join(rows)
