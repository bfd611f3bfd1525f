"""Tenant and user names for shell completion, read like ``tenant list`` and ``user list``.

Completion runs while a person types: any failure (no store, no tenant chosen, no role) gives no
names rather than an error, and a store that does not exist yet is not created.
"""

from __future__ import annotations

from shifty_ent.core.errors import ShiftyError
from shifty_ent.core.runtime import command, settings


def names(kind: str) -> list[str]:
    from shifty_ent.core import store
    from shifty_ent.setup import api

    try:
        embedded = store.sqlite_path(settings().database_url)
        if embedded is not None and not embedded.exists():
            return []
        if kind == "tenant":
            with command(tenant="none") as ctx:
                return sorted(t.name for t in api.list_tenants(ctx))
        with command() as ctx:
            return sorted(u.username for u in api.list_users(ctx))
    except ShiftyError:
        return []
