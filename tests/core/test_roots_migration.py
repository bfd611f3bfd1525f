"""Migration 0009_tenant_roots: old ``tenants.data_roots`` lists move to ``data_roots`` rows bound
to the migrating host; overlapping legacy roots of two tenants move for neither; local assets and
workspaces get the host; shared live locations keep one key."""

from __future__ import annotations

import json
import uuid
from pathlib import Path
from typing import Any

from sqlalchemy import text

from shifty_ent.core import store


def _legacy(engine: Any, tmp_path: Path) -> dict[str, str]:
    """A store at the revisions before 0009 with the issue-13 state in it."""
    for target in ("0008_identity", "0002_data"):
        with engine.begin() as conn:
            from alembic import command

            command.upgrade(store.alembic_config(engine, conn), target)
    ids = {n: str(uuid.uuid4()) for n in ("acme", "evil", "beta")}
    roots = {
        "acme": [str(tmp_path / "acme")],
        "evil": [str(tmp_path / "acme")],  # the attack: acme's root
        "beta": [str(tmp_path / "beta")],
    }
    with engine.begin() as conn:
        conn.execute(
            text(
                "INSERT INTO installation (id, identity_mode, created_at, created_by) "
                "VALUES (1, 'declared', :t, 'alice')"
            ),
            {"t": "2026-01-01T00:00:00+00:00"},
        )
        for name, tid in ids.items():
            conn.execute(
                text(
                    "INSERT INTO tenants (id, name, created_at, created_by, data_roots) "
                    "VALUES (:i, :n, :t, 'alice', :r)"
                ),
                {
                    "i": uuid.UUID(tid)
                    if engine.dialect.name == "postgresql"
                    else tid.replace("-", ""),
                    "n": name,
                    "t": "2026-01-01T00:00:00+00:00",
                    "r": json.dumps(roots[name]),
                },
            )
        for n, (tenant, loc) in enumerate(
            (("acme", "/srv/acme/f.bin"), ("evil", "/srv/acme/f.bin"), ("beta", "s3://b/k"))
        ):
            tid = ids[tenant]
            conn.execute(
                text(
                    "INSERT INTO data_assets (id, tenant_id, name, type, classification, "
                    "location, scheme, policy_explicit, subjects, status, legal_hold, "
                    "created_at, created_by) VALUES (:i, :t, :n, 'dataset', 'public', :l, :s, "
                    ":f, '[]', 'active', :f, :c, 'alice')"
                ),
                {
                    "i": uuid.uuid4() if engine.dialect.name == "postgresql" else uuid.uuid4().hex,
                    "t": uuid.UUID(tid)
                    if engine.dialect.name == "postgresql"
                    else tid.replace("-", ""),
                    "n": f"a{n}",
                    "l": loc,
                    "s": "s3" if loc.startswith("s3") else "file",
                    "f": False,
                    "c": f"2026-01-0{n + 1}T00:00:00+00:00",
                },
            )
    return ids


def test_0009_moves_roots_and_binds_hosts(blank_db_url: str, tmp_path: Path, monkeypatch) -> None:
    monkeypatch.setenv("SHIFTY_HOST_ID", "migrator")
    engine = store.get_engine(blank_db_url)
    ids = _legacy(engine, tmp_path)
    store.upgrade(engine)
    with engine.connect() as conn:
        roots = conn.execute(text("SELECT tenant_id, path, host_id FROM data_roots")).all()
        assets = {
            r.name: r
            for r in conn.execute(text("SELECT name, host_id, location_key FROM data_assets"))
        }
        actions = [r[0] for r in conn.execute(text("SELECT action FROM audit_events"))]
        cols = list(conn.execute(text("SELECT * FROM tenants")).keys())
    # acme's and evil's roots overlap: neither moves; beta's does, bound to the migrating host
    assert [(str(uuid.UUID(str(t))), p, h) for t, p, h in roots] == [
        (ids["beta"], str(tmp_path / "beta"), "migrator")
    ]
    assert actions.count("tenant.root.drop") == 2 and actions.count("tenant.root.add") == 1
    assert "data_roots" not in cols
    # the older of the two live assets at one location keeps its key; the other has none
    assert assets["a0"].host_id == "migrator"
    assert assets["a0"].location_key == "migrator:/srv/acme/f.bin"
    assert assets["a1"].location_key is None and "data.asset.shared_location" in actions
    assert assets["a2"].host_id is None and assets["a2"].location_key == "s3://b/k"
    # and back down: the old column returns with the live roots
    with engine.begin() as conn:
        from alembic import command

        command.downgrade(store.alembic_config(engine, conn), "0008_identity")
    with engine.connect() as conn:
        back = {r.name: r.data_roots for r in conn.execute(text("SELECT * FROM tenants"))}
    heads = store.current_heads(engine)
    assert "0009_tenant_roots" not in heads and "0008_identity" in heads
    as_list = {k: json.loads(v) if isinstance(v, str) else v for k, v in back.items()}
    assert as_list == {"acme": [], "evil": [], "beta": [str(tmp_path / "beta")]}
    store.get_engine.cache_clear()
