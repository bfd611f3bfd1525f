"""Generate static bash, zsh and fish completion scripts from the command tree.

Static scripts complete instantly: command names, option names and fixed option values (formats,
methods, classifications, GPU types ...) are embedded, so those start no process at all; path
options complete file names; tenant and user names are the only values read from the store,
through ``shifty-ent completion values KIND``. The scripts are checked in under ``completions/``
(a test regenerates them and fails when they are stale) and printed by
``shifty-ent completion bash|zsh|fish``. Regenerate with
``python -m shifty_ent.devtools.completions completions/``.
"""

from __future__ import annotations

import re
import shlex
import sys
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from shifty_ent.core import choices

PROG = "shifty-ent"
FUNC = "_shifty_ent"
# root options whose value the store completion needs (which store, tenant and user)
CONTEXT_OPTIONS = ("--db", "--tenant", "-t", "--as")
_FILE_METAVAR = re.compile(r"(^|[-|])(FILE|PATH|DIR)\b")


@dataclass(frozen=True)
class Spec:
    """How one value completes: fixed ``values``, a ``file`` or ``dir`` name, or ``store``
    names of kind ``store`` (tenant, user); ``text`` completes nothing."""

    kind: str
    values: tuple[str, ...] = ()
    store: str = ""


@dataclass
class Node:
    """One command path: its subcommands, visible options, value options and first argument."""

    subs: list[str] = field(default_factory=list)
    options: list[str] = field(default_factory=list)
    values: dict[str, Spec] = field(default_factory=dict)
    argument: Spec | None = None
    many: bool = False  # the argument takes several words (ASSETS...)


def spec_of(param: Any) -> Spec:
    fixed = choices.static_values(param)
    if fixed:
        return Spec("values", fixed)
    kind = choices.store_kind(param)
    if kind:
        return Spec("store", store=kind)
    desc = getattr(param, "type_descriptor", None)
    if getattr(desc, "is_path", False):
        info = getattr(desc, "parameter_info", None)
        dirs_only = info is not None and not getattr(info, "file_okay", True)
        return Spec("dir" if dirs_only else "file")
    if _FILE_METAVAR.search(param.metavar or ""):
        return Spec("dir" if "DIR" in (param.metavar or "") else "file")
    return Spec("text")


def _takes_value(param: Any) -> bool:
    return param.param_type_name == "option" and not (param.is_flag or param.count)


def tree() -> dict[str, Node]:
    """Command path ('' for root, 'gpu budget' ...) -> its :class:`Node`."""
    import typer

    from shifty_ent.cli import GROUPS, LazyCommand, app

    out: dict[str, Node] = {}

    def node_of(cmd: Any) -> Node:
        node = Node()
        names: set[str] = {"--help"}
        for param in cmd.params:
            opts = [*param.opts, *getattr(param, "secondary_opts", [])]
            if param.param_type_name == "argument":
                if node.argument is None:
                    node.argument = spec_of(param)
                    node.many = param.nargs != 1
                continue
            if not getattr(param, "hidden", False):
                names.update(o for o in opts if o.startswith("-"))
            if _takes_value(param):
                spec = spec_of(param)
                for opt in param.opts:
                    node.values[opt] = spec
        node.options = sorted(names)
        return node

    def walk(cmd: Any, path: str) -> None:
        if isinstance(cmd, LazyCommand):
            cmd = cmd.load()
        node = node_of(cmd)
        commands = getattr(cmd, "commands", None) or {}
        node.subs = sorted(n for n, c in commands.items() if not getattr(c, "hidden", False))
        out[path] = node
        for name in node.subs:
            walk(commands[name], f"{path} {name}".strip())

    root = node_of(typer.main.get_command(app))
    root.subs = list(GROUPS)
    out[""] = root
    for name in GROUPS:
        walk(LazyCommand(name, *GROUPS[name]), name)
    return out


def _value_options(nodes: dict[str, Node]) -> list[str]:
    """Options that take a value, so the scripts can skip it when finding the command path."""
    return sorted({opt for node in nodes.values() for opt in node.values})


def _quote(words: Any) -> str:
    return " ".join(words)


# ------------------------------------------------------------------------------------- bash


def _bash_reply(spec: Spec, indent: str) -> list[str]:
    """Lines that fill COMPREPLY for one value spec (``text``: none, bash may offer files)."""
    if spec.kind == "values":
        return [f'{indent}COMPREPLY=($(compgen -W "{_quote(spec.values)}" -- "$cur")); return']
    if spec.kind in ("file", "dir"):
        flag = "-d" if spec.kind == "dir" else "-f"
        return [
            f"{indent}type compopt >/dev/null 2>&1 && compopt -o filenames",
            f'{indent}COMPREPLY=($(compgen {flag} -- "$cur")); return',
        ]
    if spec.kind == "store":
        return [f"{indent}{FUNC}_store {spec.store}; return"]
    return [f"{indent}COMPREPLY=(); return"]


def bash_script() -> str:
    nodes = tree()
    root = nodes[""]
    lines = [
        f"# bash completion for {PROG} (generated; do not edit)",
        "# Fixed values are embedded: completing them starts no process. Tenant and user names",
        f"# come from '{PROG} completion values KIND' (the same store and --tenant as the line).",
        f"{FUNC}_store() {{",
        "    local IFS=$'\\n'",
        f'    COMPREPLY=($(compgen -W "$(command {PROG} "${{ctx[@]}}" completion values "$1" '
        '2>/dev/null)" -- "$cur"))',
        "}",
        f"{FUNC}() {{",
        "    local cur prev path word skip i args=0",
        "    local -a ctx=()",
        '    cur="${COMP_WORDS[COMP_CWORD]}"',
        '    prev="${COMP_WORDS[COMP_CWORD-1]}"',
        "    # --output=j: bash splits at '=', so the option is the word before it",
        '    [[ "$prev" == "=" && COMP_CWORD -gt 1 ]] && prev="${COMP_WORDS[COMP_CWORD-2]}"',
        '    path=""',
        "    skip=0",
        "    for ((i = 1; i < COMP_CWORD; i++)); do",
        '        word="${COMP_WORDS[i]}"',
        '        [[ "$word" == "=" ]] && continue',
        "        if ((skip)); then skip=0; continue; fi",
        '        case "$word" in',
        f"            {'|'.join(CONTEXT_OPTIONS)})",
        '                ((i + 1 < COMP_CWORD)) && ctx+=("$word" "${COMP_WORDS[i+1]}")',
        "                skip=1; continue ;;",
        f"            {'|'.join(_value_options(nodes)) or '--__none'}) skip=1; continue ;;",
        "            -*) continue ;;",
        "        esac",
        '        case "${path:+$path }$word" in',
    ]
    for path in sorted(p for p in nodes if p):
        lines.append(f'            "{path}") path="{path}" ;;')
    lines += [
        "            *) ((args++)) ;;",
        "        esac",
        "    done",
        "    if ((skip)); then",
        '        case "$path|$prev" in',
    ]
    for path, node in sorted(nodes.items()):
        if not path:
            continue
        for opt, spec in sorted(node.values.items()):
            if spec.kind == "text" or root.values.get(opt) == spec:
                continue  # free text, or a hoisted root option (the wildcard below)
            lines.append(f'            "{path}|{opt}")')
            lines += _bash_reply(spec, " " * 16)
            lines[-1] += " ;;"
    for opt, spec in sorted(root.values.items()):
        if spec.kind == "text":
            continue
        lines.append(f'            *"|{opt}")')
        lines += _bash_reply(spec, " " * 16)
        lines[-1] += " ;;"
    lines += [
        "        esac",
        "        return",
        "    fi",
        '    if [[ "$cur" != -* ]]; then',
        '        case "$path" in',
    ]
    for path, node in sorted(nodes.items()):
        if node.subs or node.argument is None or node.argument.kind == "text":
            continue
        lines.append(f'            "{path}")')
        if node.many:
            lines += _bash_reply(node.argument, " " * 16)
            lines[-1] += " ;;"
            continue
        # once the argument is given, the command's options are what is left to offer
        lines.append(" " * 16 + "if ((args == 0)); then")
        lines += _bash_reply(node.argument, " " * 20)
        lines.append(" " * 16 + "fi ;;")
    lines += [
        "        esac",
        "    fi",
        '    local words=""',
        '    case "$path" in',
    ]
    for path, node in sorted(nodes.items()):
        lines.append(f'        "{path}") words="{_quote(node.subs + node.options)}" ;;')
    lines += [
        "    esac",
        '    COMPREPLY=($(compgen -W "$words" -- "$cur"))',
        "}",
        f"complete -o default -F {FUNC} {PROG}",
        "",
    ]
    return "\n".join(lines)


# -------------------------------------------------------------------------------------- zsh


def zsh_script() -> str:
    return "\n".join(
        [
            f"#compdef {PROG}",
            f"# zsh completion for {PROG} (generated; do not edit): bash table via bashcompinit",
            "autoload -U +X bashcompinit && bashcompinit",
            bash_script(),
        ]
    )


# ------------------------------------------------------------------------------------- fish


def _fish_value(spec: Spec) -> str:
    if spec.kind == "values":
        return f"-x -a {shlex.quote(_quote(spec.values))}"
    if spec.kind in ("file", "dir"):
        return "-r -F"
    if spec.kind == "store":
        call = f"(__{FUNC.strip('_')}_store {spec.store})"
        return f"-x -a {shlex.quote(call)}"
    return "-x"


def _fish_argument(spec: Spec) -> str:
    """A positional value: files stay on (-F), fixed or store names are offered (-a)."""
    return "-F" if spec.kind in ("file", "dir") else _fish_value(spec).removeprefix("-x ")


def _fish_option(opt: str) -> str:
    return f"-l {opt[2:]}" if opt.startswith("--") else f"-s {opt[1:]}"


def fish_script() -> str:
    nodes = tree()
    root = nodes[""]
    name = FUNC.strip("_")
    values = " ".join(_value_options(nodes))
    lines = [
        f"# fish completion for {PROG} (generated; do not edit)",
        "# Fixed values are embedded: completing them starts no process.",
        f"function __{name}_path",
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
        f"function __{name}_store",
        "    set -l words (commandline -opc)",
        "    set -l ctx",
        "    for i in (seq (count $words))",
        f"        if contains -- $words[$i] {' '.join(CONTEXT_OPTIONS)}",
        "            set -l j (math $i + 1)",
        "            test $j -le (count $words); and set ctx $ctx $words[$i] $words[$j]",
        "        end",
        "    end",
        f"    command {PROG} $ctx completion values $argv[1] 2>/dev/null",
        "end",
        f"complete -c {PROG} -f",
    ]
    hoisted = set()
    for opt, spec in sorted(root.values.items()):
        # root options are accepted after every command too (hoisted): complete them anywhere
        lines.append(f"complete -c {PROG} {_fish_option(opt)} {_fish_value(spec)}")
        hoisted.add(opt)
    for path, node in sorted(nodes.items()):
        cond = f'test (__{name}_path) = "{path}"'
        if node.subs:
            lines.append(f"complete -c {PROG} -n '{cond}' -a '{_quote(node.subs)}'")
        for opt in node.options:
            takes = node.values.get(opt)
            if takes is not None and opt in hoisted and root.values.get(opt) == takes:
                continue
            value = f" {_fish_value(takes)}" if takes is not None else ""
            lines.append(f"complete -c {PROG} -n '{cond}' {_fish_option(opt)}{value}")
        arg = node.argument
        if not node.subs and arg is not None and arg.kind != "text":
            lines.append(f"complete -c {PROG} -n '{cond}' {_fish_argument(arg)}")
    return "\n".join(lines) + "\n"


SCRIPTS = {
    "shifty-ent.bash": bash_script,
    "_shifty-ent": zsh_script,
    "shifty-ent.fish": fish_script,
}
SHELLS = {"bash": "shifty-ent.bash", "zsh": "_shifty-ent", "fish": "shifty-ent.fish"}


def script_for(shell: str) -> str:
    """The completion script for ``shell`` (bash, zsh or fish)."""
    return SCRIPTS[SHELLS[shell]]()


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
