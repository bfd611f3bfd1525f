"""Root command: global options, the lazy group table, and the one error boundary.

Groups are imported only when they run (or when help for them is asked), so ``shifty-ent --help``
never imports sqlalchemy, httpx or huggingface_hub. Every expected failure is a ``ShiftyError``
whose exit code is documented; it becomes one line on stderr (a JSON object with ``-o json``) and
a traceback only with ``--debug``.
"""

from __future__ import annotations

import copy
import importlib
import json
import os
import sys
from collections.abc import Sequence
from difflib import get_close_matches
from functools import cache
from typing import Any

import typer
from typer.core import TyperGroup

from shifty_ent import __version__
from shifty_ent.core import clicklib, helpfmt, inputs, outfiles, secrecy
from shifty_ent.core.errors import Interrupted, InvalidInput, ShiftyError
from shifty_ent.core.options import (
    ActorOpt,
    ColumnsOpt,
    DbOpt,
    DebugOpt,
    JsonOpt,
    OutputOpt,
    QuietOpt,
    TenantOpt,
    WideOpt,
    split_columns,
)
from shifty_ent.core.runtime import RootState

# name -> ("module:attribute", one-line help). The attribute is a typer.Typer app.
GROUPS: dict[str, tuple[str, str]] = {
    "init": ("shifty_ent.setup.cli:init_app", "Create config, signing key and embedded database."),
    "config": ("shifty_ent.setup.cli:config_app", "Show the effective settings (secrets masked)."),
    "db": ("shifty_ent.setup.cli:db_app", "Apply and check state store migrations."),
    "tenant": ("shifty_ent.setup.cli:tenant_app", "Create and inspect tenants."),
    "user": ("shifty_ent.setup.cli:user_app", "Manage a tenant's users and roles."),
    "admin": (
        "shifty_ent.setup.cli:admin_app",
        "Installation administrators: who may act across tenants.",
    ),
    "gpu": ("shifty_ent.gpu.cli:app", "GPU instances on vast.ai: offers, provisioning, costs."),
    "model": ("shifty_ent.model.cli:app", "Model registry: versions, deployment, training, evals."),
    "data": ("shifty_ent.data.cli:app", "Retention, certified deletion, workspaces, GDPR export."),
    "arcade": (
        "shifty_ent.arcade.cli:app",
        "Human-in-the-loop missions, XP and training datasets.",
    ),
    "report": ("shifty_ent.report.cli:app", "Signed compliance, cost and arcade reports; audit."),
    "quickstart": ("shifty_ent.report.quickstart.cli:app", "Guided tour on a sandbox tenant."),
    "completion": ("shifty_ent.devtools.completion_cli:app", "Print a shell completion script."),
}

# Root options a person may also write after the command (``user list -o json``). Each long name
# here is copied, hidden, onto every command of a group when the group loads (see ``_hoist``);
# a command's own option of the same name wins. A new root option joins by adding its long name.
HOISTED_OPTIONS: tuple[str, ...] = (
    "--output",
    "--json",
    "--columns",
    "--wide",
    "--quiet",
    "--debug",
    "--tenant",
    "--as",
    "--db",
)
_HOISTED_PREFIX = "root__"


def _root_flags(params: dict[str, Any]) -> dict[str, Any]:
    """The root callback's parameters as the flags settings are built from."""
    output = params.get("output")
    fmt = "json" if params.get("json_") else (output.value if output else None)
    return {
        "database_url": params.get("db"),
        "tenant": params.get("tenant"),
        "user": params.get("as_user"),
        "output": fmt,
        "columns": split_columns(params.get("columns")),
        "wide": bool(params.get("wide")),
        "debug": bool(params.get("debug")),
        "quiet": bool(params.get("quiet")),
    }


def _hoisted_value(ctx: Any, param: Any, value: Any) -> Any:
    """A root option given after the command: it overrides the one given before the group."""
    if ctx.get_parameter_source(param.name) is not clicklib.ParameterSource.COMMANDLINE:
        return value
    root = ctx.find_root()
    root.params[param.name.removeprefix(_HOISTED_PREFIX)] = value
    if isinstance(root.obj, RootState):
        root.obj.replace_flags(_root_flags(root.params))
    return value


def _hoist(cmd: Any, root_params: Sequence[Any]) -> None:
    """Give ``cmd`` and every command under it hidden copies of the hoisted root options."""
    taken = {o for p in cmd.params for o in (*p.opts, *getattr(p, "secondary_opts", []))}
    for param in root_params:
        if not set(param.opts) & set(HOISTED_OPTIONS):
            continue
        opts = [o for o in param.opts if o not in taken]
        if not any(o in HOISTED_OPTIONS for o in opts):
            continue  # the command's own option of that long name wins
        clone = copy.copy(param)
        clone.opts = opts
        clone.secondary_opts = []
        clone.name = _HOISTED_PREFIX + param.name
        clone.hidden = True
        clone.expose_value = False
        clone.callback = _hoisted_value
        cmd.params.append(clone)
    for sub in (getattr(cmd, "commands", None) or {}).values():
        _hoist(sub, root_params)


class LazyCommand(TyperGroup):
    """Stands in for a group in help listings; becomes the real command when invoked."""

    def __init__(self, name: str, target: str, help_text: str) -> None:
        super().__init__(name=name, help=help_text, short_help=help_text)
        self.target = target
        self._real: Any = None

    def load(self) -> Any:
        if self._real is None:
            module_name, attr = self.target.split(":")
            obj = getattr(importlib.import_module(module_name), attr)
            cmd = typer.main.get_command(obj) if isinstance(obj, typer.Typer) else obj
            cmd.name = self.name
            helpfmt.tidy(cmd, self.name or "")
            _hoist(cmd, _root_params())
            self._real = cmd
        return self._real

    def make_context(
        self, info_name: str | None, args: list[str], parent: Any = None, **extra: Any
    ) -> Any:
        return self.load().make_context(info_name, args, parent=parent, **extra)

    def get_short_help_str(self, limit: int = 150) -> str:
        return self.short_help or ""

    def get_help(self, ctx: Any) -> str:
        return self.load().get_help(ctx)

    def list_commands(self, ctx: Any) -> list[str]:
        return self.load().list_commands(ctx)

    def get_command(self, ctx: Any, cmd_name: str) -> Any:
        return self.load().get_command(ctx, cmd_name)

    def shell_complete(self, ctx: Any, incomplete: str) -> list[Any]:
        return self.load().shell_complete(ctx, incomplete)


@cache
def _root_params() -> list[Any]:
    """The root callback's options, built once (each group load copies the hoisted ones)."""
    return list(typer.main.get_command(app).params)


class RootGroup(TyperGroup):
    """Lazy group table plus the error boundary around the whole program."""

    def __init__(self, **attrs: Any) -> None:
        super().__init__(**attrs)
        helpfmt.tidy(self, "")

    def resolve_command(self, ctx: Any, args: list[str]) -> Any:
        """Unknown group: suggest the closest names, as subcommands already do (the group
        table is lazy, so typer's own suggestion sees no commands here)."""
        try:
            return super().resolve_command(ctx, args)
        except clicklib.UsageError as exc:
            matches = get_close_matches(args[0], self.list_commands(ctx)) if args else []
            if matches and "Did you mean" not in exc.message:
                names = ", ".join(repr(m) for m in matches)
                exc.message = f"{exc.message.rstrip('.')}. Did you mean {names}?"
            raise

    def list_commands(self, ctx: Any) -> list[str]:
        eager = [n for n in super().list_commands(ctx) if n not in GROUPS]
        return list(GROUPS) + eager

    def get_command(self, ctx: Any, cmd_name: str) -> Any:
        if cmd_name in GROUPS:
            target, help_text = GROUPS[cmd_name]
            return LazyCommand(cmd_name, target, help_text)
        return super().get_command(ctx, cmd_name)

    def main(  # type: ignore[override]  # click's signature, narrowed
        self,
        args: Sequence[str] | None = None,
        prog_name: str | None = None,
        complete_var: str | None = None,
        standalone_mode: bool = True,
        **extra: Any,
    ) -> Any:
        argv = list(sys.argv[1:] if args is None else args)

        def run() -> Any:
            inputs.check_argv(argv)
            return super(RootGroup, self).main(
                args=argv,
                prog_name=prog_name or "shifty-ent",
                complete_var=complete_var,
                standalone_mode=False,
                **extra,
            )

        code = run_with_boundary(run, argv)
        if standalone_mode:
            sys.exit(code)
        return code


def _options_part(argv: Sequence[str]) -> Sequence[str]:
    """The words before ``--``: after it nothing is an option (``user remove -- --json``)."""
    return argv[: list(argv).index("--")] if "--" in argv else argv


def _wants_json(argv: Sequence[str]) -> bool:
    env = os.environ.get("SHIFTY_OUTPUT", "").lower()
    fmt = env if env else None
    argv = _options_part(argv)
    for i, arg in enumerate(argv):
        if arg == "--json":
            fmt = "json"
        elif arg in ("-o", "--output") and i + 1 < len(argv):
            fmt = argv[i + 1].lower()
        elif arg.startswith("--output="):
            fmt = arg.split("=", 1)[1].lower()
        elif arg.startswith("-o") and len(arg) > 2:
            fmt = arg[2:].lower()
    return fmt in ("json", "jsonl")


def _debug_on(argv: Sequence[str]) -> bool:
    return "--debug" in _options_part(argv) or os.environ.get("SHIFTY_DEBUG") == "1"


def _print_traceback() -> None:
    """``--debug``'s traceback, with every loaded secret scrubbed (see core/secrecy.py)."""
    import traceback

    sys.stderr.write(secrecy.scrub(traceback.format_exc()))


def _report(err: ShiftyError, argv: Sequence[str]) -> int:
    if _wants_json(argv):
        line = json.dumps(err.to_json(), ensure_ascii=False)
    else:
        line = f"error: {err.message}"
    # one line, secrets scrubbed, and nothing the terminal would interpret (escape sequences)
    line = secrecy.scrub(line).replace("\r", "\\r").replace("\n", " ")
    line = line.encode("utf-8", "backslashreplace").decode("utf-8")
    sys.stderr.write(line + "\n")
    sys.stderr.flush()
    return err.exit_code


def _unexpected(exc: Exception, debug: bool) -> ShiftyError:
    """A documented error for what no service caught: a full disk or quota is exit 6 (the
    command's transaction was rolled back); anything else is exit 1."""
    if isinstance(exc, OSError) and exc.errno in outfiles.FULL:
        return outfiles.os_error(exc, exc.filename or "a file")
    detail = str(exc).strip().splitlines()[0] if str(exc).strip() else ""
    hint = "" if debug else "; rerun with --debug for a traceback"
    return ShiftyError(f"unexpected {type(exc).__name__}: {detail}{hint}")


def run_with_boundary(fn: Any, argv: Sequence[str]) -> int:
    """Run ``fn`` and turn every outcome into an exit code (the program's one error boundary)."""
    debug = _debug_on(argv)
    try:
        rv = fn()
    except ShiftyError as err:
        if debug:
            _print_traceback()
        return _report(err, argv)
    except clicklib.NoArgsIsHelpError as exc:
        exc.show()
        return 2
    except clicklib.UsageError as exc:
        message = exc.format_message().replace("\n", " ").strip()
        where = f" (see '{exc.ctx.command_path} --help')" if exc.ctx is not None else ""
        return _report(InvalidInput(message + where), argv)
    except clicklib.ClickException as exc:
        return _report(InvalidInput(exc.format_message().replace("\n", " ")), argv)
    except (clicklib.Abort, KeyboardInterrupt):
        return _report(Interrupted("interrupted"), argv)
    except BrokenPipeError:
        return 0
    except Exception as exc:
        if debug:
            _print_traceback()
        return _report(_unexpected(exc, debug), argv)
    if isinstance(rv, int) and not isinstance(rv, bool):
        return rv
    return 0


def _version(value: bool) -> None:
    if value:
        typer.echo(f"shifty-ent {__version__}")
        raise typer.Exit()


app = typer.Typer(
    cls=RootGroup,
    name="shifty-ent",
    help="Per-tenant enterprise AI operations on self-hosted infrastructure: GPUs on vast.ai, "
    "a model registry, certified data lifecycle, a labelling arcade and signed reports.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
    context_settings={"help_option_names": ["-h", "--help"]},
)


@app.callback()
def root(
    ctx: typer.Context,
    db: DbOpt = None,
    tenant: TenantOpt = None,
    as_user: ActorOpt = None,
    output: OutputOpt = None,
    json_: JsonOpt = False,
    columns: ColumnsOpt = None,
    wide: WideOpt = False,
    debug: DebugOpt = False,
    quiet: QuietOpt = False,
    version: bool = typer.Option(
        False, "--version", callback=_version, is_eager=True, help="Print the version and exit."
    ),
) -> None:
    """Global options go before the group: shifty-ent [OPTIONS] GROUP COMMAND ...; --output,
    --json, --columns, --wide, --quiet, --debug, --tenant, --as and --db may also follow the
    command."""
    ctx.obj = RootState(flags=_root_flags(ctx.params))


def main() -> None:
    """Console-script entry point."""
    command = typer.main.get_command(app)
    command.main(prog_name="shifty-ent")
