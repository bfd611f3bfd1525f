"""Who may do what in the ``data`` group: each permission is declared here once and checked by
the service function that does the work (see :mod:`shifty_ent.core.authz`)."""

from __future__ import annotations

from shifty_ent.core.authz import Permission, declare

WRITE = ("operator", "admin")
ADMIN = ("admin",)
ANY = ("admin", "operator", "auditor", "labeler")
OVERSIGHT = ("admin", "operator", "auditor")

POLICY_WRITE = declare("data.policy.write", WRITE, "Create, update or delete a retention policy.")
POLICY_READ = declare("data.policy.read", ANY, "See retention policies.")
ASSET_WRITE = declare("data.asset.write", WRITE, "Register or ingest an asset, or put it on hold.")
ASSET_READ = declare("data.asset.read", ANY, "See assets (reading a classified one is audited).")
ASSET_RELEASE = declare("data.asset.release", ADMIN, "Lift a legal hold.")
ASSET_RESTORE = declare("data.asset.restore", ADMIN, "Unpack an asset's pre-deletion archive.")
DELETE_REQUEST = declare("data.delete.request", WRITE, "Ask for assets to be deleted.")
DELETE_APPROVE = declare(
    "data.delete.approve", ADMIN, "Approve a deletion job (never one's own: four-eyes)."
)
DELETE_CANCEL = declare(
    "data.delete.cancel", WRITE, "Cancel a job not yet started (its requester, or an admin)."
)
DELETE_EXECUTE = declare("data.delete.execute", WRITE, "Run an approved deletion job.")
DELETE_READ = declare("data.delete.read", OVERSIGHT, "See deletion jobs.")
CERTIFICATE_READ = declare(
    "data.certificate.read", OVERSIGHT, "See, verify or export a stored deletion certificate."
)
CERTIFICATE_VALIDATE = declare(
    "data.certificate.validate",
    ("auditor",),
    "Validate a certificate with a signed statement (never by the job's requester or performer).",
)
WORKSPACE_WRITE = declare("data.workspace.write", WRITE, "Create or destroy a workspace.")
WORKSPACE_READ = declare("data.workspace.read", ANY, "See workspaces and their usage.")
SWEEP = declare("data.sweep", WRITE, "Run the retention sweep (cron).")
EXPORT = declare("data.export", ("admin", "auditor"), "Export a subject's records (GDPR).")
VAULT_ROTATE = declare("data.vault.rotate", ADMIN, "Rewrap every data key under a new tenant key.")

COMMANDS: dict[str, Permission | None] = {
    "data sweep": SWEEP,
    "data export": EXPORT,
    "data policy create": POLICY_WRITE,
    "data policy list": POLICY_READ,
    "data policy show": POLICY_READ,
    "data policy update": POLICY_WRITE,
    "data policy delete": POLICY_WRITE,
    "data asset register": ASSET_WRITE,
    "data asset ingest": ASSET_WRITE,
    "data asset list": ASSET_READ,
    "data asset show": ASSET_READ,
    "data asset hold": ASSET_WRITE,
    "data asset release": ASSET_RELEASE,
    "data asset restore": ASSET_RESTORE,
    "data delete request": DELETE_REQUEST,
    "data delete approve": DELETE_APPROVE,
    "data delete cancel": DELETE_CANCEL,
    "data delete execute": DELETE_EXECUTE,
    "data delete list": DELETE_READ,
    "data delete show": DELETE_READ,
    "data certificate show": CERTIFICATE_READ,
    "data certificate list": CERTIFICATE_READ,
    "data certificate verify": CERTIFICATE_READ,
    "data certificate export": CERTIFICATE_READ,
    "data certificate validate": CERTIFICATE_VALIDATE,
    "data workspace create": WORKSPACE_WRITE,
    "data workspace list": WORKSPACE_READ,
    "data workspace show": WORKSPACE_READ,
    "data workspace destroy": WORKSPACE_WRITE,
    "data vault rotate-key": VAULT_ROTATE,
}
