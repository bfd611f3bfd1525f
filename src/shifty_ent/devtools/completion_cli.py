"""``completion`` group: print the shell completion scripts, and the store values they ask for.

``completion bash|zsh|fish`` prints the same script as ``completions/`` in the source tree, so
people who installed the wheel can ``eval`` or save it. The scripts complete commands, options
and fixed values without starting Python; only tenant and user names come from
``completion values KIND``, which reads the store like ``tenant list`` and ``user list``.
"""

from __future__ import annotations

from enum import StrEnum
from typing import Annotated

import typer

from shifty_ent.core.runtime import make_app

app = make_app("Print a shell completion script (bash, zsh or fish).")


class Shell(StrEnum):
    bash = "bash"
    zsh = "zsh"
    fish = "fish"


class Kind(StrEnum):
    tenant = "tenant"
    user = "user"


def _print(shell: Shell) -> None:
    from shifty_ent.devtools.completions import script_for

    typer.echo(script_for(shell.value), nl=False)


@app.command("bash")
def bash() -> None:
    """Print the bash script.

    Examples:
    shifty-ent completion bash > ~/.local/share/bash-completion/completions/shifty-ent
    eval "$(shifty-ent completion bash)"
    """
    _print(Shell.bash)


@app.command("zsh")
def zsh() -> None:
    """Print the zsh script (save it as _shifty-ent in a folder on $fpath).

    Examples:
    shifty-ent completion zsh > ~/.zfunc/_shifty-ent
    """
    _print(Shell.zsh)


@app.command("fish")
def fish() -> None:
    """Print the fish script.

    Examples:
    shifty-ent completion fish > ~/.config/fish/completions/shifty-ent.fish
    """
    _print(Shell.fish)


@app.command("values")
def values(
    kind: Annotated[Kind, typer.Argument(help="What to list.")],
) -> None:
    """Tenant or user names for the completion scripts, one per line.

    Tenants you belong to; users of the --tenant one. Prints nothing when the store cannot be
    read (completion must never show an error) and creates no store.

    Examples:
    shifty-ent completion values tenant
    shifty-ent -t acme completion values user
    """
    from shifty_ent.devtools.store_values import names

    for name in names(kind.value):
        typer.echo(name)
