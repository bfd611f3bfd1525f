"""A dataset built by the arcade can be erased by the data group, even with no data roots."""

from __future__ import annotations

from pathlib import Path

from tests.arcade.conftest import T0
from tests.conftest import erase


def test_dataset_of_tenant_without_roots_is_erasable(arcade, cli):
    m = arcade.create(overlap=2, t=T0)
    arcade.answer(m["id"], "lars", "correct")
    arcade.answer(m["id"], "lena", "correct")
    ds = arcade.ok("dataset", "create", "lto", "--mission-type", "label_test_output", user="olga")
    folder = Path(ds["path"]).parent
    assert folder.is_dir()
    done = erase(cli, ds["asset_id"], "secure_overwrite", "retired dataset")
    assert done["status"] == "completed" and done["certificate_id"]
    assert not folder.exists()
    asset = cli.ok("data", "asset", "show", ds["asset_id"], user="alice", tenant="acme")
    assert asset["status"] == "deleted"
