"""Model checkpoints are the tenant's data: classified like their training data, held from sweeps
while an alias or a live deployment points at them, and erasable with a certificate once nothing
does."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from tests.data.conftest import create_policy
from tests.model.helpers import count, register_custom, register_dataset, write_jsonl

LATER = "2099-01-01T00:00:00+00:00"


def _root(cli: Any, tmp_path: Path) -> Path:
    path = tmp_path / "acme-root"
    path.mkdir()
    cli.ok("tenant", "root", "add", str(path), "-t", "acme")
    return path


def _checkpoint(root: Path, name: str) -> Path:
    ckpt = root / "models" / name
    ckpt.mkdir(parents=True)
    (ckpt / "config.json").write_text('{"model_type": "llama"}')
    (ckpt / "adapter_model.safetensors").write_bytes(b"\1\2\3" * 100)
    return ckpt


def _auto_delete_internal(cli: Any) -> None:
    create_policy(cli, "--auto-delete", name="short", cls="internal", days="1")


def test_sweep_keeps_the_checkpoint_production_points_at(
    cli: Any, tenant: Any, tmp_path: Path, db_url: str
) -> None:
    """Reproduction: register a custom checkpoint (``internal``), point ``production`` at it,
    create an auto-delete policy for ``internal`` and run ``data sweep`` after the retention: on
    main the sweep erased the production checkpoint. Now the asset shows an implicit hold and the
    sweep leaves it; once the alias moves on, the old version's files are swept."""
    root = _root(cli, tmp_path)
    _auto_delete_internal(cli)
    first = register_custom(cli, "churn", _checkpoint(root, "v1"))
    second = register_custom(cli, "churn", _checkpoint(root, "v2"))
    # production is protected (it moves by promote and rollback); the hold is the same either way
    cli.ok("model", "alias", "unprotect", "churn", "production", tenant="acme")
    cli.ok("model", "alias", "set", "churn", "production", "1", tenant="acme")
    swept = cli.ok("data", "sweep", user="olga", tenant="acme", env={"SHIFTY_NOW": LATER})
    deleted = {d["asset_id"] for d in swept["deleted"]}
    assert first["asset_id"] not in deleted and second["asset_id"] in deleted
    assert (root / "models" / "v1" / "config.json").exists()
    assert not (root / "models" / "v2").exists()
    assert [a["asset_id"] for a in swept["skipped_in_use"]] == [first["asset_id"]]
    shown = cli.ok("data", "asset", "show", first["asset_id"], tenant="acme")
    assert shown["implicit_holds"] and "churn:1" in shown["implicit_holds"][0]["reason"]
    assert "alias production" in shown["implicit_holds"][0]["reason"]
    # the alias moves to a new version: version 1 is no longer in use and is swept
    third = register_custom(cli, "churn", _checkpoint(root, "v3"))
    cli.ok("model", "alias", "set", "churn", "production", "3", tenant="acme")
    assert cli.ok("data", "asset", "show", first["asset_id"], tenant="acme")["implicit_holds"] == []
    swept = cli.ok("data", "sweep", user="olga", tenant="acme", env={"SHIFTY_NOW": LATER})
    assert first["asset_id"] in {d["asset_id"] for d in swept["deleted"]}
    assert not (root / "models" / "v1").exists()
    assert (root / "models" / "v3").exists() and third["asset_id"] not in {
        d["asset_id"] for d in swept["deleted"]
    }
    assert count(db_url, "SELECT count(*) FROM data_asset_uses") == 1


def test_delete_request_refused_while_in_use_then_certified(
    cli: Any, tenant: Any, tmp_path: Path, db_url: str
) -> None:
    """Reproduction: ``data delete request`` of the checkpoint ``staging`` points at was accepted
    on main (and would erase the served model). Now it is refused with one line and nothing
    changes; once the alias points elsewhere the files are erased with a certificate."""
    root = _root(cli, tmp_path)
    v1 = register_custom(cli, "churn", _checkpoint(root, "v1"))
    register_custom(cli, "churn", _checkpoint(root, "v2"))
    cli.ok("model", "alias", "set", "churn", "staging", "1", tenant="acme")
    args = ("data", "delete", "request", v1["asset_id"], "--method", "standard")
    res = cli(*args, "--reason", "done", user="olga", tenant="acme")
    assert res.exit_code == 4, res.stderr
    assert "in use" in res.error["message"] and "churn:1" in res.error["message"]
    assert len(res.stderr.strip().splitlines()) == 1
    assert count(db_url, "SELECT count(*) FROM deletion_jobs") == 0
    cli.ok("model", "alias", "set", "churn", "staging", "2", tenant="acme")
    job = cli.ok(*args, "--reason", "done", user="olga", tenant="acme")
    cli.ok("data", "delete", "approve", job["id"], user="alice", tenant="acme")
    done = cli.ok("data", "delete", "execute", job["id"], "--yes", user="olga", tenant="acme")
    assert done["status"] == "completed" and done["certificate_id"]
    assert not (root / "models" / "v1").exists()


def test_trained_version_takes_the_strictest_classification(
    cli: Any, tenant: Any, tmp_path: Path, make_context: Any
) -> None:
    """Reproduction: a version trained on a ``pii`` dataset was registered with the default
    ``internal`` classification on main (so an ``internal`` auto-delete policy, or a reader of
    internal data, treated PII-derived weights as ordinary). Now it is the strictest of the
    base's and the dataset's."""
    from shifty_ent.model.sources import custom
    from shifty_ent.model.versions import add_version

    root = _root(cli, tmp_path)
    base = register_custom(cli, "base", _checkpoint(root, "base"))
    data = write_jsonl(root / "train.jsonl", [{"text": "a", "label": "x"}])
    dataset_id = register_dataset(make_context, data, classification="pii")
    with make_context(tenant="acme") as ctx:
        version = add_version(
            ctx,
            name="tuned",
            pin=custom.resolve(str(_checkpoint(root, "tuned"))),
            lineage={"dataset_id": dataset_id, "base_model_id": base["id"]},
        )
        asset_id = str(version.asset_id)
        ctx.session.commit()
    shown = cli.ok("data", "asset", "show", asset_id, tenant="acme")
    assert shown["classification"] == "pii"


def test_training_output_lives_below_the_data_root(
    cli: Any, tenant: Any, tmp_path: Path, make_context: Any
) -> None:
    """Reproduction: on main a fine-tune wrote its adapter to ``<data dir>/models/...``, outside
    every data root of the tenant, so it could never be erased with a certificate. Now the job's
    output directory is below the tenant's data root."""
    import uuid

    from shifty_ent.model.storage import job_output_dir

    root = _root(cli, tmp_path)
    with make_context(tenant="acme") as ctx:
        out = job_output_dir(ctx, uuid.uuid4())
    assert out.is_relative_to(root)
