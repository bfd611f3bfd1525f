"""Who may do what in the ``gpu`` group: each permission is declared here once and checked by
the service function that does the work (see :mod:`shifty_ent.core.authz`)."""

from __future__ import annotations

from shifty_ent.core.authz import ANY_MEMBER, Permission, declare

OPERATOR = ("operator",)
COST_READERS = ("operator", "auditor")

OFFERS = declare("gpu.offers", ANY_MEMBER, "Search vast.ai offers.")
PROVISION = declare("gpu.provision", OPERATOR, "Rent an instance within the price and budgets.")
READ = declare("gpu.instance.read", ANY_MEMBER, "See the tenant's instances and their cost.")
COSTS = declare("gpu.costs", COST_READERS, "Read the cost ledger and compare it with the bill.")
TERMINATE = declare("gpu.terminate", OPERATOR, "Destroy an instance and close its ledger.")
HEALTH = declare("gpu.health", OPERATOR, "Probe an instance's model endpoint and store it.")
RECONCILE = declare(
    "gpu.reconcile",
    OPERATOR,
    "Reconcile one tenant (--tenant); without one, the cron identity reconciles every tenant.",
)
BUDGET_SET = declare("gpu.budget.set", ("admin",), "Set the tenant's GPU budgets.")
BUDGET_READ = declare("gpu.budget.read", COST_READERS, "See budgets, spend and projection.")
AUTOSCALE_SET = declare("gpu.autoscale.set", OPERATOR, "Create, replace or remove autoscale rules.")
AUTOSCALE_READ = declare("gpu.autoscale.read", ANY_MEMBER, "See autoscale rules and replicas.")

COMMANDS: dict[str, Permission | None] = {
    "gpu types": None,
    "gpu offers": OFFERS,
    "gpu provision": PROVISION,
    "gpu status": READ,
    "gpu list": READ,
    "gpu costs": COSTS,
    "gpu charges": COSTS,
    "gpu terminate": TERMINATE,
    "gpu health": HEALTH,
    "gpu reconcile": RECONCILE,
    "gpu budget set": BUDGET_SET,
    "gpu budget show": BUDGET_READ,
    "gpu autoscale set": AUTOSCALE_SET,
    "gpu autoscale show": AUTOSCALE_READ,
    "gpu autoscale clear": AUTOSCALE_SET,
}
