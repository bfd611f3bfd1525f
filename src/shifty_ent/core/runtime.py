"""What a command body needs from the root app: settings, a Context, and output.

Keeps ``cli.py`` files thin: parse, ``with command(...) as ctx``, call one service, ``emit``.
Importing this module is cheap; the store is imported only when a command opens a context.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from shifty_ent.core import clicklib, output
from shifty_ent.core.asking import Confirm
from shifty_ent.core.config import Settings, load_settings

if TYPE_CHECKING:
    from shifty_ent.core.context import Context


@dataclass
class RootState:
    """Global flags from the root callback; settings are built from them on first use."""

    flags: dict[str, Any] = field(default_factory=dict)
    _settings: Settings | None = None

    def replace_flags(self, flags: dict[str, Any]) -> None:
        """New flags (a root option given after the command); settings are rebuilt on use."""
        self.flags = flags
        self._settings = None

    def settings(self) -> Settings:
        if self._settings is None:
            self._settings = load_settings(self.flags)
        return self._settings


def _state() -> RootState:
    ctx = clicklib.get_current_context(silent=True)
    if ctx is not None:
        root = ctx.find_root()
        if isinstance(root.obj, RootState):
            return root.obj
        root.obj = RootState()
        return root.obj
    return RootState()


def settings() -> Settings:
    return _state().settings()


def output_format() -> str:
    return settings().output or output.default_format()


#: leaf commands that only read: they open an embedded store read-only (no write lock, and they
#: work on a read-only file system). A misfiled command fails loudly (SQLite ``query_only``).
READ_VERBS = frozenset(
    {
        "list",
        "show",
        "versions",
        "deployments",
        "history",
        "stats",
        "types",
        "profile",
        "leaderboard",
        "missions",
        "current",
    }
)


def _reads_only() -> bool:
    click_ctx = clicklib.get_current_context(silent=True)
    return click_ctx is not None and click_ctx.info_name in READ_VERBS


@contextmanager
def command(*, tenant: str = "required", readonly: bool | None = None) -> Iterator[Context]:
    """Open the command's Context (one transaction). Roles are not checked here: the service
    function checks its permission (see :mod:`shifty_ent.core.authz`), whoever calls it.
    ``readonly`` defaults to whether the command's name is one of :data:`READ_VERBS`."""
    from shifty_ent.core.context import open_context

    if readonly is None:
        readonly = _reads_only()
    with open_context(settings(), tenant=tenant, readonly=readonly) as ctx:
        yield ctx


def emit(data: Any, *, columns: Sequence[str] | None = None, title: str | None = None) -> None:
    """Write a result; ``columns`` is the command's default table columns (``--wide`` shows
    every field, ``--columns`` the ones the user names; CSV and JSON carry every field)."""
    flags = _state().flags
    output.render(
        data,
        output_format(),
        columns=columns,
        title=title,
        choose=flags.get("columns") or None,
        wide=bool(flags.get("wide")),
        quiet=settings().quiet,
    )


def info(text: str) -> None:
    """A message for people on stderr; silent with --quiet."""
    output.message(text, quiet=settings().quiet)


def show_progress() -> bool:
    return output.progress_enabled(settings().quiet)


def confirm(prompt: str, *, yes: bool) -> None:
    """Ask before a destructive step; without a terminal, ``--yes`` is required (exit 2)."""
    import sys

    from shifty_ent.core.errors import Interrupted, InvalidInput

    if yes:
        return
    if not sys.stdin.isatty():
        raise InvalidInput(f"{prompt.rstrip('?')}: pass --yes to confirm without a terminal")
    if not clicklib.confirm(prompt, default=False, err=True):
        raise Interrupted("cancelled; nothing changed")


def asker(prompt: str, *, yes: bool) -> Confirm:
    """A confirmation for a service to run once it has checked the role (see core/asking.py)."""
    return lambda: confirm(prompt, yes=yes)


def make_app(help_text: str) -> Any:
    """A command group with the house settings (help on no args, no per-group completion)."""
    import typer

    app = typer.Typer(help=help_text, no_args_is_help=True, add_completion=False)

    def _group() -> None:
        # a callback keeps a one-command group a group (``config show``, not ``config``)
        return None

    app.callback(help=help_text)(_group)
    return app
