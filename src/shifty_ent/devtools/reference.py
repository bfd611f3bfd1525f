"""Generate the command reference (``docs/commands.md``) from the app's own help texts.

The reference is written from the same command tree that ``--help`` prints, so it cannot drift
from the program: a test regenerates it and fails when the checked-in file is stale. The output is
plain Markdown and deterministic (no terminal width, colours or environment-dependent defaults).
Regenerate with ``python -m shifty_ent.devtools.reference docs/commands.md``.
"""

from __future__ import annotations

import re
import sys
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from shifty_ent.core import helpfmt

PROG = "shifty-ent"
HEADER = f"""# Command reference

<!-- Generated from the `--help` texts by
`python -m shifty_ent.devtools.reference docs/commands.md`; do not edit by hand. -->

Every command also takes `-h, --help`. Global options (`--db`, `--tenant`, `--as`, `--output`,
...) go before the group: `{PROG} [OPTIONS] GROUP COMMAND ...`; `--output`, `--json`, `--quiet`,
`--debug`, `--tenant`, `--as` and `--db` may also follow the command
(`{PROG} user list -o json`). Exit codes: 0 success, 2 invalid
input, 3 not found, 4 refused or permission denied, 5 conflict, 6 external service error,
130 interrupted.
"""


@dataclass(frozen=True)
class Entry:
    """One command of the tree, with the click context that names its full path."""

    path: str  # "" for the root, "gpu budget set", ...
    command: Any
    context: Any

    @property
    def is_group(self) -> bool:
        return getattr(self.command, "commands", None) is not None


def iter_commands() -> Iterator[Entry]:
    """The root, then every group and command depth-first, in ``--help`` listing order."""
    import typer

    from shifty_ent.cli import GROUPS, LazyCommand, app

    ctx_class = _context_class()
    root = typer.main.get_command(app)
    root_ctx = ctx_class(root, info_name=PROG)
    yield Entry("", root, root_ctx)

    def walk(cmd: Any, name: str, path: str, parent: Any) -> Iterator[Entry]:
        if isinstance(cmd, LazyCommand):
            cmd = cmd.load()
        ctx = ctx_class(cmd, info_name=name, parent=parent)
        yield Entry(path, cmd, ctx)
        if getattr(cmd, "commands", None) is None:
            return
        for sub_name in cmd.list_commands(ctx):
            sub = cmd.get_command(ctx, sub_name)
            if sub is not None and not getattr(sub, "hidden", False):
                yield from walk(sub, sub_name, f"{path} {sub_name}", ctx)

    for name in GROUPS:
        yield from walk(LazyCommand(name, *GROUPS[name]), name, name, root_ctx)


def _context_class() -> Any:
    try:  # typer >= 0.2x vendors click
        from typer._click.core import Context
    except ImportError:  # pragma: no cover - older typer on the click package
        from click.core import Context  # type: ignore[assignment]  # older typer: the same class
    return Context


_BACKTICKED = re.compile(r"(`[^`]*`)")
_TAG_START = re.compile(r"<(?=[A-Za-z/!?])")
_QUOTE_START = re.compile(r"(^|\n)(\s*)>")
_ANNOTATIONS = re.compile(r"\s*(\[[^\[\]]*(?:default:|required|env var|[<>]=?)[^\[\]]*\])\s*$")


def _prose(text: str) -> str:
    """Help text as Markdown: outside code spans, ``<tag`` would read as HTML and a line that
    starts with ``>`` as a quote."""
    parts = _BACKTICKED.split(text)
    out = []
    for i, part in enumerate(parts):
        if i % 2 == 0:
            part = _TAG_START.sub(r"\\<", part)
            part = _QUOTE_START.sub(r"\1\2\\>", part)
        out.append(part)
    return "".join(out)


def _help_text(cmd: Any) -> str:
    text = (cmd.help or cmd.short_help or "").strip()
    lines = [line.rstrip() for line in text.splitlines() if line.strip() != "\b"]
    return _prose("\n".join(lines))


def _param_lines(entry: Entry, kind: str) -> list[str]:
    rows = []
    for param in entry.command.params:
        if getattr(param, "hidden", False) or param.param_type_name != kind:
            continue
        record = param.get_help_record(entry.context)
        if record is None:
            continue
        decl, help_text = record
        help_text = " ".join(help_text.split())
        # typer appends "[default: 50; x>=1]" / "[required]": keep it verbatim as code
        found = _ANNOTATIONS.search(help_text)
        if found:
            help_text = _prose(help_text[: found.start()]) + f" `{found.group(1)}`"
        else:
            help_text = _prose(help_text)
        rows.append(f"- `{decl}`" + (f": {help_text.strip()}" if help_text.strip() else ""))
    return rows


def usage_line(entry: Entry) -> str:
    """The ``--help`` usage line, unwrapped (``get_usage`` wraps at the terminal's width)."""
    pieces = entry.command.collect_usage_pieces(entry.context)
    return " ".join(["Usage:", entry.context.command_path, *pieces])


def _section(entry: Entry) -> list[str]:
    title = f"{PROG} {entry.path}".strip()
    out = [f"{'#' * min(2 + entry.path.count(' '), 4)} `{title}`", ""]
    out += ["```text", usage_line(entry), "```", ""]
    help_text = _help_text(entry.command)
    if help_text:
        out += [help_text, ""]
    for kind, label in (("argument", "Arguments"), ("option", "Options")):
        rows = _param_lines(entry, kind)
        if rows:
            out += [f"{label}:", "", *rows, ""]
    if entry.is_group:
        subs = entry.command.list_commands(entry.context)
        rows = []
        for name in subs:
            sub = entry.command.get_command(entry.context, name)
            if sub is None or getattr(sub, "hidden", False):
                continue
            short = " ".join(sub.get_short_help_str(limit=200).split())
            rows.append(f"- `{name}`" + (f": {_prose(short)}" if short else ""))
        if rows:
            out += ["Commands:", "", *rows, ""]
    examples = helpfmt.examples_of(entry.command)
    if examples:
        out += ["Examples:", "", "```sh", *examples, "```", ""]
    return out


def _contents(entries: list[Entry]) -> list[str]:
    """A nested list of links (GitHub heading anchors: lower case, spaces to hyphens)."""
    out = ["## Contents", ""]
    for entry in entries:
        title = f"{PROG} {entry.path}".strip()
        depth = entry.path.count(" ") + (1 if entry.path else 0)
        out.append(f"{'  ' * depth}- [`{title}`](#{title.replace(' ', '-')})")
    return [*out, ""]


def render() -> str:
    """The whole reference as one Markdown string."""
    entries = list(iter_commands())
    lines = [HEADER, *_contents(entries)]
    for entry in entries:
        lines += _section(entry)
    return "\n".join(lines).rstrip() + "\n"


def write(path: Path) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(render(), encoding="utf-8")
    return path


if __name__ == "__main__":
    print(write(Path(sys.argv[1] if len(sys.argv) > 1 else "docs/commands.md")))
