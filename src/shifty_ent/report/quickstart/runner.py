"""The tour's runner: real commands, in-process, as a user would type them, printed as it goes.

Each step runs the root command with ``--db``, ``--as`` and ``-o json`` and a fake clock
(``SHIFTY_NOW``) that the script moves forward; a failing step stops the tour with its message.
"""

from __future__ import annotations

import io
import json
import os
import shlex
from collections.abc import Iterator
from contextlib import contextmanager, redirect_stderr, redirect_stdout
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any

import typer

from shifty_ent.core.runtime import output_format, settings

TOUR_ENV = (
    "SHIFTY_NOW",
    "SHIFTY_HOME",
    "SHIFTY_NOTIFY_WEBHOOK",
    "SHIFTY_SIGNING_KEY",
    "SHIFTY_IDENTITY",
)


class TourError(Exception):
    def __init__(self, message: str, exit_code: int = 1) -> None:
        super().__init__(message)
        self.exit_code = exit_code


@dataclass
class Tour:
    """Runs commands in-process and keeps the narrative."""

    db_url: str
    tenant: str
    sandbox: Path
    now: datetime
    lines: list[str] = field(default_factory=list)
    commands: int = 0

    def say(self, text: str) -> None:
        self.lines.append(text)
        if output_format() != "table" and not settings().quiet:
            import sys

            sys.stderr.write(text + "\n")
            sys.stderr.flush()

    def run(self, *args: str, user: str = "alice", tenant: bool = True, show: bool = True) -> Any:
        from shifty_ent.cli import app as root

        argv = ["--db", self.db_url, "--as", user, "-o", "json"]
        if tenant:
            argv += ["--tenant", self.tenant]
        argv += list(args)
        os.environ["SHIFTY_NOW"] = self.now.isoformat()
        out, err = io.StringIO(), io.StringIO()
        command = typer.main.get_command(root)
        with redirect_stdout(out), redirect_stderr(err):
            code = command.main(args=argv, prog_name="shifty-ent", standalone_mode=False)
        self.commands += 1
        if show:
            shown = [a if len(a) < 70 else a[:67] + "..." for a in args]
            who = f"--as {user} " if tenant or args[0] == "tenant" else ""
            self.say(f"   $ shifty-ent {who}{shlex.join(shown)}")
        if code != 0:
            last = (err.getvalue().strip().splitlines() or ["no message"])[-1]
            raise TourError(
                f"step 'shifty-ent {shlex.join(args)}' failed (exit {code}): {last}", code
            )
        text = out.getvalue().strip()
        return json.loads(text) if text else None


@contextmanager
def tour_env(sandbox: Path, own_home: bool) -> Iterator[None]:
    saved = {k: os.environ.get(k) for k in TOUR_ENV}
    try:
        os.environ.pop("SHIFTY_NOTIFY_WEBHOOK", None)  # never call a real webhook from the tour
        if own_home:
            # the sandbox's own store is a declared one: the tour plays several people with
            # --as and moves a fake clock, which only declared stores allow
            os.environ["SHIFTY_IDENTITY"] = "declared"
            os.environ["SHIFTY_HOME"] = str(sandbox)
            os.environ["SHIFTY_SIGNING_KEY"] = str(sandbox / "signing_key.pem")
        yield
    finally:
        for key, value in saved.items():
            if value is None:
                os.environ.pop(key, None)
            else:
                os.environ[key] = value
