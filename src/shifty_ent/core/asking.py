"""The confirmation a destructive service step asks for, passed in by its caller.

A service checks the caller's permission and looks up what it will change first, then calls
``confirm``: a person is asked only about a step they may take, never told after answering "y"
that they lacked the role. The CLI passes a prompt (``runtime.asker``); other callers pass
nothing and are not asked.
"""

from __future__ import annotations

from collections.abc import Callable

Confirm = Callable[[], None]


def ask(confirm: Confirm | None) -> None:
    """Run the caller's confirmation, if any (it raises to stop the step)."""
    if confirm is not None:
        confirm()
