"""Allowed values of options whose service checks the value (a method, a classification ...).

An option declares them with ``parser=Values(...)``: parsing stays with the service (its
error names the option and the choices), while help lists the values and the generated
completion scripts embed them, so completing one starts no Python process. Values that live in
the store (tenants, users) are ``StoreValues``: completion asks ``shifty-ent completion values``.
Keep this module free of heavy imports: every ``cli.py`` imports it.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

# the services' vocabularies, repeated here so a group's cli.py needs no database import;
# tests/core/test_help_and_completion.py fails when one drifts from its service
CLASSIFICATIONS = ("public", "internal", "confidential", "restricted", "pii", "phi")
DELETION_METHODS = (
    "standard",
    "secure_overwrite",
    "cryptographic_erase",
    "dod_5220",
    "nist_800_88",
)
ROLES = ("admin", "operator", "labeler", "auditor")
GPU_TYPES = ("RTX_3090", "RTX_4090", "A100_40GB", "A100_80GB", "H100")


class Values:
    """A fixed list of allowed values: shown in help, embedded in completion scripts."""

    def __init__(self, values: Sequence[str]) -> None:
        self.values = tuple(str(v) for v in values)

    def __call__(self, value: str) -> str:
        return value


class StoreValues:
    """Values read from the store when completing (``tenant`` names, ``user`` names)."""

    def __init__(self, kind: str) -> None:
        self.kind = kind

    def __call__(self, value: str) -> str:
        return value


def _declared(param: Any) -> Any:
    info = getattr(getattr(param, "type_descriptor", None), "parameter_info", None)
    return getattr(info, "parser", None)


def static_values(param: Any) -> tuple[str, ...] | None:
    """The allowed values of ``param`` (a typer Enum/Literal option or one with ``Values``)."""
    custom = _declared(param)
    if isinstance(custom, Values):
        return custom.values
    desc = getattr(param, "type_descriptor", None)
    if desc is not None and desc.is_choice and desc.choices:
        return tuple(str(getattr(c, "value", c)) for c in desc.choices)
    return None


def store_kind(param: Any) -> str | None:
    custom = _declared(param)
    return custom.kind if isinstance(custom, StoreValues) else None
