"""``data`` group: retention policies, assets, certified deletion, workspaces, sweep, export.

Each command parses, calls one service function in ``shifty_ent.data.*`` and renders.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer

from shifty_ent.core.choices import CLASSIFICATIONS, DELETION_METHODS, Values
from shifty_ent.core.options import DryRunOpt, ForceOpt, YesOpt

if TYPE_CHECKING:
    from shifty_ent.core.progress import Progress
from shifty_ent.core.runtime import asker, command, emit, info, make_app, settings
from shifty_ent.data.values import ASSET_STATES, JOB_STATES, WORKSPACE_TYPES

app = make_app("Retention, certified deletion, workspaces, cron sweep and GDPR export.")
policy_app = make_app("Retention policies per classification.")
asset_app = make_app("Data assets: register, ingest into the vault, list, legal hold.")
delete_app = make_app("Deletion jobs: request, approve (four-eyes), execute.")
cert_app = make_app("Signed deletion certificates.")
ws_app = make_app("Disposable workspaces with an allocation and a TTL.")
vault_app = make_app("The tenant's vault key, which wraps every vault and archive data key.")
app.add_typer(policy_app, name="policy")
app.add_typer(asset_app, name="asset")
app.add_typer(delete_app, name="delete")
app.add_typer(cert_app, name="certificate")
app.add_typer(ws_app, name="workspace")
app.add_typer(vault_app, name="vault")

CLASSES = Values(CLASSIFICATIONS)
METHODS = Values(DELETION_METHODS)

ClassOpt = Annotated[
    str,
    typer.Option(
        "--classification",
        "-c",
        parser=CLASSES,
        help="Data classification.",
    ),
]
PolicyOpt = Annotated[
    str | None, typer.Option("--policy", metavar="POLICY", help="Policy id, prefix or name.")
]
SubjectsOpt = Annotated[
    list[str] | None,
    typer.Option("--subject", metavar="ID", help="Data subject held in the asset (repeatable)."),
]
MethodOpt = Annotated[
    str,
    typer.Option(
        "--method",
        parser=METHODS,
        help="How the data is erased.",
    ),
]

ASSET_COLUMNS = (
    "id",
    "name",
    "type",
    "classification",
    "status",
    "size_bytes",
    "expires_at",
    "legal_hold",
    "location",
)
JOB_COLUMNS = (
    "id",
    "status",
    "method",
    "asset_ids",
    "requested_by",
    "approved_by",
    "certificate_id",
    "created_at",
    "completed_at",
)


# ------------------------------------------------------------------ policies


@policy_app.command("create")
def policy_create(
    name: str,
    classification: Annotated[
        list[str],
        typer.Option(
            "--classification",
            "-c",
            parser=CLASSES,
            help="Classification covered (repeatable).",
        ),
    ],
    retention_days: Annotated[int, typer.Option("--retention-days", help="Days to keep.")],
    auto_delete: Annotated[
        bool, typer.Option("--auto-delete", help="The sweep erases expired assets.")
    ] = False,
    archive_before_delete: Annotated[
        bool,
        typer.Option("--archive-before-delete", help="Encrypted archive copy before erasure."),
    ] = False,
    notify_days: Annotated[
        int | None, typer.Option("--notify-days", help="Notify this many days before expiry.")
    ] = None,
    method: Annotated[
        str,
        typer.Option("--method", parser=METHODS, help="Deletion method the sweep uses."),
    ] = "standard",
    auto_approve: Annotated[
        bool,
        typer.Option(
            "--auto-approve",
            help="Manual 'standard' deletions of public/internal assets need no second person.",
        ),
    ] = False,
) -> None:
    """Create a retention policy. Needs operator or admin.

    Examples:
    shifty-ent -t acme data policy create gdpr-30d -c pii -c phi --retention-days 30 \\
        --auto-delete --method cryptographic_erase
    """
    from shifty_ent.data.policies import create_policy

    with command() as ctx:
        policy = create_policy(
            ctx,
            name=name,
            classifications=classification,
            retention_days=retention_days,
            auto_delete=auto_delete,
            archive_before_delete=archive_before_delete,
            notify_days=notify_days,
            method=method,
            auto_approve=auto_approve,
        )
    emit(policy)


@policy_app.command("list")
def policy_list() -> None:
    """List retention policies. Any role of the tenant."""
    from shifty_ent.data.policies import list_policies

    with command() as ctx:
        rows = list_policies(ctx)
    emit(rows)


@policy_app.command("show")
def policy_show(policy: str) -> None:
    """Show one policy. Any role of the tenant."""
    from shifty_ent.data.policies import show_policy

    with command() as ctx:
        row = show_policy(ctx, policy)
    emit(row)


@policy_app.command("update")
def policy_update(
    policy: Annotated[str, typer.Argument(metavar="POLICY", help="Policy id, prefix or name.")],
    classification: Annotated[
        list[str] | None,
        typer.Option(
            "--classification",
            "-c",
            parser=CLASSES,
            help="Classifications covered (repeatable; replaces them).",
        ),
    ] = None,
    retention_days: Annotated[
        int | None, typer.Option("--retention-days", help="Days to keep.")
    ] = None,
    auto_delete: Annotated[
        bool | None,
        typer.Option("--auto-delete/--no-auto-delete", help="The sweep erases expired assets."),
    ] = None,
    archive_before_delete: Annotated[
        bool | None,
        typer.Option(
            "--archive-before-delete/--no-archive-before-delete",
            help="Encrypted archive copy before erasure.",
        ),
    ] = None,
    notify_days: Annotated[
        int | None,
        typer.Option("--notify-days", help="Notify this many days before expiry (0: never)."),
    ] = None,
    method: Annotated[
        str | None,
        typer.Option("--method", parser=METHODS, help="Deletion method the sweep uses."),
    ] = None,
    auto_approve: Annotated[
        bool | None,
        typer.Option(
            "--auto-approve/--no-auto-approve",
            help="Manual 'standard' deletions of public/internal assets need no second person.",
        ),
    ] = None,
    yes: YesOpt = False,
    dry_run: DryRunOpt = False,
) -> None:
    """Change a policy and re-derive the expiry of every asset it governs. Needs operator or
    admin. A change that makes assets due at once (the next sweep would erase them) needs --yes;
    --dry-run lists them.

    Examples:
    shifty-ent -t acme data policy update gdpr-30d --retention-days 14 --notify-days 3
    """
    from shifty_ent.data.policies import update_policy

    with command() as ctx:
        row = update_policy(
            ctx,
            policy,
            classifications=classification or None,
            retention_days=retention_days,
            auto_delete=auto_delete,
            archive_before_delete=archive_before_delete,
            notify_days=notify_days,
            method=method,
            auto_approve=auto_approve,
            yes=yes,
            dry_run=dry_run,
        )
    counts = row["assets"]
    verb = "would re-derive" if dry_run else "re-derived"
    info(
        f"{verb} {counts['recomputed']} asset(s), covered {counts['covered']}, released "
        f"{counts['released']}; {len(counts['due_now'])} due now"
    )
    emit(row)


@policy_app.command("delete")
def policy_delete(
    policy: Annotated[str, typer.Argument(metavar="POLICY", help="Policy id, prefix or name.")],
    yes: YesOpt = False,
) -> None:
    """Delete a policy no asset (active or erased) refers to. Needs operator or admin."""
    from shifty_ent.data.policies import delete_policy

    with command() as ctx:
        ask = asker(f"Delete retention policy {policy}?", yes=yes)
        row = delete_policy(ctx, policy, confirm=ask).public()
    info(f"deleted policy {row['name']}")
    emit(row)


# ------------------------------------------------------------------ assets


@asset_app.command("register")
def asset_register(
    name: str,
    type_: Annotated[str, typer.Option("--type", help="dataset, model, file, log, ...")],
    classification: ClassOpt,
    location: Annotated[
        str, typer.Option("--location", help="Path, file://, s3://BUCKET/KEY or another URI.")
    ],
    size: Annotated[
        str | None,
        typer.Option(
            "--size", metavar="SIZE", help="Size: bytes, or binary units (2G = 2 GiB, 512M)."
        ),
    ] = None,
    policy: PolicyOpt = None,
    subject: SubjectsOpt = None,
    sha256: Annotated[str | None, typer.Option("--sha256", help="Known SHA-256 (hex).")] = None,
    no_hash: Annotated[
        bool, typer.Option("--no-hash", help="Measure the size only, not the SHA-256.")
    ] = False,
    max_files: Annotated[
        int, typer.Option("--max-files", help="Most files a directory may hold.")
    ] = 100_000,
    strict_roots: Annotated[
        bool,
        typer.Option(
            "--strict-roots",
            help="Refuse (exit 2) a local location outside every data root (default: warn).",
        ),
    ] = False,
) -> None:
    """Register an asset; local files are measured (size, SHA-256). Needs operator or admin.

    Hashing stops at 64 GiB (give --sha256 or --no-hash), a directory at --max-files files and
    256 levels; system directories (/, /usr, /etc, /home, ...) are refused. A local location
    outside every data root of the tenant on this host gets a warning (it could not be erased
    here), or exit 2 with --strict-roots.

    Examples:
    shifty-ent -t acme data asset register churn --type dataset -c pii \\
        --location /srv/acme/churn.csv --policy gdpr-30d
    shifty-ent -t acme data asset register logs --type log -c internal \\
        --location s3://acme-logs/2026/ --size 2147483648
    """
    from shifty_ent.core import inputs
    from shifty_ent.core.output import message
    from shifty_ent.data.assets import register_asset

    size_bytes = None if size is None else inputs.size(size, minimum=0)
    with command() as ctx:
        asset = register_asset(
            ctx,
            name=name,
            type=type_,
            classification=classification,
            location=location,
            size_bytes=size_bytes,
            policy=policy,
            subjects=subject or (),
            sha256=sha256,
            hash=not no_hash,
            max_files=max_files,
            strict_roots=strict_roots,
            warn=lambda text: message(f"warning: {text}"),
        )
    emit(asset)


@asset_app.command("ingest")
def asset_ingest(
    file: Annotated[Path, typer.Argument(exists=True, dir_okay=False, readable=True)],
    name: Annotated[str, typer.Option("--name", help="Asset name.")],
    classification: ClassOpt,
    policy: PolicyOpt = None,
    type_: Annotated[str, typer.Option("--type", help="Asset type.")] = "file",
    subject: SubjectsOpt = None,
) -> None:
    """Copy FILE into the tenant vault, AES-256-GCM encrypted with its own key, so it can
    later be purged by cryptographic erase. The source is left in place. Needs operator or admin.

    Examples:
    shifty-ent -t acme data asset ingest churn.csv --name churn -c pii --subject customer-42
    """
    from shifty_ent.data.assets import ingest_asset

    with command() as ctx:
        asset = ingest_asset(
            ctx,
            file,
            name=name,
            classification=classification,
            type=type_,
            policy=policy,
            subjects=subject or (),
        )
    emit(asset)


@asset_app.command("list")
def asset_list(
    classification: Annotated[
        str | None,
        typer.Option("--classification", "-c", parser=CLASSES, help="Only this classification."),
    ] = None,
    expiring_within: Annotated[
        int | None,
        typer.Option(
            "--expiring-within", metavar="DAYS", help="Expiring within DAYS, soonest first."
        ),
    ] = None,
    subject: Annotated[
        str | None, typer.Option("--subject", metavar="ID", help="Assets of one data subject.")
    ] = None,
    status: Annotated[
        str | None,
        typer.Option("--status", parser=Values(ASSET_STATES), help="Only this status."),
    ] = None,
    all_: Annotated[bool, typer.Option("--all", help="Include deleted assets.")] = False,
) -> None:
    """List assets. Any role; listing classified assets is audited.

    Examples:
    shifty-ent -t acme data asset list -c pii --expiring-within 7
    shifty-ent data asset list -t acme -o csv
    """
    from shifty_ent.data.assets import list_assets

    with command() as ctx:
        rows = list_assets(
            ctx,
            classification=classification,
            expiring_within_days=expiring_within,
            subject=subject,
            status=status,
            include_deleted=all_,
        )
    emit(rows, columns=ASSET_COLUMNS)


@asset_app.command("show")
def asset_show(asset: str) -> None:
    """Show one asset with its holds (explicit, and implicit while a model uses it). Any role;
    reading a classified asset is audited."""
    from shifty_ent.data.assets import show_asset
    from shifty_ent.data.uses import uses_of

    with command() as ctx:
        found = show_asset(ctx, asset)
        row = {**found.public(), "implicit_holds": [u.public() for u in uses_of(ctx, found.id)]}
    emit(row)


@asset_app.command("hold")
def asset_hold(
    asset: str, reason: Annotated[str, typer.Option("--reason", help="Why (case, order).")]
) -> None:
    """Place a legal hold: no deletion, sweep or erase until released. Needs operator or admin."""
    from shifty_ent.data.assets import hold_asset

    with command() as ctx:
        row = hold_asset(ctx, asset, reason=reason)
    emit(row)


@asset_app.command("release")
def asset_release(asset: str) -> None:
    """Lift a legal hold. Needs admin."""
    from shifty_ent.data.assets import release_asset

    with command() as ctx:
        row = release_asset(ctx, asset)
    emit(row)


@asset_app.command("restore")
def asset_restore(
    asset: Annotated[str, typer.Argument(metavar="ASSET", help="Asset id, prefix or name.")],
    to: Annotated[
        Path,
        typer.Option("--to", help="A new directory below an allowed data root to unpack into."),
    ],
    reason: Annotated[str, typer.Option("--reason", help="Why the data is brought back.")],
) -> None:
    """Unpack an asset's encrypted pre-deletion archive into a new directory. Admin only;
    audited. The restored copy is not governed by any policy until it is registered."""
    from shifty_ent.data.restore import restore_asset

    with command() as ctx:
        row = restore_asset(ctx, asset, to=to, reason=reason)
    info(
        f"restored {row['files']} file(s) of {row['name']} to {row['restored_to']}; register "
        "them with 'data asset register' to put them under a retention policy"
    )
    emit(row)


# ------------------------------------------------------------------ deletion jobs


@delete_app.command("request")
def delete_request(
    method: MethodOpt,
    reason: Annotated[str, typer.Option("--reason", help="Why the data is deleted.")],
    assets: Annotated[list[str] | None, typer.Argument(help="Assets to erase.")] = None,
    subject: Annotated[
        str | None,
        typer.Option("--subject", metavar="ID", help="Every asset of this data subject (GDPR 17)."),
    ] = None,
    include_archives: Annotated[
        bool,
        typer.Option(
            "--include-archives",
            help="Also erase the encrypted pre-deletion archives (a deleted asset's archive too).",
        ),
    ] = False,
) -> None:
    """Request erasure of assets or of one data subject's assets. Needs operator or admin.

    An admin other than the requester must approve (public/internal + standard may be
    auto-approved by an --auto-approve policy).

    Examples:
    shifty-ent -t acme data delete request churn --method secure_overwrite \\
        --reason 'retention ended'
    shifty-ent -t acme data delete request --subject customer-42 --method cryptographic_erase \\
        --reason 'GDPR Art. 17 request 4711'
    """
    from shifty_ent.data.deletion import request_deletion

    with command() as ctx:
        job = request_deletion(
            ctx,
            asset_refs=assets or (),
            subject=subject,
            method=method,
            reason=reason,
            include_archives=include_archives,
        )
    emit(job)


@delete_app.command("approve")
def delete_approve(job: str) -> None:
    """Approve a pending job. Needs admin, and not the requester (four-eyes)."""
    from shifty_ent.data.deletion import approve

    with command() as ctx:
        row = approve(ctx, job)
    emit(row)


@delete_app.command("cancel")
def delete_cancel(
    job: str, reason: Annotated[str, typer.Option("--reason", help="Why.")] = "cancelled"
) -> None:
    """Cancel a job that has not started. Needs the requester (operator) or an admin."""
    from shifty_ent.data.deletion import cancel

    with command() as ctx:
        row = cancel(ctx, job, reason=reason)
    emit(row)


@contextmanager
def _progress(verb: str) -> Iterator[Progress]:
    """A progress line on stderr when it is a terminal (even with stdout piped), else silent."""
    from shifty_ent.core.progress import for_terminal

    shown = for_terminal(verb, quiet=settings().quiet)
    try:
        yield shown
    finally:
        shown.close()


@delete_app.command("execute")
def delete_execute(job: str, yes: YesOpt = False) -> None:
    """Execute an approved job (or resume one whose executor died). Needs operator or admin.

    Exit 0 when every asset was erased, 5 when some failed (see the job's items). Items whose
    files live on another host are left to it: the job ends waiting_for_host (exit 0) until
    'data delete execute' runs there; the last host to finish issues the certificate.
    """
    from shifty_ent.core.errors import Conflict
    from shifty_ent.data.deletion import execute, show_job
    from shifty_ent.data.tables import WAITING

    with command() as ctx, _progress("erasing") as progress:
        ask = asker(f"Erase the assets of deletion job {job} now?", yes=yes)
        row = execute(ctx, job, progress=progress, confirm=ask)
        shown = show_job(ctx, str(row.id))
    emit(shown)
    if row.status == WAITING:
        hosts = ", ".join(w["host_name"] for w in shown.get("waiting_for_host", []))
        info(f"deletion job {row.id}: this host's part is done; waiting for host(s) {hosts}")
        return
    if row.status != "completed":
        raise Conflict(f"deletion job {row.id} ended {row.status}: {row.error}")


@delete_app.command("list")
def delete_list(
    status: Annotated[
        str | None,
        typer.Option("--status", parser=Values(JOB_STATES), help="Only this status."),
    ] = None,
) -> None:
    """List deletion jobs. Needs admin, operator or auditor."""
    from shifty_ent.data.deletion import list_jobs

    with command() as ctx:
        rows = list_jobs(ctx, status=status)
    emit(rows, columns=JOB_COLUMNS)


@delete_app.command("show")
def delete_show(job: str) -> None:
    """Show a job with its per-asset items. Needs admin, operator or auditor."""
    from shifty_ent.data.deletion import show_job

    with command() as ctx:
        row = show_job(ctx, job)
    emit(row)


# ------------------------------------------------------------------ certificates


@cert_app.command("show")
def cert_show(certificate: str) -> None:
    """Show a signed certificate (id or its job's id), its validations, each re-checked, and
    the amendments recorded since it was signed. Needs admin, operator or auditor."""
    from shifty_ent.data.certificates import amendments, show_certificate
    from shifty_ent.data.validation import validations

    with command() as ctx:
        cert = show_certificate(ctx, certificate)
        row = {
            **cert.public(),
            "validations": validations(ctx, cert),
            "amendments": amendments(ctx, cert.id),
        }
    emit(row)


@cert_app.command("validate")
def cert_validate(
    certificate: str,
    note: Annotated[
        str | None, typer.Option("--note", help="What the validator checked, in their words.")
    ] = None,
) -> None:
    """Check a certificate and add your signed validation (NIST SP 800-88 App. G "validated
    by"). Needs auditor; never the job's requester or performer. Exit 4 when it does not verify.
    """
    from shifty_ent.data.validation import validate

    with command() as ctx:
        record = validate(ctx, certificate, note=note)
    emit(record)


@cert_app.command("list")
def cert_list() -> None:
    """List certificates. Needs admin, operator or auditor."""
    from shifty_ent.data.certificates import list_certificates

    with command() as ctx:
        rows = list_certificates(ctx)
    emit(rows, columns=("id", "job_id", "key_fingerprint", "created_at"))


@cert_app.command("verify")
def cert_verify(
    certificate: Annotated[str, typer.Argument(help="Certificate id, or an exported FILE.")],
    public_key: Annotated[
        str | None,
        typer.Option("--public-key", help="Expected issuer public key (base64); pins the signer."),
    ] = None,
) -> None:
    """Verify signature and content; works offline on an exported file. Exit 4 when invalid.

    A FILE needs no database. An id needs admin, operator or auditor.
    """
    from shifty_ent.core import infiles, trust
    from shifty_ent.data.certificates import raise_unless_valid, verify_file, verify_stored

    path = Path(certificate)
    infiles.refuse_special(path, "certificate")
    if path.is_file():
        trusted = trust.trust_set(settings(), public_key=public_key)  # refuses a bad key
        pinned = trust.public_key_from(public_key) if public_key else None
        ok, reason = verify_file(path, pinned, trust=trusted)
        emit({"valid": ok, "reason": reason, "file": str(path)})
    else:
        with command() as ctx:
            ok, reason, cert = verify_stored(ctx, certificate)
        emit({"valid": ok, "reason": reason, "certificate_id": cert.id})
    raise_unless_valid(ok, reason)


@cert_app.command("export")
def cert_export(
    certificate: str,
    out: Annotated[Path, typer.Option("--out", metavar="FILE", dir_okay=False, help="File.")],
    force: ForceOpt = False,
) -> None:
    """Write a self-contained certificate file (document, signature, key) for offline
    verification. Needs admin, operator or auditor.
    """
    from shifty_ent.data.certificates import export_certificate

    with command() as ctx:
        cert = export_certificate(ctx, certificate, out, force=force)
    info(f"wrote {out}")
    emit({"id": cert.id, "job_id": cert.job_id, "file": str(out)})


# ------------------------------------------------------------------ workspaces


@ws_app.command("create")
def ws_create(
    type_: Annotated[
        str, typer.Option("--type", parser=Values(WORKSPACE_TYPES), help="What it is for.")
    ],
    size: Annotated[str, typer.Option("--size", help="Allocation, e.g. 10G, 512MiB, 1000000.")],
    ttl: Annotated[str, typer.Option("--ttl", help="Lifetime, e.g. 90m, 2h, 7d.")],
    name: Annotated[str | None, typer.Option("--name", help="Workspace name.")] = None,
    classification: Annotated[
        str,
        typer.Option(
            "--classification", "-c", parser=CLASSES, help="Classification of what goes in."
        ),
    ] = "internal",
    method: Annotated[
        str, typer.Option("--method", parser=METHODS, help="Erasure method when destroyed.")
    ] = "secure_overwrite",
) -> None:
    """Create a disposable workspace directory (0700). Needs operator or admin.

    Examples:
    shifty-ent -t acme data workspace create --type training --size 10G --ttl 2h
    """
    from shifty_ent.data.workspaces import create_workspace

    with command() as ctx:
        ws = create_workspace(
            ctx,
            type=type_,
            size=size,
            ttl=ttl,
            name=name,
            classification=classification,
            method=method,
        )
    emit(ws)


@ws_app.command("list")
def ws_list(
    all_: Annotated[bool, typer.Option("--all", help="Include destroyed workspaces.")] = False,
) -> None:
    """List workspaces with measured usage and over-allocation. Any role of the tenant."""
    from shifty_ent.data.workspaces import list_workspaces

    with command(readonly=False) as ctx:  # records the usage it measures
        rows = list_workspaces(ctx, include_destroyed=all_)
    emit(
        rows,
        columns=(
            "id",
            "name",
            "type",
            "status",
            "usage_bytes",
            "size_allocated_bytes",
            "over_allocation",
            "expires_at",
            "path",
        ),
    )


@ws_app.command("show")
def ws_show(workspace: str) -> None:
    """Show one workspace (usage measured now). Any role of the tenant."""
    from shifty_ent.data.workspaces import show_workspace

    with command(readonly=False) as ctx:  # records the usage it measures
        row = show_workspace(ctx, workspace)
    emit(row)


@ws_app.command("destroy")
def ws_destroy(workspace: str, yes: YesOpt = False) -> None:
    """Erase a workspace now, with a certificate. Needs operator or admin; asks first (--yes
    to skip the question; without a terminal --yes is required)."""
    from shifty_ent.data.workspaces import destroy_workspace

    with command() as ctx, _progress("destroying") as progress:
        ask = asker(f"Erase workspace {workspace} and everything in it?", yes=yes)
        row = destroy_workspace(ctx, workspace, confirm=ask, progress=progress)
    emit(row)


# ------------------------------------------------------------------ sweep, export


@app.command("sweep")
def sweep(
    dry_run: DryRunOpt = False,
    by_host: Annotated[
        bool,
        typer.Option(
            "--host",
            help="List what each host owes (due assets, job items, expired "
            "workspaces); change nothing.",
        ),
    ] = False,
) -> None:
    """Cron job: notify, archive, auto-delete expired assets, expire workspaces.

    Needs operator or admin: run it from cron '--as' a service user with the operator role, on
    every host that holds data. A host erases only its own local files, vault copies and
    workspaces; those of other hosts are listed under waiting_for_host. Exit 0 when everything
    due here was handled, 5 when anything failed. With SHIFTY_NOW and --dry-run it previews a
    future date and changes nothing; what a real run would be refused (a file outside the data
    roots, an S3 object without credentials here) is listed under failures (exit 5).
    """
    from shifty_ent.core.errors import Conflict
    from shifty_ent.data.sweep import run_sweep

    if by_host:
        from shifty_ent.data import owed

        with command() as ctx:
            rows = owed.by_host(ctx, ctx.now())
        emit(rows, columns=owed.COLUMNS)
        return
    with command() as ctx, _progress("sweep") as progress:
        summary = run_sweep(ctx, dry_run=dry_run, progress=progress)
    emit(summary)
    if summary["failures"] and dry_run:
        raise Conflict(f"dry run: a real sweep would fail on {len(summary['failures'])} item(s)")
    if summary["failures"]:
        raise Conflict(f"sweep finished with {len(summary['failures'])} failure(s)")


@app.command("export")
def export(
    out: Annotated[Path, typer.Option("--out", metavar="FILE", dir_okay=False, help="Zip file.")],
    subject: Annotated[
        str | None, typer.Option("--subject", metavar="ID", help="Only one data subject's records.")
    ] = None,
    force: ForceOpt = False,
) -> None:
    """GDPR Art. 20 export: a zip of JSON lines with a manifest and SHA-256 checksums.

    Needs admin or auditor (the export contains classified records; it is audited).

    Examples:
    shifty-ent -t acme data export --out acme-export.zip
    shifty-ent -t acme data export --subject customer-42 --out customer-42.zip
    """
    from shifty_ent.data.export import export_records

    with command() as ctx:
        manifest = export_records(ctx, out, subject=subject, force=force)
    info(f"wrote {out}")
    emit(manifest)


# ------------------------------------------------------------------ vault key


@vault_app.command("rotate-key")
def vault_rotate_key() -> None:
    """Close the key epoch: rewrap every data key under a new tenant key, destroy old keys.

    Vault assets and archives alike; the new key is a new AWS KMS key with
    SHIFTY_VAULT_KMS=aws. A certificate whose erased key an old key wrapped gets an amendment.
    Admin only; audited."""
    from shifty_ent.data.vault_keys import rotate_tenant_key

    with command() as ctx:
        row = rotate_tenant_key(ctx)
    info(
        f"rewrapped {row['data_keys_rewrapped']} data key(s) and {row['archives_rewrapped']} "
        f"archive(s) under {row['kek_id']}; destroyed {len(row['keys_destroyed'])} old key(s)"
    )
    emit(row)
