"""The eight mission types: XP range, default overlap, answer options, payload schema, dwell time.

One table so that ``mission create``, ``mission import``, ``complete`` and the docs agree. Payload
schemas are deliberately small and strict: required and optional keys with their JSON types;
unknown keys are refused (free-form extras go under ``meta``), so a typo never silently produces a
mission a labeller cannot judge.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from shifty_ent.core.canonical import canonical_json
from shifty_ent.core.errors import InvalidInput
from shifty_ent.core.storable import refuse_unstorable

MAX_PAYLOAD_BYTES = 64 * 1024
MAX_OVERLAP = 15
MAX_OPTIONS = 20
MAX_OPTION_LEN = 64
CLASSIFICATIONS = ("public", "internal", "confidential", "restricted", "pii", "phi")

STR = (str,)
NUM = (int, float)
OBJ = (dict,)
LIST = (list,)
ANY = (str, int, float, bool, dict, list)


@dataclass(frozen=True)
class MissionType:
    name: str
    description: str
    xp_min: int
    xp_max: int
    overlap: int
    options: tuple[str, ...]
    options_fixed: bool
    required: dict[str, tuple[type, ...]]
    optional: dict[str, tuple[type, ...]] = field(default_factory=dict)
    min_dwell_seconds: float = 3.0
    lease_minutes: int = 15
    min_level: int = 1
    # four eyes: the person who opened such a mission (an approval's requester) cannot answer it
    creator_may_answer: bool = True

    def allowed_keys(self) -> list[str]:
        return sorted([*self.required, *self.optional, "meta"])

    def describe(self) -> dict[str, Any]:
        return {
            "type": self.name,
            "description": self.description,
            "xp_min": self.xp_min,
            "xp_max": self.xp_max,
            "overlap": self.overlap,
            "options": list(self.options),
            "options_fixed": self.options_fixed,
            "payload_required": sorted(self.required),
            "payload_optional": sorted([*self.optional, "meta"]),
            "min_dwell_seconds": self.min_dwell_seconds,
            "lease_minutes": self.lease_minutes,
            "min_level": self.min_level,
            "creator_may_answer": self.creator_may_answer,
        }


_VERDICT = ("correct", "incorrect", "unsure")
ERROR_CLASSES = (
    "assertion",
    "timeout",
    "selector",
    "network",
    "environment",
    "data",
    "flaky",
    "other",
)
UI_ROLES = ("button", "link", "input", "checkbox", "select", "text", "image", "container", "other")
TYPES: dict[str, MissionType] = {
    t.name: t
    for t in (
        MissionType(
            "label_test_output",
            "Review AI-generated test results",
            50,
            100,
            3,
            _VERDICT,
            True,
            {"output": STR},
            {"test_name": STR, "input": ANY, "expected": ANY, "log": STR, "source": STR},
            min_dwell_seconds=4,
        ),
        MissionType(
            "validate_selector",
            "Validate healed selectors",
            30,
            50,
            3,
            ("valid", "invalid", "unsure"),
            True,
            {"selector": STR},
            {"original_selector": STR, "page_url": STR, "html": STR, "screenshot_url": STR},
            min_dwell_seconds=3,
        ),
        MissionType(
            "rate_test_quality",
            "Rate quality of generated tests (1 poor - 5 excellent)",
            40,
            80,
            3,
            ("1", "2", "3", "4", "5"),
            True,
            {"test_code": STR},
            {"test_name": STR, "description": STR, "language": STR, "requirement": STR},
            min_dwell_seconds=6,
        ),
        MissionType(
            "verify_fix",
            "Verify suggested fixes",
            60,
            120,
            3,
            ("fixed", "not_fixed", "unsure"),
            True,
            {"error": STR, "fix": STR},
            {"test_name": STR, "before": STR, "after": STR, "log": STR},
            min_dwell_seconds=6,
        ),
        MissionType(
            "classify_error",
            "Classify error types",
            40,
            60,
            3,
            ERROR_CLASSES,
            False,
            {"error": STR},
            {"stack_trace": STR, "test_name": STR, "log": STR},
            min_dwell_seconds=4,
        ),
        MissionType(
            "annotate_ui_element",
            "Annotate UI elements",
            50,
            100,
            3,
            UI_ROLES,
            False,
            {"element": STR},
            {"page_url": STR, "screenshot_url": STR, "bbox": LIST, "html": STR},
            min_dwell_seconds=4,
        ),
        MissionType(
            "review_model_output",
            "Review model inference",
            70,
            150,
            3,
            _VERDICT,
            False,
            {"input": ANY, "output": ANY},
            {"model": STR, "model_version_id": STR, "expected": ANY, "sample_id": STR},
            min_dwell_seconds=8,
        ),
        MissionType(
            "approve_deployment",
            "Approve model for deployment (level 5 and above)",
            200,
            500,
            1,
            ("approve", "reject"),
            True,
            {"model": STR},
            {
                "model_version_id": STR,
                "version": (str, int),
                "alias": STR,
                "metrics": OBJ,
                "evaluations": LIST,
                "summary": STR,
                "source": STR,
            },
            min_dwell_seconds=20,
            lease_minutes=60,
            min_level=5,
            creator_may_answer=False,
        ),
    )
}


# types whose creator may not answer them (see ``MissionType.creator_may_answer``)
FOUR_EYES_TYPES = tuple(t.name for t in TYPES.values() if not t.creator_may_answer)


def get_type(name: str) -> MissionType:
    try:
        return TYPES[name]
    except KeyError:
        raise InvalidInput(
            f"unknown mission type {name!r}; choose from {', '.join(TYPES)}"
        ) from None


def _json_type_name(types: tuple[type, ...]) -> str:
    names = {str: "string", int: "number", float: "number", dict: "object", list: "array"}
    if types == ANY:
        return "any JSON value"
    return " or ".join(dict.fromkeys(names.get(t, t.__name__) for t in types))


def validate_payload(mtype: MissionType, payload: Any) -> dict[str, Any]:
    """Check a payload against its type's schema; return it unchanged or raise InvalidInput."""
    if not isinstance(payload, dict):
        raise InvalidInput(f"{mtype.name} payload must be a JSON object")
    refuse_unstorable(payload, f"{mtype.name} payload")
    for key in mtype.required:
        if key not in payload:
            raise InvalidInput(f"{mtype.name} payload needs {key!r}")
    schema = {**mtype.required, **mtype.optional}
    for key, value in payload.items():
        if key == "meta":
            if not isinstance(value, dict):
                raise InvalidInput(f"{mtype.name} payload 'meta' must be an object")
            continue
        if key not in schema:
            raise InvalidInput(
                f"{mtype.name} payload has unknown key {key!r}; allowed: "
                + ", ".join(mtype.allowed_keys())
            )
        types = schema[key]
        if (isinstance(value, bool) and bool not in types) or not isinstance(value, types):
            raise InvalidInput(f"{mtype.name} payload {key!r} must be {_json_type_name(types)}")
        if key in mtype.required and isinstance(value, str) and not value.strip():
            raise InvalidInput(f"{mtype.name} payload {key!r} must not be empty")
    if len(canonical_json(payload)) > MAX_PAYLOAD_BYTES:
        raise InvalidInput(f"payload is larger than {MAX_PAYLOAD_BYTES // 1024} KiB")
    return payload


def resolve_options(mtype: MissionType, options: list[str] | None) -> list[str]:
    """The answer options: the type's own, or (where the type allows) a custom list."""
    if options is None:
        return list(mtype.options)
    clean = [str(o).strip() for o in options]
    if mtype.options_fixed:
        if clean != list(mtype.options):
            raise InvalidInput(
                f"{mtype.name} answers are fixed ({', '.join(mtype.options)}); omit --options"
            )
        return clean
    if len(clean) < 2 or len(clean) > MAX_OPTIONS:
        raise InvalidInput(f"give 2-{MAX_OPTIONS} options")
    if any(not o or len(o) > MAX_OPTION_LEN or "," in o for o in clean):
        raise InvalidInput(f"each option must be 1-{MAX_OPTION_LEN} characters, without commas")
    if len(set(clean)) != len(clean):
        raise InvalidInput("options must be distinct")
    return clean


def validate_result(
    mtype: MissionType, options: list[str], option: str, confidence: float | None, notes: str | None
) -> None:
    """An answer: one of the mission's options, confidence in [0, 1], notes up to 2000 chars."""
    if option not in options:
        raise InvalidInput(
            f"{option!r} is not an answer to this {mtype.name} mission; choose from "
            + ", ".join(options)
        )
    if confidence is not None and not (0.0 <= confidence <= 1.0):
        raise InvalidInput("--confidence must be between 0 and 1")
    if notes is not None and len(notes) > 2000:
        raise InvalidInput("--notes must be at most 2000 characters")
    refuse_unstorable(notes, "--notes")
