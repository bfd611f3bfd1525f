"""The service interface other groups call: register_asset / get_asset / Asset.public()."""

from __future__ import annotations

import hashlib
from pathlib import Path
from typing import Any

import pytest
from sqlmodel import select

from shifty_ent.core.errors import Conflict, InvalidInput, NotFound, PermissionDenied
from shifty_ent.core.tables import AuditEvent
from shifty_ent.data.assets import get_asset, register_asset
from shifty_ent.data.policies import create_policy
from shifty_ent.data.tables import Asset

CONTRACT = {
    "id",
    "name",
    "type",
    "classification",
    "location",
    "size_bytes",
    "sha256",
    "policy_id",
    "expires_at",
    "legal_hold",
    "subjects",
    "status",
}


def test_register_measures_local_file_and_derives_expiry(
    tenant: Any, make_context: Any, tmp_path: Path
) -> None:
    data = tmp_path / "rows.jsonl"
    data.write_bytes(b'{"a": 1}\n' * 1000)
    with make_context(tenant="acme", user="olga") as ctx:
        pol = create_policy(ctx, name="pii-30", classifications=["pii"], retention_days=30)
        asset = register_asset(
            ctx,
            name="rows",
            type="dataset",
            classification="pii",
            location=str(data),
            subjects=["user-1", "user-2", "user-1"],
        )
        public = asset.public()
    assert set(public) >= CONTRACT
    assert public["sha256"] == hashlib.sha256(data.read_bytes()).hexdigest()
    assert public["size_bytes"] == data.stat().st_size
    assert public["policy_id"] == pol.id
    assert (public["expires_at"] - asset.created_at).days == 30
    assert public["subjects"] == ["user-1", "user-2"]
    assert public["location"] == str(data)
    with make_context(tenant="acme", user="audrey") as ctx:
        assert get_asset(ctx, "rows").id == asset.id
        assert get_asset(ctx, str(asset.id)[:8]).id == asset.id
        events = ctx.session.scalars(
            select(AuditEvent).where(AuditEvent.action == "data.asset.register")
        ).all()
        assert len(events) == 1 and events[0].actor == "olga"
        assert "user-1" not in str(events[0].details)


def test_register_refusals_change_nothing(tenant: Any, make_context: Any) -> None:
    with make_context(tenant="acme", user="olga") as ctx:
        register_asset(ctx, name="a", type="dataset", classification="public", location="s3://b/k")
    for kwargs, err in (
        ({"classification": "secret"}, InvalidInput),
        ({"location": "vault://x/y"}, InvalidInput),
        ({"name": "a"}, Conflict),
    ):
        base = {
            "name": "b",
            "type": "dataset",
            "classification": "internal",
            "location": "s3://b/k2",
        }
        with pytest.raises(err), make_context(tenant="acme", user="olga") as ctx:
            register_asset(ctx, **{**base, **kwargs})
    with pytest.raises(PermissionDenied), make_context(tenant="acme", user="lars") as ctx:
        register_asset(ctx, name="c", type="dataset", classification="public", location="s3://b/c")
    with make_context(tenant="acme", user="alice") as ctx:
        assert [a.name for a in ctx.session.scalars(select(Asset)).all()] == ["a"]
        with pytest.raises(NotFound):
            get_asset(ctx, "nope")


def test_policy_created_later_rederives_expiry(tenant: Any, make_context: Any) -> None:
    with make_context(tenant="acme", user="alice") as ctx:
        asset = register_asset(
            ctx, name="x", type="model", classification="confidential", location="s3://b/x"
        )
        assert asset.expires_at is None
        create_policy(
            ctx, name="conf", classifications=["confidential"], retention_days=10, notify_days=3
        )
        ctx.session.refresh(asset)
        assert (asset.expires_at - asset.created_at).days == 10
        assert (asset.expires_at - asset.notify_at).days == 3
