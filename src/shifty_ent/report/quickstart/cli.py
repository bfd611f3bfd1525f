"""``shifty-ent quickstart``: a guided tour on a sandbox tenant in its own SQLite file.

The tour runs the real commands in-process against a sandbox directory under the data dir: its
own database, signing key, vault and sample files, never the user's store (unless
``--use-store``). A fake clock (``SHIFTY_NOW``) starts 40 days ago and moves forward, so retention
expires for real: sweep -> certificate -> verify, arcade answers -> dataset -> data asset, and a
signed HTML compliance report.
"""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path
from typing import Annotated

import typer

from shifty_ent.core.runtime import emit, output_format, settings
from shifty_ent.report.quickstart.runner import Tour, TourError, tour_env
from shifty_ent.report.quickstart.sandbox import prepare
from shifty_ent.report.quickstart.script import next_commands, run_tour

app = typer.Typer(add_completion=False, help="Guided tour on a sandbox tenant.")


@app.command()
def quickstart(
    dir_: Annotated[
        Path | None,
        typer.Option(
            "--dir", metavar="DIR", help="Sandbox directory (default: DATA_DIR/quickstart)."
        ),
    ] = None,
    use_store: Annotated[
        bool,
        typer.Option(
            "--use-store",
            help="Build the tenant in the configured store (--db) instead "
            "of the sandbox's own SQLite file.",
        ),
    ] = False,
    tenant_name: Annotated[
        str, typer.Option("--tenant-name", metavar="NAME", help="Name of the sandbox tenant.")
    ] = "quickstart",
) -> None:
    """Guided tour of the whole tool on a sandbox tenant, in seconds. No role needed.

    Builds a sandbox (own SQLite file, key, vault, sample files), then moves a fake clock 40 days
    forward through: retention sweep -> deletion certificate -> verify; arcade answers ->
    dataset -> data asset; signed HTML compliance reports. Prints each command it runs and what
    to try next. No account, no network. Your store is untouched unless --use-store (then the
    tenant is created in the store --db names).
    """
    from shifty_ent.core.clock import now
    from shifty_ent.core.errors import ShiftyError

    conf = settings()
    sandbox = (dir_ or conf.data_dir / "quickstart").expanduser().resolve()
    prepare(sandbox)
    own_home = not use_store
    db_url = conf.database_url if use_store else f"sqlite:///{sandbox / 'state.db'}"
    end = now()
    tour = Tour(db_url=db_url, tenant=tenant_name, sandbox=sandbox, now=end - timedelta(days=40))
    with tour_env(sandbox, own_home):
        try:
            result = run_tour(tour, end)
        except TourError as exc:
            err = ShiftyError(f"quickstart stopped: {exc}")
            err.exit_code = exc.exit_code
            raise err from None
    result["next_commands"] = next_commands(result, own_home)
    tour.say("Try next:")
    for line in result["next_commands"]:
        tour.say(f"   {line}")
    if output_format() == "table":
        if not conf.quiet:
            typer.echo("\n".join(tour.lines))
        return
    emit(result)
