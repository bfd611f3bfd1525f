"""Who may do what in the ``report`` group: each permission is declared here once and checked by
the service function that does the work (see :mod:`shifty_ent.core.authz`)."""

from __future__ import annotations

from shifty_ent.core.authz import Permission, declare

COMPLIANCE = declare(
    "report.compliance", ("auditor",), "Generate a signed compliance report (any of its types)."
)
COSTS = declare("report.costs", ("operator", "auditor"), "Generate a signed GPU cost report.")
ARCADE = declare("report.arcade", ("operator", "auditor"), "Generate a signed arcade report.")
LIST = declare("report.list", ("auditor", "operator"), "See the reports generated for the tenant.")
AUDIT_VERIFY = declare(
    "report.audit.verify",
    ("auditor",),
    "Verify the tenant's audit chain (--tenant); without one, every chain in the store.",
)
AUDIT_CHECKPOINT = declare(
    "report.audit.checkpoint",
    ("auditor",),
    "Write a signed checkpoint of the tenant's audit chain to the witness (--tenant); without "
    "one, of every chain in the store.",
)

#: report kind (see ``service.REPORT_TYPES``) -> what generating one needs
GENERATE: dict[str, Permission] = {"compliance": COMPLIANCE, "costs": COSTS, "arcade": ARCADE}

COMMANDS: dict[str, Permission | None] = {
    "report compliance": COMPLIANCE,
    "report costs": COSTS,
    "report arcade": ARCADE,
    "report verify": None,
    "report trust add": None,
    "report trust remove": None,
    "report trust list": None,
    "report list": LIST,
    "report audit verify": AUDIT_VERIFY,
    "report audit checkpoint": AUDIT_CHECKPOINT,
    "quickstart": None,
}
