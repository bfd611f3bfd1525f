"""``report`` group: signed compliance, cost and arcade reports; offline verification; audit."""

from __future__ import annotations

from enum import StrEnum
from pathlib import Path
from typing import Annotated

import typer

from shifty_ent.core.choices import Values
from shifty_ent.core.options import (
    EndOpt,
    ForceOpt,
    LimitOpt,
    OutFileOpt,
    ReportFormat,
    StartOpt,
    YesOpt,
)
from shifty_ent.core.runtime import asker, command, emit, info, make_app, settings

app = make_app("Signed compliance, cost and arcade reports; offline verification; audit chain.")
audit_app = make_app("The hash-chained audit log.")
app.add_typer(audit_app, name="audit")


class ComplianceType(StrEnum):
    deletion_audit = "deletion_audit"
    access_audit = "access_audit"
    retention_status = "retention_status"
    data_inventory = "data_inventory"


# report/service.py REPORT_TYPES, repeated so help needs no import of the service
REPORT_TYPES = (*ComplianceType, "costs", "arcade")

FormatOpt = Annotated[
    ReportFormat,
    typer.Option(
        "--format",
        "-f",
        case_sensitive=False,
        help="File format (pdf: the HTML printed; needs the pdf extra).",
    ),
]
REPORT_COLUMNS = [
    "id",
    "type",
    "format",
    "period_start",
    "period_end",
    "generated_by",
    "row_count",
    "content_sha256",
    "path",
]


def _generate(
    kind: str,
    start: str | None,
    end: str | None,
    fmt: ReportFormat,
    out: Path | None,
    force: bool = False,
) -> None:
    from shifty_ent.report.service import generate

    with command() as ctx:
        report = generate(ctx, kind, start=start, end=end, fmt=fmt.value, out=out, force=force)
    info(f"wrote {report.path} ({report.row_count} rows) and its signature {report.path}.sig")
    emit(report)


@app.command("compliance")
def compliance(
    type_: Annotated[
        ComplianceType,
        typer.Option("--type", case_sensitive=False, help="Which compliance report."),
    ],
    start: StartOpt = None,
    end: EndOpt = None,
    fmt: FormatOpt = ReportFormat.md,
    out: OutFileOpt = None,
    force: ForceOpt = False,
) -> None:
    """Signed compliance evidence for the tenant (auditor or admin).

    deletion_audit: deletion jobs, methods, approvals and whether each certificate still
    verifies. access_audit: reads and changes of classified data, with the audit chain's
    verification. retention_status: per policy, assets in force, in notice and overdue.
    data_inventory: assets by classification, type and location. The period defaults to the
    30 days before now; --end is exclusive. Without --out the file goes under the data dir
    (reports/TENANT/). FILE.sig beside it holds the Ed25519 signature.

    Examples:
    shifty-ent -t acme report compliance --type deletion_audit --format html \\
        --out deletions.html
    shifty-ent -t acme report compliance --type data_inventory --start 2026-01-01 \\
        -f csv
    """
    _generate(type_.value, start, end, fmt, out, force)


@app.command("costs")
def costs(
    start: StartOpt = None,
    end: EndOpt = None,
    fmt: FormatOpt = ReportFormat.md,
    out: OutFileOpt = None,
    force: ForceOpt = False,
) -> None:
    """GPU spend against budgets, burn rate, month-end projection (operator or auditor).

    Spend per day, instance and GPU type from the ledger 'gpu reconcile' accrues, against the
    tenant's monthly and hourly budgets. Signed like every report; admin may run it too.

    Examples:
    shifty-ent -t acme report costs --start 2026-11-01 --end 2026-12-01 --format md
    """
    _generate("costs", start, end, fmt, out, force)


@app.command("arcade")
def arcade(
    start: StartOpt = None,
    end: EndOpt = None,
    fmt: FormatOpt = ReportFormat.md,
    out: OutFileOpt = None,
    force: ForceOpt = False,
) -> None:
    """Missions, accuracy, agreement, XP and top users (operator or auditor).

    Per mission type: created, settled, unresolved, mean agreement, answers, flagged, accuracy,
    XP; the top 10 contributors; datasets built. Signed like every report; admin may run it too.
    """
    _generate("arcade", start, end, fmt, out, force)


@app.command("verify")
def verify(
    file: Annotated[
        Path,
        typer.Argument(
            metavar="FILE",
            help="A report file (FILE.sig beside it) or a deletion certificate file.",
        ),
    ],
    sig: Annotated[
        Path | None,
        typer.Option("--sig", metavar="SIGFILE", help="Signature file (default: FILE.sig)."),
    ] = None,
    fingerprint: Annotated[
        str | None,
        typer.Option(
            "--fingerprint",
            metavar="SHA256:HEX",
            help="Accept only this signing key (pin it; see 'report trust list').",
        ),
    ] = None,
    public_key: Annotated[
        str | None,
        typer.Option(
            "--public-key",
            metavar="KEY|FILE",
            help="Accept only this Ed25519 public key (base64, or a file holding it).",
        ),
    ] = None,
) -> None:
    """Check a signed report or a deletion certificate offline: no network, no database needed.

    A signature counts only from a trusted key: one pinned with --fingerprint/--public-key, else
    one in the trust file ('report trust add') or registered in the configured store. Exits 0
    when a trusted key signed and not one byte changed; 4 when the file or its signature was
    altered or an untrusted key signed it; 3 when the file is missing. No role needed.
    """
    from shifty_ent.core import trust
    from shifty_ent.core.errors import Refused
    from shifty_ent.report.service import verify_file

    trusted = trust.trust_set(settings(), fingerprint=fingerprint, public_key=public_key)
    result = verify_file(file, sig=sig, fingerprint=fingerprint, trust=trusted)
    emit(result)
    if not result.ok:
        raise Refused(f"{file}: {result.reason}", file=str(file))


@app.command("list")
def list_(
    type_: Annotated[
        str | None,
        typer.Option("--type", parser=Values(REPORT_TYPES), help="Only reports of this type."),
    ] = None,
    limit: LimitOpt = 50,
) -> None:
    """Reports generated for the tenant, newest first (operator or auditor).

    Shows each report's file, content SHA-256, signature, signing key and audit head.
    """
    from shifty_ent.report.service import list_reports

    with command() as ctx:
        rows = list_reports(ctx, report_type=type_, limit=limit)
    emit(rows, columns=REPORT_COLUMNS)


WitnessOpt = Annotated[
    str | None,
    typer.Option(
        "--witness",
        metavar="DIR|s3://BUCKET/PREFIX|https://URL",
        help="Where audit checkpoints are kept (default: SHIFTY_AUDIT_WITNESS).",
    ),
]


@audit_app.command("verify")
def audit_verify(
    witness: WitnessOpt = None,
    checkpoint: Annotated[
        list[Path] | None,
        typer.Option(
            "--checkpoint",
            metavar="FILE",
            help="A signed checkpoint file to hold against the chain (repeatable).",
        ),
    ] = None,
) -> None:
    """Walk the audit chain (the tenant's, or every chain without --tenant) and check it against
    every checkpoint: the witness's, each --checkpoint FILE and the heads the store's signed
    reports recorded.

    Exits 4 naming the first bad sequence number when an event was changed, removed, reordered
    or is unreadable, and naming the checkpoint when the chain was truncated, rewritten or
    deleted below one, or when a checkpoint is not signed by a trusted key. Needs auditor (or
    admin) of the tenant; without --tenant an installation administrator.
    """
    from shifty_ent.report.audit_verify import raise_if_broken, verify_chains

    with command(tenant="optional") as ctx:
        reports = verify_chains(ctx, witness=witness, checkpoint_files=checkpoint or [])
    emit(reports)
    raise_if_broken(reports)


@audit_app.command("checkpoint")
def audit_checkpoint(witness: WitnessOpt = None) -> None:
    """Sign the audit chain's head and write it to the witness, outside the database (cron).

    One checkpoint per chain: the tenant's (auditor or admin), or every chain without --tenant
    (installation administrator). 'report audit verify' then finds any later truncation,
    rewrite or deletion at or below it. Report generation, 'data sweep' and deletion jobs write
    one too whenever SHIFTY_AUDIT_WITNESS is set.
    """
    from shifty_ent.report.audit_verify import checkpoint_chains

    with command(tenant="optional") as ctx:
        written = checkpoint_chains(ctx, witness=witness)
    emit(written, columns=("chain", "seq", "head_hash", "at", "witness"))


trust_app = make_app("Signing keys this machine trusts when verifying documents.")
app.add_typer(trust_app, name="trust")


@trust_app.command("add")
def trust_add(
    source: Annotated[
        str,
        typer.Argument(
            metavar="FILE_OR_FP",
            help="A fingerprint (SHA256:HEX), a base64 public key, or a file holding one "
            "(a report's .sig, an exported certificate).",
        ),
    ],
    label: Annotated[
        str | None, typer.Option("--label", metavar="TEXT", help="Whose key this is.")
    ] = None,
) -> None:
    """Trust a signing key for 'report verify' and 'data certificate verify'. No role needed:
    the trust file is this account's own (mode 0600 in the config dir)."""
    from shifty_ent.core import trust

    emit(trust.add(settings(), source, label=label))


@trust_app.command("remove")
def trust_remove(
    source: Annotated[
        str, typer.Argument(metavar="FILE_OR_FP", help="Fingerprint, key or file to distrust.")
    ],
    yes: YesOpt = False,
) -> None:
    """Stop trusting a key from the trust file (asks first; --yes to skip the question)."""
    from shifty_ent.core import trust

    emit(trust.remove(settings(), source, confirm=asker(f"Distrust {source}?", yes=yes)))


@trust_app.command("list")
def trust_list() -> None:
    """Trusted keys: the trust file's and those registered in the configured store."""
    from shifty_ent.core import trust

    emit(trust.listing(settings()), columns=("fingerprint", "label", "source"))
