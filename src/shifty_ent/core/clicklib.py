"""The click that typer runs on, in one place.

typer 0.2x vendors an adapted click as ``typer._click`` (its ``Command`` is abstract and its
exceptions are its own classes); older typer uses the ``click`` package. Context lookups and
exception matching must use the same classes typer raises, so every module imports them from here.
"""

from __future__ import annotations

import typer

from shifty_ent.core.inputs import install_strict_numbers

try:  # typer >= 0.2x
    from typer._click.core import ParameterSource
    from typer._click.exceptions import (
        BadParameter,
        ClickException,
        NoArgsIsHelpError,
        UsageError,
    )
    from typer._click.globals import get_current_context
except ImportError:  # pragma: no cover - older typer on the click package
    from click.core import ParameterSource  # type: ignore[assignment]  # older home
    from click.exceptions import (  # type: ignore[assignment]  # same names, older home
        BadParameter,
        ClickException,
        NoArgsIsHelpError,
        UsageError,
    )
    from click.globals import get_current_context  # type: ignore[no-redef]  # older home

# "1_000", " 5 " and "1e-400" are not numbers a person means (see core/inputs.py)
install_strict_numbers(BadParameter)

Abort = typer.Abort
Exit = typer.Exit
confirm = typer.confirm

__all__ = [
    "Abort",
    "ClickException",
    "Exit",
    "NoArgsIsHelpError",
    "ParameterSource",
    "UsageError",
    "confirm",
    "get_current_context",
]
