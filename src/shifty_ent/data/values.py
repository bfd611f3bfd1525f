"""The data group's value sets, in a module with no imports so that help and completion can
list them without loading the tables (and the database layer behind them)."""

CLASSIFICATIONS = ("public", "internal", "confidential", "restricted", "pii", "phi")
METHODS = ("standard", "secure_overwrite", "cryptographic_erase", "dod_5220", "nist_800_88")
JOB_STATES = (
    "pending_approval",
    "approved",
    "running",
    "waiting_for_host",
    "completed",
    "failed",
    "partially_completed",
)
OPEN_JOB_STATES = ("pending_approval", "approved", "running", "waiting_for_host")
# a started job whose remaining items live on other hosts: each host runs its own items
WAITING = "waiting_for_host"
ASSET_STATES = ("active", "erasing", "erase_failed", "deleted")
WORKSPACE_TYPES = ("training", "evaluation", "scratch")
