"""Walk audit chains: one tenant's, or every chain in the store."""

from __future__ import annotations

from sqlalchemy import select

from shifty_ent.core import audit
from shifty_ent.core.authz import authorize
from shifty_ent.core.context import Context
from shifty_ent.core.errors import Refused
from shifty_ent.core.tables import AuditHead, Tenant
from shifty_ent.report import permissions


def verify_chains(ctx: Context) -> list[audit.ChainReport]:
    """Verify the tenant's chain (auditor or admin), or with no tenant every chain there is."""
    if ctx.tenant is not None:
        authorize(ctx, permissions.AUDIT_VERIFY)
        return [audit.verify(ctx.session, ctx.tenant.id)]
    ctx.require_installation_admin("report audit verify without --tenant")
    reports = []
    chains = set(ctx.session.scalars(select(AuditHead.chain)).all())
    if audit.SYSTEM_CHAIN in chains:
        reports.append(audit.verify(ctx.session, None))
    for tenant in ctx.session.scalars(select(Tenant).order_by(Tenant.name)).all():
        reports.append(audit.verify(ctx.session, tenant.id))
    return reports


def raise_if_broken(reports: list[audit.ChainReport]) -> None:
    bad = [r for r in reports if not r.ok]
    if bad:
        first = bad[0]
        raise Refused(
            f"audit chain {first.chain} is broken at seq {first.first_bad_seq}: {first.problem}",
            first_bad_seq=first.first_bad_seq,
            chain=first.chain,
        )
