"""``shifty-ent quickstart``: a guided tour on a sandbox tenant in its own SQLite file.

The tour runs the real commands in-process (each one exactly as a user would type it, printed as
it goes) against a sandbox directory under the data dir: its own database, signing key, vault and
sample files, never the user's store (unless ``--use-store``). A fake clock (``SHIFTY_NOW``) starts
40 days ago and moves forward, so retention expires for real: sweep -> certificate -> verify,
arcade answers -> dataset -> data asset, and a signed HTML compliance report. No account, no
network: the sweep's webhook is switched off for the tour.
"""

from __future__ import annotations

import io
import json
import os
import shlex
import shutil
from collections.abc import Iterator
from contextlib import contextmanager, redirect_stderr, redirect_stdout
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from pathlib import Path
from typing import Annotated, Any

import typer

from shifty_ent.core import outfiles
from shifty_ent.core.runtime import emit, output_format, settings

app = typer.Typer(add_completion=False, help="Guided tour on a sandbox tenant.")

MARKER = ".shifty-quickstart"
TOUR_ENV = (
    "SHIFTY_NOW",
    "SHIFTY_HOME",
    "SHIFTY_NOTIFY_WEBHOOK",
    "SHIFTY_SIGNING_KEY",
    "SHIFTY_IDENTITY",
)
SAMPLES = {
    "crm/customers.csv": (
        "customer_id,name,email\n1042,Ada Lovelace,ada@example.org\n"
        "1043,Alan Turing,alan@example.org\n"
    ),
    "crm/litigation-emails.mbox": "From: legal@example.org\nSubject: case 42\n\nPreserve.\n",
    "notes/model-notes.txt": "Fine-tuning notes: lr 2e-5, 3 epochs, eval on held-out set.\n",
    "public/brochure.txt": "shifty-ent: enterprise AI operations from one command line.\n",
}
PATIENTS = "patient_id,diagnosis\nP-001,J45.909\nP-002,E11.9\n"
MISSIONS = [
    ({"test_name": "test_login", "output": "PASS: login works"}, ("correct", "correct", "correct")),
    (
        {"test_name": "test_checkout", "output": "FAIL: timeout after 30s"},
        ("incorrect", "incorrect", "correct"),
    ),
    ({"test_name": "test_search", "output": "PASS: 10 results"}, ("correct", "correct", "unsure")),
]


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
def _tour_env(sandbox: Path, own_home: bool) -> Iterator[None]:
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


def _prepare(sandbox: Path) -> None:
    """A fresh sandbox; only a directory this tour created before is ever removed."""
    from shifty_ent.core.errors import InvalidInput

    if sandbox.exists():
        if (sandbox / MARKER).is_file():
            from shifty_ent.core import store

            db = sandbox / "state.db"
            if db.exists():  # drop pooled connections to the file we are about to remove
                store.get_engine(f"sqlite:///{db}").dispose()
            shutil.rmtree(sandbox)
        elif any(sandbox.iterdir()):
            raise InvalidInput(
                f"{sandbox} exists and was not made by quickstart; choose another --dir"
            )
    outfiles.private_dir(sandbox)
    (sandbox / MARKER).write_text("made by shifty-ent quickstart; safe to delete\n")
    for rel, text in SAMPLES.items():
        path = sandbox / "files" / rel
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text, encoding="utf-8")
    (sandbox / "incoming").mkdir()
    (sandbox / "incoming" / "patients.csv").write_text(PATIENTS, encoding="utf-8")
    (sandbox / "reports").mkdir()


def run_tour(tour: Tour, end: datetime) -> dict[str, Any]:
    files = tour.sandbox / "files"
    t0 = tour.now
    tour.say(f"1. A tenant, its people and its data (clock: {t0:%Y-%m-%d}, 40 days ago)")
    tour.run(
        "tenant",
        "create",
        tour.tenant,
        "--gpu-monthly-budget",
        "500",
        "--gpu-hourly-budget",
        "8",
        "--data-root",
        str(files),
        tenant=False,
    )
    for user, role in (
        ("bob", "admin"),
        ("olga", "operator"),
        ("audrey", "auditor"),
        ("lars", "labeler"),
        ("lena", "labeler"),
        ("lukas", "labeler"),
    ):
        tour.run("user", "add", user, "--role", role, show=user in ("olga", "audrey"))
    tour.run(
        "data",
        "policy",
        "create",
        "personal-30d",
        "-c",
        "pii",
        "-c",
        "confidential",
        "--retention-days",
        "30",
        "--notify-days",
        "7",
        "--auto-delete",
        "--method",
        "secure_overwrite",
        user="olga",
    )
    tour.run(
        "data",
        "policy",
        "create",
        "health-365d",
        "-c",
        "phi",
        "--retention-days",
        "365",
        "--auto-delete",
        "--method",
        "nist_800_88",
        user="olga",
    )
    assets: dict[str, dict[str, Any]] = {}
    for name, rel, cls in (
        ("customers", "crm/customers.csv", "pii"),
        ("litigation-emails", "crm/litigation-emails.mbox", "pii"),
        ("model-notes", "notes/model-notes.txt", "confidential"),
        ("brochure", "public/brochure.txt", "public"),
    ):
        assets[name] = tour.run(
            "data",
            "asset",
            "register",
            name,
            "--type",
            "dataset",
            "--classification",
            cls,
            "--location",
            str(files / rel),
            "--subject",
            "cust-1042",
            user="olga",
            show=name == "customers",
        )
    assets["patients"] = tour.run(
        "data",
        "asset",
        "ingest",
        str(tour.sandbox / "incoming" / "patients.csv"),
        "--name",
        "patients",
        "--classification",
        "phi",
        user="olga",
    )
    tour.say(
        f"   registered {len(assets)} assets (pii, confidential, public; phi in the "
        "encrypted vault)"
    )
    tour.run("data", "asset", "show", "customers", user="audrey")
    tour.run(
        "data", "asset", "hold", "litigation-emails", "--reason", "case 42: preserve", user="olga"
    )

    tour.now = t0 + timedelta(days=35)
    tour.say(
        f"2. Retention expires: the cron sweep erases and certifies (clock: {tour.now:%Y-%m-%d})"
    )
    sweep = tour.run("data", "sweep", user="olga")
    certs = tour.run("data", "certificate", "list", user="audrey", show=False) or []
    gone = [
        n
        for n, rel in (("customers", "crm/customers.csv"), ("model-notes", "notes/model-notes.txt"))
        if not (files / rel).exists()
    ]
    tour.say(
        f"   sweep: {_sweep_line(sweep)}; files gone from disk: {', '.join(gone) or 'none'}; "
        "litigation-emails kept (legal hold)"
    )
    if not certs:
        raise TourError("the sweep issued no deletion certificate")
    cert = certs[0]
    checked = tour.run("data", "certificate", "verify", cert["id"], user="audrey")
    cert_file = tour.sandbox / f"certificate-{cert['id'][:8]}.json"
    tour.run("data", "certificate", "export", cert["id"], "--out", str(cert_file), user="audrey")
    offline = tour.run("report", "verify", str(cert_file), tenant=False)
    tour.say(
        f"   certificate {cert['id'][:8]}: {'valid' if offline['ok'] else 'INVALID'} "
        f"offline ({_reason(checked)})"
    )

    tour.now = t0 + timedelta(days=37)
    tour.say(
        f"3. Labellers play the arcade; answers become a dataset and a data asset "
        f"(clock: {tour.now:%Y-%m-%d})"
    )
    for i, (payload, answers) in enumerate(MISSIONS):
        m = tour.run(
            "arcade",
            "mission",
            "create",
            "--type",
            "label_test_output",
            "--payload",
            json.dumps(payload),
            "--overlap",
            "3",
            user="olga",
            show=i == 0,
        )
        for user, option in zip(("lars", "lena", "lukas"), answers, strict=True):
            tour.run("arcade", "assign", m["id"], user=user, show=False)
            tour.now += timedelta(seconds=45)
            tour.run(
                "arcade",
                "complete",
                m["id"],
                "--option",
                option,
                user=user,
                show=i == 0 and user == "lars",
            )
    board = tour.run("arcade", "leaderboard", user="lars") or []
    top = board[0] if board else {}
    tour.say(
        f"   3 missions settled by consensus; leader: {top.get('user')} "
        f"({top.get('value', top.get('xp', '?'))} XP)"
    )
    ds = tour.run(
        "arcade",
        "dataset",
        "create",
        "test-verdicts-v1",
        "--mission-type",
        "label_test_output",
        user="olga",
    )
    shown = tour.run("data", "asset", "show", str(ds["asset_id"]), user="audrey")
    tour.say(
        f"   dataset test-verdicts-v1: {ds['rows']} rows, registered as data asset "
        f"{str(ds['asset_id'])[:8]} ({shown['classification']})"
    )

    tour.now = end
    tour.say(f"4. Signed evidence for the auditor (clock: {end:%Y-%m-%d}, today)")
    reports = {}
    for kind in ("deletion_audit", "retention_status", "access_audit"):
        out = tour.sandbox / "reports" / f"{kind}.html"
        reports[kind] = tour.run(
            "report",
            "compliance",
            "--type",
            kind,
            "--format",
            "html",
            "--out",
            str(out),
            user="audrey",
            show=kind == "deletion_audit",
        )
    html = Path(reports["deletion_audit"]["path"])
    verified = tour.run("report", "verify", str(html), tenant=False)
    chain = tour.run("report", "audit", "verify", user="audrey")
    tour.say(
        f"   {html.name}: signature {'valid' if verified['ok'] else 'INVALID'}; audit chain "
        f"{'intact' if chain[0]['ok'] else 'BROKEN'} ({chain[0]['events']} events)"
    )
    return {
        "tenant": tour.tenant,
        "sandbox": str(tour.sandbox),
        "database_url": tour.db_url,
        "commands_run": tour.commands,
        "assets_registered": len(assets),
        "assets_erased": gone,
        "certificate_id": cert["id"],
        "certificate_file": str(cert_file),
        "certificate_valid": bool(offline["ok"]),
        "dataset_asset_id": ds["asset_id"],
        "report_files": {k: v["path"] for k, v in reports.items()},
        "report_signature_valid": bool(verified["ok"]),
        "audit_chain_intact": bool(chain[0]["ok"]),
        "key_fingerprint": verified.get("key_fingerprint"),
    }


def _sweep_line(summary: Any) -> str:
    if not isinstance(summary, dict):
        return "done"
    parts = []
    for key in ("erased", "deleted", "jobs", "notices", "archived"):
        value = summary.get(key)
        if isinstance(value, list):
            value = len(value)
        if value:
            parts.append(f"{value} {key}")
    return ", ".join(parts) or "done"


def _reason(checked: Any) -> str:
    if isinstance(checked, dict):
        return str(checked.get("reason") or checked.get("result") or "checked in the store")
    return "checked in the store"


def next_commands(result: dict[str, Any], own_home: bool) -> list[str]:
    prefix = f"SHIFTY_HOME={shlex.quote(result['sandbox'])} " if own_home else ""
    base = f"{prefix}shifty-ent -t {result['tenant']}"
    return [
        f"open {shlex.quote(result['report_files']['deletion_audit'])}",
        f"shifty-ent report verify {shlex.quote(result['report_files']['deletion_audit'])}",
        f"shifty-ent report verify {shlex.quote(result['certificate_file'])}",
        f"{base} --as audrey report compliance --type data_inventory --format md",
        f"{base} --as olga data asset list",
        f"{base} --as olga data sweep --dry-run",
        f"{base} --as lars arcade missions",
        f"{base} --as audrey report audit verify",
        f"{base} --as olga report costs --format html",
    ]


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
    _prepare(sandbox)
    own_home = not use_store
    db_url = conf.database_url if use_store else f"sqlite:///{sandbox / 'state.db'}"
    end = now()
    tour = Tour(db_url=db_url, tenant=tenant_name, sandbox=sandbox, now=end - timedelta(days=40))
    with _tour_env(sandbox, own_home):
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
