"""The dataset contract (docs/datasets.md): the JSONL row written for a settled mission, how a
mission payload reads as text, and the prompt template that turns a row into what a model reads.

One module for both sides: ``arcade dataset create`` writes rows with it and ``model train`` /
``model eval`` (through ``arcade/api.py``) render the same rows with it, so a model is evaluated
on exactly the prompt it was trained on. The template is plain text with three placeholders,
substituted in one pass (never ``str.format``: a payload or a template is data, not code).
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping, Sequence
from typing import Any

from shifty_ent.arcade.mission_types import TYPES, MissionType
from shifty_ent.core.errors import InvalidInput

FORMAT = "shifty-ent.dataset/1"
DATA_FILE = "data.jsonl"
CARD_FILE = "README.md"
DEFAULT_TASK = "Classify the input."
DEFAULT_TEMPLATE = "{task}\nChoose one of: {options}.\nInput: {input}\nAnswer:"
PLACEHOLDERS = ("task", "options", "input")
MAX_TEMPLATE_CHARS = 4000
_SLOT = re.compile(r"\{(task|options|input)\}")


def validate_template(template: str) -> str:
    """A template names ``{input}`` and ``{options}`` once each (``{task}`` at most once)."""
    if not isinstance(template, str) or not template.strip():
        raise InvalidInput("a prompt template must be non-empty text")
    if len(template) > MAX_TEMPLATE_CHARS:
        raise InvalidInput(f"a prompt template must be at most {MAX_TEMPLATE_CHARS} characters")
    found = _SLOT.findall(template)
    for name in ("input", "options"):
        if found.count(name) != 1:
            raise InvalidInput(f"a prompt template must contain {{{name}}} exactly once")
    if found.count("task") > 1:
        raise InvalidInput("a prompt template may contain {task} at most once")
    return template


def render_prompt(
    template: str, *, text: str, options: Sequence[str], task: str | None = None
) -> str:
    """The prompt a model reads for one example; the answer follows as :func:`completion`."""
    values = {"task": task or DEFAULT_TASK, "options": ", ".join(options), "input": text}
    return _SLOT.sub(lambda m: values[m.group(1)], template)


def completion(label: str) -> str:
    """What a model should write after the prompt: one space, then the label."""
    return " " + label


def _value_text(value: Any) -> str:
    return value if isinstance(value, str) else json.dumps(value, sort_keys=True)


def input_text(mtype: MissionType, payload: Mapping[str, Any]) -> str:
    """A payload as the text a model reads: ``key: value`` lines in the type's schema order
    (required keys, then optional ones); ``meta`` is left out (free-form, not for judging)."""
    keys = [*mtype.required, *mtype.optional]
    lines = [f"{key}: {_value_text(payload[key])}" for key in keys if key in payload]
    return "\n".join(lines)


def mission_row(
    mtype: MissionType, mission: Any, *, answer_count: int, settled_at: Any
) -> dict[str, Any]:
    """One dataset row for a settled mission (field meanings: docs/datasets.md)."""
    options = [str(o) for o in (mission.options or mtype.options)]
    label = str(mission.settled_result)
    text = input_text(mtype, mission.payload)
    prompt = render_prompt(DEFAULT_TEMPLATE, text=text, options=options, task=mtype.description)
    return {
        "format": FORMAT,
        "mission_id": str(mission.id),
        "mission_type": mtype.name,
        "task": mtype.description,
        "input": mission.payload,
        "text": text,
        "options": options,
        "label": label,
        "prompt": prompt,
        "completion": completion(label),
        "agreement": mission.agreement,
        "answer_count": answer_count,
        "gold": mission.gold is not None,
        "classification": mission.classification,
        "subject_ref": mission.subject_ref,
        "settled_at": settled_at,
    }


def classification_example(
    rec: Mapping[str, Any], template: str, *, text_field: str = "text", label_field: str = "label"
) -> tuple[str, list[str], str] | None:
    """(prompt, options, label) of a row that names its options (every arcade row does), or None
    for a row of another shape. The prompt is rendered with ``template``, not read from the row,
    so a version trained with its own template is evaluated with it too."""
    options = rec.get("options")
    text, label = rec.get(text_field), rec.get(label_field)
    mtype = TYPES.get(str(rec.get("mission_type")))
    if text is None and text_field == "text" and mtype and isinstance(rec.get("input"), dict):
        text = input_text(mtype, rec["input"])  # a row written before rows carried ``text``
    if not isinstance(options, list) or not options or not isinstance(text, str) or label is None:
        return None
    names = [str(o) for o in options]
    task = rec.get("task") if isinstance(rec.get("task"), str) else None
    task = task or (mtype.description if mtype else None)
    return render_prompt(template, text=text, options=names, task=task), names, str(label)
