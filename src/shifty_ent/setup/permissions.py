"""Who may do what with tenants and users: each permission is declared here once and checked by
the service function that does the work (see :mod:`shifty_ent.core.authz`).

Creating and listing tenants needs no role: the creator becomes the new tenant's first admin.
"""

from __future__ import annotations

from shifty_ent.core.authz import INSTALLATION_ADMIN, Permission, declare

ANY = ("admin", "operator", "labeler", "auditor")

TENANT_SHOW = declare("tenant.show", ANY, "See a tenant one is a member of.")
USER_ADD = declare("user.add", ("admin",), "Add a user to the tenant, or grant more roles.")
USER_LIST = declare("user.list", ANY, "See the tenant's users and their roles.")
USER_REMOVE = declare("user.remove", ("admin",), "Revoke every role of a user in the tenant.")
ADMIN_CHANGE = declare(
    "installation.admin", (INSTALLATION_ADMIN,), "Name or revoke installation administrators."
)
TENANT_ROOTS = declare(
    "tenant.roots", (INSTALLATION_ADMIN,), "Assign, withdraw and list tenants' data roots."
)
TENANT_LIST_ALL = declare(
    "tenant.list_all", (INSTALLATION_ADMIN,), "See every tenant of the installation."
)

COMMANDS: dict[str, Permission | None] = {
    "init": None,
    "config show": None,
    # shell completion: the scripts need no store; the names it offers come from the tenant
    # and user listings, which check their own permissions (nothing shown that they would hide)
    "completion bash": None,
    "completion zsh": None,
    "completion fish": None,
    "completion values": None,
    "db upgrade": None,
    "db current": None,
    "db check": None,
    "tenant create": None,
    "tenant create --data-root": TENANT_ROOTS,
    "tenant root add": TENANT_ROOTS,
    "tenant root remove": TENANT_ROOTS,
    "tenant root list": TENANT_ROOTS,
    "tenant list": None,
    "tenant list --all": TENANT_LIST_ALL,
    "admin list": None,
    "admin add": ADMIN_CHANGE,
    "admin remove": ADMIN_CHANGE,
    "tenant show": TENANT_SHOW,
    "user add": USER_ADD,
    "user list": USER_LIST,
    "user remove": USER_REMOVE,
}
