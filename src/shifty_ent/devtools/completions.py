"""Generate static bash, zsh and fish completion scripts from the command tree.

Static scripts complete instantly (no Python start per <Tab>) and are checked in under
``completions/``; a test regenerates them and fails when they are stale. Regenerate with
``python -m shifty_ent.devtools.completions completions/``.
"""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Any

PROG = "shifty-ent"
FUNC = "_shifty_ent"


def _tree() -> dict[str, tuple[list[str], list[str]]]:
    """Command path ('' for root, 'gpu budget' ...) -> (subcommands, options)."""
    import typer

    from shifty_ent.cli import GROUPS, LazyCommand, app

    root = typer.main.get_command(app)
    out: dict[str, tuple[list[str], list[str]]] = {}

    def opts_of(cmd: Any) -> list[str]:
        names: list[str] = []
        for param in getattr(cmd, "params", []):
            if getattr(param, "param_type_name", "") == "option" or hasattr(param, "opts"):
                for opt in [*getattr(param, "opts", []), *getattr(param, "secondary_opts", [])]:
                    if opt.startswith("-"):
                        names.append(opt)
        return sorted({*names, "--help"})

    def walk(cmd: Any, path: str) -> None:
        if isinstance(cmd, LazyCommand):
            cmd = cmd.load()
        subs: list[str] = []
        commands = getattr(cmd, "commands", None) or {}
        if commands:
            subs = sorted(n for n, c in commands.items() if not getattr(c, "hidden", False))
        out[path] = (subs, opts_of(cmd))
        for name in subs:
            walk(commands[name], f"{path} {name}".strip())

    out[""] = (list(GROUPS), opts_of(root))
    for name in GROUPS:
        walk(LazyCommand(name, *GROUPS[name]), name)
    return out


def _value_options() -> list[str]:
    """Options that take a value, so the scripts can skip it when finding the command path."""
    import typer

    from shifty_ent.cli import GROUPS, LazyCommand, app

    found: set[str] = set()

    def scan(cmd: Any) -> None:
        if isinstance(cmd, LazyCommand):
            cmd = cmd.load()
        for param in getattr(cmd, "params", []):
            takes_value = hasattr(param, "opts") and not getattr(param, "is_flag", False)
            if takes_value and getattr(param, "param_type_name", "option") == "option":
                found.update(o for o in param.opts if o.startswith("-"))
        for sub in (getattr(cmd, "commands", None) or {}).values():
            scan(sub)

    scan(typer.main.get_command(app))
    for name in GROUPS:
        scan(LazyCommand(name, *GROUPS[name]))
    return sorted(found)


def bash_script() -> str:
    tree = _tree()
    lines = [
        f"# bash completion for {PROG} (generated; do not edit)",
        f"{FUNC}() {{",
        "    local cur path word skip i",
        '    cur="${COMP_WORDS[COMP_CWORD]}"',
        '    path=""',
        "    skip=0",
        "    for ((i = 1; i < COMP_CWORD; i++)); do",
        '        word="${COMP_WORDS[i]}"',
        "        if ((skip)); then skip=0; continue; fi",
        '        case "$word" in',
        f"            {'|'.join(_value_options()) or '--__none'}) skip=1; continue ;;",
        "            -*) continue ;;",
        "        esac",
        '        case "${path:+$path }$word" in',
    ]
    for path in sorted(p for p in tree if p):
        lines.append(f'            "{path}") path="{path}" ;;')
    lines += [
        "        esac",
        "    done",
        '    local words=""',
        '    case "$path" in',
    ]
    for path, (subs, opts) in sorted(tree.items()):
        lines.append(f'        "{path}") words="{" ".join(subs + opts)}" ;;')
    lines += [
        "    esac",
        '    COMPREPLY=($(compgen -W "$words" -- "$cur"))',
        "}",
        f"complete -o default -F {FUNC} {PROG}",
        "",
    ]
    return "\n".join(lines)


def zsh_script() -> str:
    return "\n".join(
        [
            f"#compdef {PROG}",
            f"# zsh completion for {PROG} (generated; do not edit): bash table via bashcompinit",
            "autoload -U +X bashcompinit && bashcompinit",
            bash_script(),
        ]
    )


def fish_script() -> str:
    tree = _tree()
    values = " ".join(_value_options())
    lines = [
        f"# fish completion for {PROG} (generated; do not edit)",
        f"function __{FUNC.strip('_')}_path",
        "    set -l words (commandline -opc)",
        "    set -e words[1]",
        '    set -l path ""',
        "    set -l skip 0",
        f"    set -l valued {values}",
        "    for w in $words",
        "        if test $skip -eq 1",
        "            set skip 0",
        "            continue",
        "        end",
        "        if contains -- $w $valued",
        "            set skip 1",
        "            continue",
        "        end",
        "        if string match -q -- '-*' $w",
        "            continue",
        "        end",
        '        set path (string trim -- "$path $w")',
        "    end",
        '    echo "$path"',
        "end",
        f"complete -c {PROG} -f",
    ]
    for path, (subs, opts) in sorted(tree.items()):
        cond = f'test (__{FUNC.strip("_")}_path) = "{path}"'
        if subs:
            lines.append(f"complete -c {PROG} -n '{cond}' -a '{' '.join(subs)}'")
        longs = [o[2:] for o in opts if o.startswith("--")]
        if longs:
            lines.append(f"complete -c {PROG} -n '{cond}' " + " ".join(f"-l {o}" for o in longs))
    return "\n".join(lines) + "\n"


SCRIPTS = {
    "shifty-ent.bash": bash_script,
    "_shifty-ent": zsh_script,
    "shifty-ent.fish": fish_script,
}


def write_all(folder: Path) -> list[Path]:
    folder.mkdir(parents=True, exist_ok=True)
    written = []
    for name, make in SCRIPTS.items():
        path = folder / name
        path.write_text(make(), encoding="utf-8")
        written.append(path)
    return written


if __name__ == "__main__":
    for p in write_all(Path(sys.argv[1] if len(sys.argv) > 1 else "completions")):
        print(p)
