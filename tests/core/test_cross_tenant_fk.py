"""The database itself refuses a reference from one tenant's row into another tenant's row."""

from __future__ import annotations

import uuid

import pytest
from sqlalchemy import select
from sqlalchemy.exc import IntegrityError

from shifty_ent.core import store
from shifty_ent.core.tables import TenantUser, UserRole


def test_composite_fk_rejects_cross_tenant_reference(cli, db_url):
    a = cli.ok("tenant", "create", "acme")
    b = cli.ok("tenant", "create", "globex", user="gina")
    engine = store.get_engine(db_url)
    with store.new_session(engine) as session:
        alice = session.scalars(select(TenantUser).where(TenantUser.username == "alice")).one()
        # a role row of tenant B pointing at tenant A's user
        session.add(
            UserRole(tenant_id=uuid.UUID(b["id"]), user_id=alice.id, role="admin", granted_by="x")
        )
        with pytest.raises(IntegrityError):
            session.commit()
        session.rollback()
        # the same row inside tenant A is accepted
        session.add(
            UserRole(tenant_id=uuid.UUID(a["id"]), user_id=alice.id, role="auditor", granted_by="x")
        )
        session.commit()
    roles = {u["user"]: u["roles"] for u in cli.ok("user", "list", tenant="globex", user="gina")}
    assert roles == {"gina": ["admin"]}
