"""Help in the user's words, applied once to the command tree when a group loads.

typer prints Python types (``--json <bool>``, ``<list[str]>``, usage ``{name}``) and nothing
about the values a service accepts. :func:`tidy` walks a loaded command tree and gives every
parameter a metavar in capitals (or none for a flag), lists the allowed values of choice options
(see :mod:`shifty_ent.core.choices`) and gives every command an ``Examples:`` epilog: the
command's own, written at the end of its docstring after a line ``Examples:``, or one built from
its required parameters and the sample values below.
"""

from __future__ import annotations

import re
from typing import Any, get_args

from typer.core import TyperArgument

from shifty_ent.core import choices

PROG = "shifty-ent"
EXAMPLES = "Examples:"
# groups whose commands act on no tenant: their generated examples name none
NO_TENANT_GROUPS = ("init", "config", "db", "tenant", "admin", "quickstart", "completion")

# sample values for generated examples, by metavar or parameter name (lower case)
SAMPLES: dict[str, str] = {
    "tenant": "acme",
    "[tenant]": "acme",
    "user": "olga",
    "[user]": "olga",
    "name": "churn-q3",
    "usd": "2.50",
    "date": "2026-01-01",
    "n": "2",
    "number": "0.5",
    "f": "0.5",
    "gb": "50",
    "s": "running",
    "t": "text_classification",
    "file": "out.json",
    "file.jsonl": "missions.jsonl",
    "path": "/srv/acme/data",
    "dir": "/srv/acme/data",
    "url": "postgresql://db.example/shifty",
    "id": "subject-42",
    "reason": "'ticket 4711'",
    "notes": "'clear case'",
    "description": "'Q3 churn labels'",
    "text": "'ticket 4711'",
    "alias": "prod",
    "version": "2",
    "json": '\'{"text": "great service"}\'',
    "key=value": "lr=0.0001",
    "name=value": "accuracy=0.91",
    "checkpoint": "meta-llama/Llama-3.2-1B",
    "source_id": "meta-llama/Llama-3.2-1B",
    "model": "llama-1b@prod",
    "instance": "3f2a9c",
    "asset": "ds-churn",
    "job": "7b1e04",
    "mission": "c41d2e",
    "policy": "gdpr-30d",
    "certificate": "9d0e11",
    "workspace": "5a6b7c",
    "size": "2G",
    "duration": "24h",
    "days": "30",
    "bytes": "1048576",
    "tz": "Europe/Berlin",
    "uri": "file:///srv/acme/data/churn.csv",
    "sha256": "0" * 64,
    "region": "EU",
    "image": "vllm/vllm-openai:latest",
    "location": "/srv/acme/data/churn.csv",
    "ttl": "24h",
    "d": "5e6f70",
    "m": "llama-1b@prod",
    "base": "llama-1b@prod",
    "value": "pass",
    "option": "pass",
    "file_or_fp": "report.md.sig",
    "json|@file": "@mission.json",
    "xp": "50",
}


class PlainArgument(TyperArgument):
    """An argument shown by its metavar only: ``ASSET...`` rather than ``{asset} <list[str]>``."""

    def display_type_rich(self, ctx: Any) -> str | None:
        return None

    def _usage_display_name(self) -> str:
        name = self.display_name_raw
        if not self.required and not name.startswith("["):
            name = f"[{name}]"
        return name + ("..." if self.nargs != 1 and not name.endswith("...") else "")


def tidy(cmd: Any, path: str) -> None:
    """Fix the help of ``cmd`` (at command path ``path``) and of every command under it."""
    for param in getattr(cmd, "params", []):
        _tidy_param(param)
    _quiet_help_option(cmd)
    subs = getattr(cmd, "commands", None)
    if subs is None:
        _set_examples(cmd, path)
        return
    for name, sub in subs.items():
        tidy(sub, f"{path} {name}".strip())


def _quiet_help_option(cmd: Any) -> None:
    """click builds ``--help`` on first use; it is a flag, so it shows no type either."""
    make = cmd.get_help_option

    def get_help_option(ctx: Any) -> Any:
        option = make(ctx)
        if option is not None:
            option.metavar = ""
        return option

    cmd.get_help_option = get_help_option


def metavar_of(param: Any) -> str:
    """A capitalised word for the value, from the type and the parameter name."""
    values = choices.static_values(param)
    desc = getattr(param, "type_descriptor", None)
    annotation = getattr(desc, "annotation", None)
    if getattr(desc, "is_list", False):
        args = get_args(annotation)
        annotation = args[0] if args else str
    name = (param.name or "value").strip("_").upper()
    if values is not None:
        return name
    if annotation is int:
        return "N"
    if annotation is float:
        return "NUMBER"
    if getattr(desc, "is_path", False):
        info = getattr(desc, "parameter_info", None)
        if info is not None and not getattr(info, "dir_okay", True):
            return "FILE"
        if info is not None and not getattr(info, "file_okay", True):
            return "DIR"
        return "PATH"
    return name


def _tidy_param(param: Any) -> None:
    if isinstance(param, TyperArgument):
        if param.metavar is None:
            param.metavar = metavar_of(param)
        param.__class__ = PlainArgument
    elif getattr(param, "is_flag", False) or getattr(param, "count", False):
        param.metavar = ""
    elif param.metavar is None:
        param.metavar = metavar_of(param)
    values = choices.static_values(param)
    if values:
        help_text = (param.help or "").strip()
        if not all(_mentions(help_text, v) for v in values):
            sep = " " if help_text else ""
            param.help = f"{help_text}{sep}One of: {', '.join(values)}."


def _mentions(text: str, word: str) -> bool:
    return re.search(rf"(?<![\w-]){re.escape(word)}(?![\w-])", text) is not None


def _split_examples(cmd: Any) -> str | None:
    help_text = cmd.help or ""
    head, found, tail = help_text.partition(f"\n{EXAMPLES}")
    if not found:
        return None
    cmd.help = head.rstrip()
    lines: list[str] = []
    for line in (raw.strip() for raw in tail.splitlines()):
        if line:
            # a line after one ending in a backslash continues that command: indent it
            more = bool(lines) and lines[-1].endswith("\\")
            lines.append(f"    {line}" if more else line)
    return "\n".join(lines)


def _sample(param: Any) -> str:
    values = choices.static_values(param)
    if values:
        return values[0]
    meta = (param.metavar or "").strip("[].").lower()
    name = (param.name or "").strip("_").lower()
    for key in (name, name.rpartition("_")[2], meta, meta.split("-")[0]):
        if key in SAMPLES:
            return SAMPLES[key]
    return meta or name


def generated_example(cmd: Any, path: str) -> str:
    """The command with its required arguments and options filled with sample values."""
    group = path.split(" ", 1)[0]
    words = [PROG, *(() if group in NO_TENANT_GROUPS else ("-t", "acme")), *path.split()]
    for param in cmd.params:
        if getattr(param, "hidden", False) or not param.required:
            continue
        if isinstance(param, TyperArgument):
            words.append(_sample(param))
        else:
            long = next((o for o in param.opts if o.startswith("--")), param.opts[0])
            words += [long] if getattr(param, "is_flag", False) else [long, _sample(param)]
    return " ".join(words)


def _set_examples(cmd: Any, path: str) -> None:
    own = _split_examples(cmd)
    if cmd.epilog and EXAMPLES in cmd.epilog:
        return
    body = own or generated_example(cmd, path)
    lines = [f"  {line}" for line in body.splitlines()]
    cmd.epilog = "\b\n" + "\n".join([EXAMPLES, *lines])


def examples_of(cmd: Any) -> list[str]:
    """The example command lines of a tidied command, continuation lines kept as written."""
    epilog = (cmd.epilog or "").replace("\b\n", "")
    _, found, tail = epilog.partition(EXAMPLES)
    return [line[2:] for line in tail.splitlines() if line.strip()] if found else []


def example_commands(cmd: Any) -> list[str]:
    """The examples as whole commands (continuation lines joined), e.g. to run them."""
    joined = "\n".join(line.strip() for line in examples_of(cmd))
    return [" ".join(c.split()) for c in joined.replace("\\\n", " ").splitlines()]
