"""Where the model group writes files of the tenant: below the tenant's data root on this host.

Checkpoints, adapters and inference logs are the tenant's data: they must be somewhere the data
group can erase them with a certificate. With a data root on this host they go below it (like
arcade datasets); without one, into the tenant's managed area under the data directory, which
the data group also accepts for these asset types.
"""

from __future__ import annotations

import uuid
from pathlib import Path

from shifty_ent.core.context import Context
from shifty_ent.data import api as data_api


def tenant_area(ctx: Context, kind: str) -> Path:
    """``<data root>/<kind>`` or, without a root here, ``<data dir>/<kind>/<tenant id>``."""
    roots = data_api.root_paths_here(ctx)
    if roots:
        return Path(roots[0]) / kind
    return ctx.settings.data_dir / kind / str(ctx.tenant_id)


def job_output_dir(ctx: Context, job_id: uuid.UUID) -> Path:
    """Where a training job writes its adapter or weights."""
    return tenant_area(ctx, "models") / f"job-{job_id}"


def inference_log_dir(ctx: Context) -> Path:
    return tenant_area(ctx, "inference-logs")
