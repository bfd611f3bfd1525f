"""``report`` group: audit chain verification (and, as they land, compliance reports)."""

from __future__ import annotations

from shifty_ent.core.runtime import command, emit, make_app

app = make_app("Audit chain verification and signed reports.")
audit_app = make_app("The hash-chained audit log.")
app.add_typer(audit_app, name="audit")


@audit_app.command("verify")
def audit_verify() -> None:
    """Walk the audit chain (the tenant's, or every chain without --tenant).

    Exits 4 naming the first bad sequence number when an event was changed, removed or
    reordered. Needs auditor (or admin) of the tenant.
    """
    from shifty_ent.report.audit_verify import raise_if_broken, verify_chains

    with command(tenant="optional") as ctx:
        reports = verify_chains(ctx)
    emit(reports)
    raise_if_broken(reports)
