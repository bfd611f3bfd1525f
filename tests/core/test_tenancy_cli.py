"""Tenants, users and roles through the CLI, on SQLite and PostgreSQL."""

from __future__ import annotations

import uuid

from sqlalchemy import func, select


def test_creator_becomes_admin_and_users_get_roles(cli, tenant):
    users = {u["user"]: u["roles"] for u in cli.ok("user", "list", tenant="acme")}
    assert users == {
        "alice": ["admin"],
        "olga": ["operator"],
        "lars": ["labeler"],
        "audrey": ["auditor"],
    }
    shown = cli.ok("tenant", "show", "acme", user="lars")
    assert shown["id"] == tenant["id"] and shown["created_by"] == "alice"


def test_tenant_resolved_by_id_prefix_and_name(cli, tenant):
    for ref in (tenant["id"], tenant["id"][:8], "acme"):
        assert cli.ok("tenant", "show", ref)["id"] == tenant["id"]


def test_tenant_list_shows_only_own_tenants_unless_all(cli, tenant):
    cli.ok("tenant", "create", "globex", user="gina")
    assert [t["name"] for t in cli.ok("tenant", "list", user="alice")] == ["acme"]
    assert [t["name"] for t in cli.ok("tenant", "list", "--all", user="alice")] == [
        "acme",
        "globex",
    ]


def test_budgets_are_decimal_strings(cli):
    t = cli.ok(
        "tenant", "create", "acme", "--gpu-monthly-budget", "1000", "--gpu-hourly-budget", "4.255"
    )
    assert t["gpu_monthly_budget"] == "1000.00"
    assert t["gpu_hourly_budget"] == "4.255"


def test_missing_role_is_refused_and_changes_nothing(cli, tenant):
    res = cli("user", "add", "mallory", "--role", "admin", user="lars", tenant="acme")
    assert res.exit_code == 4
    assert res.error["type"] == "permission_denied"
    assert "needs role admin" in res.error["message"]
    names = [u["user"] for u in cli.ok("user", "list", tenant="acme")]
    assert "mallory" not in names


def test_stranger_cannot_read_tenant(cli, tenant):
    res = cli("user", "list", user="mallory", tenant="acme")
    assert res.exit_code == 4


def test_unknown_tenant_is_not_found(cli, tenant):
    res = cli("user", "list", tenant="nope", fmt=None)
    assert res.exit_code == 3
    assert res.stderr.strip() == "error: tenant 'nope' not found"


def test_malformed_uuid_is_invalid_input(cli, tenant):
    res = cli("tenant", "show", "zzzzzzzz-c514-4a7e-9bb0-4fad4a267452", fmt=None)
    assert res.exit_code == 2
    assert len(res.stderr.strip().splitlines()) == 1
    assert "not a valid UUID" in res.stderr


def test_unknown_uuid_is_not_found(cli, tenant):
    res = cli("tenant", "show", str(uuid.uuid4()))
    assert res.exit_code == 3


def test_duplicate_tenant_is_conflict(cli, tenant):
    res = cli("tenant", "create", "acme")
    assert res.exit_code == 5
    assert res.error["message"] == "tenant 'acme' already exists"


def test_invalid_names_and_roles(cli, tenant):
    assert cli("tenant", "create", "bad name!").exit_code == 2
    res = cli("user", "add", "bob", "--role", "superuser", tenant="acme")
    assert res.exit_code == 2 and "unknown role" in res.error["message"]
    res = cli("user", "add", "bob", "--role", "labeler", "--timezone", "Mars/Base", tenant="acme")
    assert res.exit_code == 2
    assert "bob" not in [u["user"] for u in cli.ok("user", "list", tenant="acme")]


def test_data_root_must_be_a_directory_and_is_created_when_missing(cli, tmp_path):
    (tmp_path / "file").write_text("x")
    res = cli("tenant", "create", "acme", "--data-root", str(tmp_path / "file"))
    assert res.exit_code == 2
    assert cli.ok("tenant", "list", "--all") == []
    missing = tmp_path / "missing" / "acme"
    ok = cli.ok("tenant", "create", "acme", "--data-root", str(missing))
    assert ok["data_roots"] == [str(missing)] and ok["data_roots_created"] == [str(missing)]
    assert missing.is_dir() and (missing.stat().st_mode & 0o777) == 0o700
    relative = cli("tenant", "create", "beta", "--data-root", "relative/dir")
    assert relative.exit_code == 2 and "absolute" in relative.error["message"]


def test_data_root_needs_installation_admin(cli, tmp_path):
    """Anyone may create a tenant; only an installation administrator may give it a root."""
    res = cli("tenant", "create", "evil", "--data-root", str(tmp_path), user="eve")
    assert res.exit_code == 4 and "installation administrator" in res.error["message"]
    assert cli.ok("tenant", "list", "--all") == []
    assert cli.ok("tenant", "create", "evil", user="eve")["name"] == "evil"
    assert cli("tenant", "root", "add", str(tmp_path), "-t", "evil", user="eve").exit_code == 4


def test_last_admin_cannot_be_removed(cli, tenant):
    res = cli("user", "remove", "alice", "--yes", tenant="acme")
    assert res.exit_code == 4
    cli.ok("user", "add", "bert", "--role", "admin", tenant="acme")
    removed = cli.ok("user", "remove", "alice", "--yes", tenant="acme", user="bert")
    assert removed["removed_at"] is not None and removed["roles"] == []
    assert cli("user", "list", tenant="acme", user="alice").exit_code == 4


def test_remove_without_terminal_needs_yes(cli, tenant):
    res = cli("user", "remove", "lars", tenant="acme")
    assert res.exit_code == 2 and "--yes" in res.error["message"]
    assert "lars" in [u["user"] for u in cli.ok("user", "list", tenant="acme")]


def test_every_change_is_audited(cli, tenant, make_context):
    from shifty_ent.core.tables import AuditEvent

    with make_context() as ctx:
        actions = ctx.session.scalars(
            select(AuditEvent.action)
            .where(AuditEvent.tenant_id == uuid.UUID(tenant["id"]))
            .order_by(AuditEvent.seq)
        ).all()
        count = ctx.session.scalar(
            select(func.count()).select_from(AuditEvent).where(AuditEvent.tenant_id.is_not(None))
        )
    assert actions == ["tenant.create", "user.add", "user.add", "user.add"]
    assert count == 4


def test_output_formats(cli, tenant):
    jsonl = cli("user", "list", tenant="acme", fmt="jsonl")
    assert jsonl.exit_code == 0 and len(jsonl.stdout.strip().splitlines()) == 4
    csv = cli("user", "list", tenant="acme", fmt="csv")
    header = csv.stdout.splitlines()[0].split(",")
    assert header[:3] == ["id", "tenant_id", "user"]
    table = cli("user", "list", tenant="acme", fmt="table")
    assert "audrey" in table.stdout and tenant["id"][:8] in table.stdout
    assert tenant["id"] not in table.stdout  # tables show 8-character ids


def test_unknown_output_format_is_usage_error(cli, tenant):
    res = cli("-o", "xml", "tenant", "list", fmt=None)
    assert res.exit_code == 2
    assert len(res.stderr.strip().splitlines()) == 1


def test_json_error_shape(cli, tenant):
    res = cli("user", "list", tenant="nope")
    assert res.exit_code == 3
    assert res.error == {"type": "not_found", "message": "tenant 'nope' not found", "exit_code": 3}
