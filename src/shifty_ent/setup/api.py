"""What other parts of the program may use from ``setup`` (tenants and their users)."""

from __future__ import annotations

from shifty_ent.setup.members import list_tenants, list_users

__all__ = ["list_tenants", "list_users"]
