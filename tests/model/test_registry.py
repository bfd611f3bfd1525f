"""Versions, references, aliases, rollback with who/why, promotion gated by an approval mission,
and tenant isolation."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from tests.model.helpers import count, query, register_custom_versions


@pytest.fixture
def three_versions(cli: Any, tenant: Any, checkpoint: Path) -> list[dict[str, Any]]:
    return register_custom_versions(cli, checkpoint)


def test_version_references(cli: Any, three_versions: list[dict[str, Any]]) -> None:
    v1, v2, v3 = three_versions
    assert [v["version"] for v in three_versions] == [1, 2, 3]
    assert cli.ok("model", "show", "clf", tenant="acme")["id"] == v3["id"]
    assert cli.ok("model", "show", "clf:1", tenant="acme")["id"] == v1["id"]
    assert cli.ok("model", "show", v2["id"][:8], tenant="acme")["id"] == v2["id"]
    res = cli("model", "show", "clf:9", tenant="acme")
    assert res.exit_code == 3 and "no version 9" in res.error["message"]
    res = cli("model", "show", "clf@production", tenant="acme")
    assert res.exit_code == 3 and "no alias" in res.error["message"]
    listed = cli.ok("model", "list", tenant="acme")
    assert [(r["name"], r["version"]) for r in listed] == [("clf", 3), ("clf", 2), ("clf", 1)]
    assert set(listed[0]) >= {
        "id",
        "name",
        "version",
        "source",
        "source_id",
        "pinned_revision",
        "aliases",
        "lineage",
    }
    assert len(cli.ok("model", "list", "--latest", tenant="acme")) == 1
    assert cli.ok("model", "list", "--source", "ollama", tenant="acme") == []


def test_list_rows_match_show(
    cli: Any, make_context: Any, three_versions: list[dict[str, Any]]
) -> None:
    """``model list`` builds its rows from the driver's values for speed: every field must read
    exactly as ``model show`` renders it (ids, times with offset, aliases, lineage), on both
    databases, at a whole second (SHIFTY_NOW) and with microseconds."""
    from shifty_ent.model import versions
    from shifty_ent.model.sources import Pin

    cli.ok("model", "alias", "unprotect", "clf", "production", tenant="acme")
    cli.ok("model", "alias", "set", "clf", "production", "2", tenant="acme")
    cli.ok("model", "alias", "set", "clf", "canary", "2", tenant="acme")
    env = {"SHIFTY_NOW": "2026-11-02T10:00:00+00:00"}
    cli.ok(
        "model",
        "register",
        "other",
        "--source",
        "custom",
        "--source-id",
        three_versions[0]["source_id"],
        tenant="acme",
        env=env,
    )
    with make_context(tenant="acme") as ctx:
        pin = Pin("custom", "/ckpt/tuned", "sha256:" + "ab" * 32)
        versions.add_version(ctx, name="tuned", pin=pin, lineage={"base": "clf:1", "steps": 3})
    listed = cli.ok("model", "list", tenant="acme")
    assert [r["name"] for r in listed] == ["clf", "clf", "clf", "other", "tuned"]
    for row in listed:
        shown = cli.ok("model", "show", row["id"], tenant="acme")
        assert row == {k: shown[k] for k in row}, row["name"]
    by_ref = {(r["name"], r["version"]): r for r in listed}
    assert by_ref["clf", 2]["aliases"] == ["canary", "production"]
    assert by_ref["clf", 1]["aliases"] == []
    assert by_ref["tuned", 1]["lineage"] == {"base": "clf:1", "steps": 3}
    assert by_ref["other", 1]["created_at"] == "2026-11-02T10:00:00+00:00"
    assert [r["version"] for r in cli.ok("model", "list", "--alias", "canary", tenant="acme")] == [
        2
    ]
    assert cli.ok("model", "list", "--limit", "2", tenant="acme") == listed[:2]


def test_alias_set_and_rollback_records_who_and_why(
    cli: Any, three_versions: list[dict[str, Any]], db_url: str
) -> None:
    # an unprotected production (protection and its rules: tests/model/test_governance.py)
    cli.ok("model", "alias", "unprotect", "clf", "production", tenant="acme")
    cli.ok("model", "alias", "set", "clf", "production", "1", tenant="acme")
    cli.ok("model", "alias", "set", "clf", "production", "2", user="olga", tenant="acme")
    moved = cli.ok("model", "alias", "set", "clf", "production", "3", tenant="acme")
    assert (moved["from_version"], moved["to_version"]) == (2, 3)
    assert cli.ok("model", "show", "clf@production", tenant="acme")["version"] == 3
    assert cli.ok("model", "show", "clf:3", tenant="acme")["aliases"] == ["production"]
    res = cli("model", "rollback", "clf", "--reason", "", tenant="acme")
    assert res.exit_code == 2
    back = cli.ok(
        "model", "rollback", "clf", "--reason", "p95 latency regression", user="olga", tenant="acme"
    )
    assert (back["from_version"], back["to_version"]) == (3, 2)
    assert back["actor"] == "olga" and back["reason"] == "p95 latency regression"
    assert cli.ok("model", "show", "clf@production", tenant="acme")["version"] == 2
    # rolling back again goes further back in history, not forth to 3
    again = cli.ok("model", "rollback", "clf", "--reason", "still bad", tenant="acme")
    assert again["to_version"] == 1
    res = cli("model", "rollback", "clf", "--reason", "x", tenant="acme")
    assert res.exit_code == 5 and "no earlier version" in res.error["message"]
    to3 = cli.ok("model", "alias", "rollback", "clf", "--to", "3", tenant="acme")
    assert to3["to_version"] == 3 and to3["reason"] is None and to3["actor"] == "alice"
    history = cli.ok("model", "alias", "history", "clf", "production", tenant="acme")
    assert [h["action"] for h in history] == [
        "set",
        "set",
        "set",
        "rollback",
        "rollback",
        "rollback",
    ]
    audit = query(
        db_url, "SELECT actor, details FROM audit_events WHERE action = 'model.alias.rollback'"
    )
    assert len(audit) == 3 and audit[0][0] == "olga"
    res = cli("model", "rollback", "clf", "--reason", "x", user="audrey", tenant="acme")
    assert res.exit_code == 4


def test_alias_validation_changes_nothing(
    cli: Any, three_versions: list[dict[str, Any]], db_url: str
) -> None:
    for args, code in [
        (("clf", "Bad Alias", "1"), 2),
        (("clf", "latest", "1"), 2),
        (("clf", "champion", "7"), 3),
        (("nope", "champion", "1"), 3),
    ]:
        res = cli("model", "alias", "set", *args, tenant="acme")
        assert res.exit_code == code, (args, res.stderr)
    res = cli("model", "alias", "set", "clf", "champion", "1", user="lars", tenant="acme")
    assert res.exit_code == 4
    assert count(db_url, "SELECT count(*) FROM model_aliases") == 0
    assert count(db_url, "SELECT count(*) FROM model_alias_events") == 0


def test_promote_requires_approved_mission_or_admin_override(
    cli: Any, three_versions: list[dict[str, Any]], db_url: str
) -> None:
    res = cli("model", "promote", "clf:2", "--alias", "production", user="olga", tenant="acme")
    assert res.exit_code == 4 and "approve_deployment" in res.error["message"]
    assert count(db_url, "SELECT count(*) FROM model_aliases") == 0
    mission = cli.ok("model", "approval", "request", "clf:2", user="olga", tenant="acme")
    assert mission["type"] == "approve_deployment"
    # still open: refused
    res = cli("model", "promote", "clf:2", "--alias", "production", user="olga", tenant="acme")
    assert res.exit_code == 4
    # a rejected verdict does not count, an approval does (settled by the arcade)
    query_update(db_url, mission["id"], "reject")
    assert (
        cli(
            "model", "promote", "clf:2", "--alias", "production", user="olga", tenant="acme"
        ).exit_code
        == 4
    )
    query_update(db_url, mission["id"], "approve")
    # four eyes: olga requested it, so someone else promotes
    res = cli("model", "promote", "clf:2", "--alias", "production", user="olga", tenant="acme")
    assert res.exit_code == 4 and "four eyes" in res.error["message"]
    event = cli.ok("model", "promote", "clf:2", "--alias", "production", tenant="acme")
    assert event["mission_id"] == mission["id"] and event["override"] is False
    # an approval is per version
    assert (
        cli(
            "model", "promote", "clf:3", "--alias", "production", user="olga", tenant="acme"
        ).exit_code
        == 4
    )
    # override: admin only, with a reason
    res = cli(
        "model",
        "promote",
        "clf:3",
        "--alias",
        "production",
        "--override",
        "--reason",
        "hotfix",
        user="olga",
        tenant="acme",
    )
    assert res.exit_code == 4
    res = cli("model", "promote", "clf:3", "--alias", "production", "--override", tenant="acme")
    assert res.exit_code == 2 and "--reason" in res.error["message"]
    event = cli.ok(
        "model",
        "promote",
        "clf:3",
        "--alias",
        "production",
        "--override",
        "--reason",
        "hotfix for outage",
        tenant="acme",
    )
    assert event["override"] is True and event["reason"] == "hotfix for outage"
    actions = [r[0] for r in query(db_url, "SELECT action FROM audit_events ORDER BY at, seq")]
    assert actions.count("model.promote.refused") == 5
    assert actions.count("model.alias.promote") == 2


def query_update(db_url: str, mission_id: str, result: str) -> None:
    from sqlalchemy import create_engine, text

    engine = create_engine(db_url)
    with engine.begin() as conn:
        conn.execute(
            text("UPDATE arcade_missions SET status='settled', settled_result=:r WHERE id=:i"),
            {
                "r": result,
                "i": mission_id.replace("-", "") if db_url.startswith("sqlite") else mission_id,
            },
        )
    engine.dispose()


def test_other_tenant_sees_nothing(
    cli: Any, three_versions: list[dict[str, Any]], db_url: str
) -> None:
    v1 = three_versions[0]
    cli.ok("tenant", "create", "globex", user="gina")
    assert cli.ok("model", "list", user="gina", tenant="globex") == []
    for args in [
        ("model", "show", v1["id"]),
        ("model", "show", "clf"),
        ("model", "versions", "clf"),
        ("model", "alias", "set", "clf", "production", "1"),
        ("model", "rollback", "clf", "--reason", "x"),
        ("model", "promote", v1["id"], "--alias", "production", "--override", "--reason", "x"),
        ("model", "train", "start", "--base", v1["id"], "--dataset", "x"),
        ("model", "eval", "record", v1["id"], "--type", "automated", "--metric", "f1=1"),
    ]:
        res = cli(*args, user="gina", tenant="globex")
        assert res.exit_code == 3, (args, res.stderr)
    # a user of acme cannot act in globex either
    res = cli("model", "list", user="olga", tenant="globex")
    assert res.exit_code == 4
    assert count(db_url, "SELECT count(*) FROM model_aliases") == 0


@pytest.mark.slow
def test_concurrent_registrations_get_distinct_versions(
    db_url: str, tenant: Any, checkpoint: Path
) -> None:
    import os
    import subprocess
    import sys

    env = dict(os.environ)
    procs = [
        subprocess.Popen(
            [
                sys.executable,
                "-m",
                "shifty_ent",
                "--db",
                db_url,
                "--as",
                "alice",
                "--tenant",
                "acme",
                "-o",
                "json",
                "model",
                "register",
                "race",
                "--source",
                "custom",
                "--source-id",
                str(checkpoint),
            ],
            env=env,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        for _ in range(4)
    ]
    outs = [p.communicate(timeout=120) for p in procs]
    assert all(p.returncode == 0 for p in procs), outs
    versions = sorted(r[0] for r in query(db_url, "SELECT version FROM model_versions"))
    assert versions == [1, 2, 3, 4]


@pytest.mark.parametrize("backend", ["sqlite"], indirect=True)  # the index is SQLite's
@pytest.mark.parametrize("flags", [{}, {"name": "clf"}, {"latest_only": True}, {"alias": "prod"}])
def test_sqlite_listing_reads_id_and_time_text_from_its_index(
    cli: Any,
    make_context: Any,
    three_versions: list[dict[str, Any]],
    flags: dict[str, Any],
) -> None:
    """Migration 0007 indexes the listing's id and time expressions; SQLite only reads them
    precomputed if the query spells them the same way. Any drift between the two shows here as
    a ``substr``/``replace`` call per row, or as a sort the index should have spared.
    (PostgreSQL hands back UUIDs and times as values and has no such index.)"""
    from sqlalchemy.dialects import sqlite

    from shifty_ent.model import listing

    cli.ok("model", "alias", "set", "clf", "prod", "2", tenant="acme")
    with make_context(tenant="acme") as ctx:
        stmt = listing._list_query(
            ctx,
            name=flags.get("name"),
            source=None,
            alias=flags.get("alias"),
            latest_only=flags.get("latest_only", False),
            limit=None,
        )
        compiled = stmt.compile(dialect=sqlite.dialect())
        # SQLite's storage form of a bound UUID, as the Uuid type would bind it
        params = tuple(
            getattr(v, "hex", v) for v in (compiled.params[k] for k in compiled.positiontup or ())
        )
        conn = ctx.session.connection()
        plan = conn.exec_driver_sql("EXPLAIN QUERY PLAN " + str(compiled), params).all()
        ops = conn.exec_driver_sql("EXPLAIN " + str(compiled), params).all()
        rows = listing.list_versions(ctx, **flags)
    assert rows and all(len(r["id"]) == 36 for r in rows)
    details = " | ".join(str(p[-1]) for p in plan)
    assert "ix_model_versions_listing" in details, details
    assert "TEMP B-TREE" not in details, details
    per_row = [str(op[5]) for op in ops if op[1] in ("Function", "PureFunc")]
    assert not [f for f in per_row if f.startswith(("substr", "replace"))], per_row
