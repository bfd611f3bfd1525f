"""Promotion governance: four eyes on approvals, protected aliases, rollback only to approved
versions, metric gates on measured evaluations, and ``eval record`` labelled ``claimed``."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from tests.model.helpers import count, query, register_custom_versions, write_jsonl

T0 = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)
PROMOTE_CLF2 = ("model", "promote", "clf:2", "--alias", "production")


def at(t: datetime) -> dict[str, str]:
    return {"SHIFTY_NOW": t.isoformat()}


@pytest.fixture
def clf(cli: Any, tenant: Any, checkpoint: Path) -> list[dict[str, Any]]:
    """Three versions of ``clf`` and a second operator ``otto``; lena is a level-5 reviewer."""
    out = register_custom_versions(cli, checkpoint)
    cli.ok("user", "add", "otto", "--role", "operator", tenant="acme")
    cli.ok("user", "add", "lena", "--role", "labeler", tenant="acme")
    for user in ("lena", "olga"):
        cli.ok(
            "arcade", "grant", user, "--xp", "1000", "--reason", "senior reviewer", tenant="acme"
        )
    return out


def _one_line(res: Any, code: int) -> str:
    assert res.exit_code == code, (res.exit_code, res.stdout, res.stderr)
    lines = res.stderr.strip().splitlines()
    assert len(lines) == 1, res.stderr
    return lines[0]


def _answer(cli: Any, mission_id: str, user: str, option: str) -> dict[str, Any]:
    cli.ok("arcade", "assign", mission_id, user=user, tenant="acme", env=at(T0))
    later = at(T0 + timedelta(minutes=2))
    return cli.ok(
        "arcade", "complete", mission_id, "--option", option, user=user, tenant="acme", env=later
    )


def _approve(cli: Any, ref: str, *, by: str = "olga", reviewer: str = "lena") -> str:
    mission = cli.ok("model", "approval", "request", ref, user=by, tenant="acme")
    done = _answer(cli, mission["id"], reviewer, "approve")
    assert done["mission"]["settled_result"] == "approve"
    return str(mission["id"])


def test_requester_can_neither_answer_nor_promote(cli: Any, clf: Any, db_url: str) -> None:
    """Reproduction: olga ran ``model approval request clf:2``, answered its approve_deployment
    mission herself (``arcade assign`` + ``complete --option approve``) and then ran ``model
    promote clf:2 --alias production``: production moved on her word alone. Names are compared
    by their NFKC case fold: ``OLGA`` is olga."""
    mission = cli.ok("model", "approval", "request", "clf:2", user="OLGA", tenant="acme")
    assert mission["created_by"] == "olga"
    # she is not offered it, cannot take it, cannot answer it
    assert cli.ok("arcade", "missions", user="olga", tenant="acme", env=at(T0)) == []
    assert cli("arcade", "next", user="olga", tenant="acme", env=at(T0)).exit_code == 3
    line = _one_line(
        cli("arcade", "assign", mission["id"], user="Olga", tenant="acme", env=at(T0), fmt=None), 4
    )
    assert "four eyes" in line
    res = cli(
        "arcade",
        "complete",
        mission["id"],
        "--option",
        "approve",
        user="olga",
        tenant="acme",
        env=at(T0),
    )
    assert res.exit_code == 4
    assert count(db_url, "SELECT count(*) FROM arcade_answers") == 0
    # a second person answers it; the requester still cannot promote on it
    _answer(cli, mission["id"], "lena", "approve")
    res = cli(*PROMOTE_CLF2, user="ｏｌｇａ", tenant="acme", fmt=None)
    assert "four eyes" in _one_line(res, 4)
    assert count(db_url, "SELECT count(*) FROM model_aliases") == 0
    event = cli.ok("model", "promote", "clf:2", "--alias", "production", user="otto", tenant="acme")
    assert event["mission_id"] == mission["id"] and event["actor"] == "otto"


def test_approval_is_for_one_alias(cli: Any, clf: Any) -> None:
    """An approval requested for production does not promote to another alias."""
    _approve(cli, "clf:2")
    res = cli("model", "promote", "clf:2", "--alias", "canary", user="otto", tenant="acme")
    assert res.exit_code == 4 and "'canary'" in res.error["message"]


def test_protected_alias_moves_only_through_promote(cli: Any, clf: Any, db_url: str) -> None:
    """Reproduction: ``model alias set clf production 3`` moved the production alias with no
    approval at all."""
    line = _one_line(
        cli("model", "alias", "set", "clf", "production", "3", tenant="acme", fmt=None), 4
    )
    assert "protected" in line and "promote" in line
    assert count(db_url, "SELECT count(*) FROM model_aliases") == 0
    [prod] = cli.ok("model", "alias", "list", "clf", tenant="acme")
    assert prod["alias"] == "production" and prod["protected"] is True
    assert prod["version"] is None
    # only admins change protection; other aliases are free until protected
    assert (
        cli("model", "alias", "protect", "clf", "canary", user="olga", tenant="acme").exit_code == 4
    )
    cli.ok("model", "alias", "set", "clf", "canary", "1", user="olga", tenant="acme")
    cli.ok("model", "alias", "protect", "clf", "canary", tenant="acme")
    assert cli("model", "alias", "set", "clf", "canary", "2", tenant="acme").exit_code == 4
    cli.ok("model", "alias", "unprotect", "clf", "production", tenant="acme")
    cli.ok("model", "alias", "set", "clf", "production", "3", user="olga", tenant="acme")
    rows = {r["alias"]: r for r in cli.ok("model", "alias", "list", "clf", tenant="acme")}
    assert (rows["canary"]["protected"], rows["canary"]["version"]) == (True, 1)
    assert (rows["production"]["protected"], rows["production"]["version"]) == (False, 3)
    actions = [r[0] for r in query(db_url, "SELECT action FROM audit_events ORDER BY at, seq")]
    assert "model.alias.protect" in actions and "model.alias.unprotect" in actions


def test_rollback_only_to_versions_approved_for_the_alias(cli: Any, clf: Any) -> None:
    """Reproduction: ``model rollback clf --to 1`` put version 1, never approved, into
    production."""
    _approve(cli, "clf:2")
    cli.ok("model", "promote", "clf:2", "--alias", "production", user="otto", tenant="acme")
    _approve(cli, "clf:3")
    cli.ok("model", "promote", "clf:3", "--alias", "production", user="otto", tenant="acme")
    line = _one_line(
        cli("model", "rollback", "clf", "--to", "1", "--reason", "x", tenant="acme", fmt=None), 4
    )
    assert "never approved" in line
    assert cli.ok("model", "show", "clf@production", tenant="acme")["version"] == 3
    back = cli.ok("model", "rollback", "clf", "--reason", "regression", user="olga", tenant="acme")
    assert (back["from_version"], back["to_version"]) == (3, 2)


def _measured(make_context: Any, ref: str, dataset_id: str, accuracy: float) -> None:
    """The row ``model eval run`` stores (the predictor itself is tested elsewhere)."""
    import uuid

    from shifty_ent.model.tables import Evaluation
    from shifty_ent.model.versions import get_version

    with make_context(tenant="acme") as ctx:
        version = get_version(ctx, ref)
        ctx.session.add(
            Evaluation(
                tenant_id=ctx.tenant_id,
                version_id=version.id,
                type="automated",
                method="local",
                dataset_id=uuid.UUID(dataset_id),
                metrics={"examples": 12, "accuracy": accuracy},
                created_by="olga",
                completed_at=ctx.now(),
            )
        )


def test_gates_need_measured_evaluations(
    cli: Any, clf: Any, tmp_path: Path, make_context: Any, db_url: str
) -> None:
    """Reproduction: a version with accuracy 0 was approved and promoted, and ``eval record``
    let anyone put accuracy=0.99 beside measured metrics. Now the alias carries a gate that only
    a measured evaluation on the named dataset meets, and claimed results are labelled."""
    from tests.model.helpers import register_dataset

    data = register_dataset(
        make_context, write_jsonl(tmp_path / "holdout.jsonl", [{"text": "a", "label": "x"}])
    )
    gate_production = ("model", "alias", "gate", "clf", "production", "--require")
    for bad in ("accuracy>=0", "accuracy<=0.5", "accuracy>=1.5", "accuracy=>0.8", "f1>=nan"):
        res = cli(*gate_production, bad, "--dataset", data, tenant="acme", fmt=None)
        _one_line(res, 2)
    _one_line(cli(*gate_production, "accuracy>=0.8", tenant="acme", fmt=None), 2)
    res = cli(*gate_production, "accuracy>=0.8", "--dataset", data, user="olga", tenant="acme")
    assert res.exit_code == 4
    gated = cli.ok(*gate_production, "accuracy>=0.8", "--dataset", data, tenant="acme")
    assert gated["gates"] == ["accuracy>=0.8 on holdout"]
    [prod] = cli.ok("model", "alias", "list", "clf", tenant="acme")
    assert prod["gates"] == ["accuracy>=0.8 on holdout"]

    claimed = cli.ok(
        "model",
        "eval",
        "record",
        "clf:2",
        "--type",
        "automated",
        "--metric",
        "accuracy=0.99",
        "--dataset",
        data,
        user="olga",
        tenant="acme",
    )
    assert claimed["evidence"] == "claimed"
    [listed] = cli.ok("model", "eval", "list", "clf:2", tenant="acme")
    assert listed["evidence"] == "claimed"
    shown = cli.ok("model", "eval", "show", claimed["id"][:8], user="audrey", tenant="acme")
    assert shown["evidence"] == "claimed" and shown["metrics"] == {"accuracy": 0.99}
    table = cli("model", "eval", "list", "clf:2", tenant="acme", fmt="table")
    assert "claimed" in table.stdout
    mission = cli.ok("model", "approval", "request", "clf:2", user="olga", tenant="acme")
    [shown] = mission["payload"]["evaluations"]
    assert shown["evidence"] == "claimed" and shown["metrics"]["accuracy"] == 0.99
    [gate] = mission["payload"]["meta"]["gates"]
    assert gate["passed"] is False and gate["require"] == "accuracy>=0.8"
    _answer(cli, mission["id"], "lena", "approve")

    # approved, but the claim does not meet the gate; neither does an admin's override
    res = cli(
        "model", "promote", "clf:2", "--alias", "production", user="otto", tenant="acme", fmt=None
    )
    assert "no measured accuracy" in _one_line(res, 4)
    res = cli(*PROMOTE_CLF2, "--override", "--reason", "hotfix", tenant="acme")
    assert res.exit_code == 4
    # a measured 0 never passes; a measured 0.9 does
    _measured(make_context, "clf:2", data, 0.0)
    res = cli("model", "promote", "clf:2", "--alias", "production", user="otto", tenant="acme")
    assert res.exit_code == 4 and "accuracy = 0" in res.error["message"]
    assert count(db_url, "SELECT count(*) FROM model_aliases") == 0
    _measured(make_context, "clf:2", data, 0.9)
    event = cli.ok("model", "promote", "clf:2", "--alias", "production", user="otto", tenant="acme")
    assert event["to_version"] == 2
    refusals = query(
        db_url,
        "SELECT details FROM audit_events WHERE action = 'model.promote.refused' ORDER BY seq",
    )
    assert len(refusals) == 3
    # an unprotected alias with gates: 'alias set' meets them too
    cli.ok("model", "alias", "gate", "clf", "canary", "--require", "accuracy>=0.8",
           "--dataset", data, tenant="acme")  # fmt: skip
    res = cli("model", "alias", "set", "clf", "canary", "3", user="olga", tenant="acme")
    assert res.exit_code == 4 and "no measured accuracy" in res.error["message"]
    cli.ok("model", "alias", "set", "clf", "canary", "2", user="olga", tenant="acme")
    # clearing the gates is an admin's recorded act
    cleared = cli.ok("model", "alias", "gate", "clf", "production", "--clear", tenant="acme")
    assert cleared["gates"] == []
