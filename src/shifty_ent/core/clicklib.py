"""The click that typer runs on, in one place.

typer 0.2x vendors an adapted click as ``typer._click`` (its ``Command`` is abstract and its
exceptions are its own classes); older typer uses the ``click`` package. Context lookups and
exception matching must use the same classes typer raises, so every module imports them from here.
"""

from __future__ import annotations

import typer

try:  # typer >= 0.2x
    from typer._click.exceptions import ClickException, NoArgsIsHelpError, UsageError
    from typer._click.globals import get_current_context
except ImportError:  # pragma: no cover - older typer on the click package
    from click.exceptions import ClickException, NoArgsIsHelpError, UsageError  # type: ignore
    from click.globals import get_current_context  # type: ignore

Abort = typer.Abort
Exit = typer.Exit
confirm = typer.confirm

__all__ = [
    "Abort",
    "ClickException",
    "Exit",
    "NoArgsIsHelpError",
    "UsageError",
    "confirm",
    "get_current_context",
]
