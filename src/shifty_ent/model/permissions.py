"""Who may do what in the ``model`` group: each permission is declared here once and checked by
the service function that does the work (see :mod:`shifty_ent.core.authz`)."""

from __future__ import annotations

from shifty_ent.core.authz import Permission, declare

WRITE = ("operator", "admin")
READ_ALL = ("operator", "admin", "auditor")
ANY = ("operator", "admin", "auditor", "labeler")

REGISTER = declare("model.register", WRITE, "Pin a source and store it as a new version.")
READ = declare("model.read", ANY, "See versions, their pins, lineage and alias history.")
ALIAS_SET = declare("model.alias.set", WRITE, "Point an alias at a version.")
ALIAS_POLICY = declare(
    "model.alias.policy",
    ("admin",),
    "Protect or unprotect an alias and set its metric gates.",
)
ROLLBACK = declare("model.rollback", WRITE, "Move an alias back to an earlier version.")
PROMOTE = declare("model.promote", WRITE, "Promote a version an approval mission approved.")
PROMOTE_OVERRIDE = declare(
    "model.promote.override", ("admin",), "Promote without an approval (--override --reason)."
)
APPROVAL_REQUEST = declare(
    "model.approval.request", WRITE, "Open an approve_deployment mission for a version."
)
DEPLOY = declare("model.deploy", WRITE, "Serve a version on a GPU instance.")
UNDEPLOY = declare("model.undeploy", WRITE, "Stop serving a deployment.")
DEPLOYMENTS_READ = declare("model.deployments.read", READ_ALL, "See deployments and health.")
DEPLOYMENTS_CHECK = declare(
    "model.deployments.check", WRITE, "Probe every live deployment now (--check)."
)
TRAIN = declare("model.train", WRITE, "Queue a fine-tune, or claim and run one here.")
TRAIN_CANCEL = declare("model.train.cancel", WRITE, "Cancel a queued or running training job.")
TRAIN_FORCE_CANCEL = declare(
    "model.train.force_cancel",
    ("admin",),
    "End a running job whose worker is gone (--force on a running job).",
)
TRAIN_READ = declare("model.train.read", READ_ALL, "See training jobs and their loss curves.")
EVAL = declare("model.eval", WRITE, "Record, run or open human evaluations of a version.")
GENERATE = declare(
    "model.generate", WRITE, "Run a version on prompts (every prompt and output is logged)."
)
EVAL_READ = declare("model.eval.read", READ_ALL, "See a version's evaluations.")

COMMANDS: dict[str, Permission | None] = {
    "model register": REGISTER,
    "model list": READ,
    "model show": READ,
    "model versions": READ,
    "model rollback": ROLLBACK,
    "model promote": PROMOTE,
    "model promote --override": PROMOTE_OVERRIDE,
    "model deploy": DEPLOY,
    "model undeploy": UNDEPLOY,
    "model deployments": DEPLOYMENTS_READ,
    "model deployments --check": DEPLOYMENTS_CHECK,
    "model generate": GENERATE,
    "model alias set": ALIAS_SET,
    "model alias list": READ,
    "model alias protect": ALIAS_POLICY,
    "model alias unprotect": ALIAS_POLICY,
    "model alias gate": ALIAS_POLICY,
    "model alias history": READ,
    "model alias rollback": ROLLBACK,
    "model approval request": APPROVAL_REQUEST,
    "model train start": TRAIN,
    "model train run": TRAIN,
    "model train attach": TRAIN,
    "model train list": TRAIN_READ,
    "model train show": TRAIN_READ,
    "model train cancel": TRAIN_CANCEL,
    "model train cancel --force": TRAIN_FORCE_CANCEL,
    "model eval record": EVAL,
    "model eval run": EVAL,
    "model eval human": EVAL,
    "model eval list": EVAL_READ,
    "model eval show": EVAL_READ,
}
