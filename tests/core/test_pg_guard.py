"""PostgreSQL enforces the CLI's rules a second time (migration 0010_pg_guard).

A ``postgres``-identity store where every person logs in with their own role: alice and bob
(admins) and lars (labeler) in ``acme``, eve (admin) in ``evil``. The CLI runs as each role; then
raw SQL, as each role, tries what the CLI refuses. Before 0010 every one of these raw statements
succeeded for any role holding the database URL (the roles had the owner's privileges, no
row-level security and no triggers).
"""

from __future__ import annotations

import threading
import uuid
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest

from tests.conftest import PG_URL, Cli, CliResult, _drop_pg, _fresh_pg, _pg_admin, _pg_url_for

pytestmark = [
    pytest.mark.postgres,
    pytest.mark.skipif(not PG_URL, reason="SHIFTY_TEST_POSTGRES_URL not set"),
]

PEOPLE = ("alice", "bob", "lars", "eve", "ian", "root")


@dataclass
class Guarded:
    """The store, each person's role name, and the ids of the tenants the CLI created."""

    url: str
    home: Path
    roots: Path
    roles: dict[str, str]
    tenants: dict[str, str] = field(default_factory=dict)
    job: str = ""

    def url_of(self, person: str | None) -> str:
        from sqlalchemy.engine import make_url

        if person is None:
            return self.url
        return make_url(self.url).set(username=self.roles[person]).render_as_string(False)

    def cli(self, person: str | None, *args: str, tenant: str | None = None) -> CliResult:
        """The CLI connected as ``person``'s own role (the superuser for None); no ``--as``."""
        env = {
            "SHIFTY_HOME": str(self.home),
            "SHIFTY_IDENTITY": None,
        }
        return Cli(self.url_of(person))(*args, user=None, tenant=tenant, env=env)  # type: ignore[arg-type]

    def ok(self, person: str | None, *args: str, tenant: str | None = None) -> Any:
        res = self.cli(person, *args, tenant=tenant)
        assert res.exit_code == 0, f"exit {res.exit_code}\n{res.stdout}\n{res.stderr}"
        return res.json

    def raw(self, person: str) -> Any:
        import psycopg

        dsn = self.url_of(person).replace("postgresql+psycopg://", "postgresql://")
        return psycopg.connect(dsn, autocommit=True)


def _role_sql(stmt: str, role: str) -> Any:
    from psycopg import sql

    return sql.SQL(stmt).format(sql.Identifier(role))


@pytest.fixture(scope="module")
def guarded(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Guarded]:
    base = tmp_path_factory.mktemp("pgguard")
    (base / "home").mkdir()
    (base / "roots").mkdir()
    (base / "roots" / "old.csv").write_bytes(b"x" * 1000)
    suffix = uuid.uuid4().hex[:8]
    roles = {p: f"{p}_{suffix}" for p in PEOPLE}
    name = _fresh_pg(None)
    store = Guarded(_pg_url_for(name), base / "home", base / "roots", roles)
    try:
        init = store.ok(None, "init", "--identity", "postgres")
        assert init["identity_mode"] == "postgres" and init["actor"] == "postgres"
        with _pg_admin() as conn:
            for person, role in roles.items():
                extra = " CREATEROLE" if person == "root" else ""
                conn.execute(_role_sql("CREATE ROLE {} LOGIN" + extra, role))
                conn.execute(_role_sql("GRANT shifty_person TO {}", role))
        store.ok(None, "admin", "add", roles["ian"])
        for tenant, admin in (("acme", "alice"), ("evil", "eve")):
            store.tenants[tenant] = store.ok(admin, "tenant", "create", tenant)["id"]
        store.ok("alice", "user", "add", roles["bob"], "--role", "admin", tenant="acme")
        store.ok("alice", "user", "add", roles["lars"], "--role", "labeler", tenant="acme")
        store.ok("alice", "user", "add", roles["bob"], "--role", "operator", tenant="acme")
        # an installation administrator (not a member of acme) gives acme its data root
        store.ok("ian", "tenant", "root", "add", str(store.roots), "-t", "acme")
        asset = store.ok(
            "bob",
            "data",
            "asset",
            "register",
            "old",
            "--type",
            "dataset",
            "--classification",
            "confidential",
            "--location",
            str(store.roots / "old.csv"),
            tenant="acme",
        )
        store.job = store.ok(
            "alice",
            "data",
            "delete",
            "request",
            asset["id"],
            "--method",
            "standard",
            "--reason",
            "expired",
            tenant="acme",
        )["id"]
        yield store
    finally:
        _drop_pg(name)
        with _pg_admin() as conn:
            for role in [*roles.values(), f"carol_{suffix}", f"dave_{suffix}"]:
                conn.execute(_role_sql("DROP ROLE IF EXISTS {}", role))


def _refused(conn: Any, statement: str, params: Any = ()) -> str:
    """Run ``statement`` in a transaction that must fail; returns the database's message."""
    import psycopg

    with pytest.raises(psycopg.Error) as err, conn.transaction():
        conn.execute(statement, params)
    return str(err.value)


def _changed(conn: Any, statement: str, params: Any = ()) -> int:
    """Rows a statement touched, always rolled back."""
    import psycopg

    try:
        with conn.transaction():
            cur = conn.execute(statement, params)
            count = cur.rowcount
            raise psycopg.Rollback()
    except psycopg.Error:
        return 0
    return count


def _tenant_tables(conn: Any) -> list[str]:
    rows = conn.execute(
        "SELECT table_name FROM information_schema.columns "
        "WHERE table_schema = current_schema() AND column_name = 'tenant_id' ORDER BY 1"
    ).fetchall()
    return [r[0] for r in rows]


def _user_id(conn: Any, tenant: str, role: str) -> str:
    return str(
        conn.execute(
            "SELECT id FROM tenant_users WHERE tenant_id = %s AND username = %s", (tenant, role)
        ).fetchone()[0]
    )


def test_other_tenants_rows_are_invisible(guarded: Guarded) -> None:
    """Reproduction on main: ``psql "postgresql://eve@host/db" -c 'SELECT * FROM data_assets'``
    lists every tenant's assets, users and audit events."""
    acme = guarded.tenants["acme"]
    with guarded.raw("alice") as alice, guarded.raw("eve") as eve:
        tables = _tenant_tables(eve)
        assert {"audit_events", "data_assets", "deletion_jobs", "tenant_users"} <= set(tables)
        seen_by_alice = {
            t: alice.execute(f"SELECT count(*) FROM {t} WHERE tenant_id = %s", (acme,)).fetchone()[
                0
            ]
            for t in tables
        }
        assert all(seen_by_alice[t] > 0 for t in ("audit_events", "data_assets", "tenant_users"))
        for table in tables:
            count = eve.execute(f"SELECT count(*) FROM {table} WHERE tenant_id = %s", (acme,))
            assert count.fetchone()[0] == 0, table
        names = {r[0] for r in eve.execute("SELECT name FROM tenants").fetchall()}
        assert names == {"evil"}
        chains = {r[0] for r in eve.execute("SELECT chain FROM audit_heads").fetchall()}
        assert acme not in chains


def test_cannot_write_into_another_tenant(guarded: Guarded) -> None:
    """Reproduction on main: eve runs ``INSERT INTO tenant_users (..., tenant_id) VALUES (...,
    '<acme>')`` and ``UPDATE tenants SET gpu_monthly_budget = 0 WHERE name = 'acme'``."""
    acme = guarded.tenants["acme"]
    with guarded.raw("eve") as eve:
        _refused(
            eve,
            "INSERT INTO tenant_users (id, tenant_id, username, username_key, timezone, "
            "created_at) VALUES (gen_random_uuid(), %s, %s, %s, 'UTC', now())",
            (acme, guarded.roles["eve"], guarded.roles["eve"]),
        )
        assert (
            _changed(eve, "UPDATE tenants SET gpu_monthly_budget = 0 WHERE id = %s", (acme,)) == 0
        )
        assert _changed(eve, "DELETE FROM data_assets WHERE tenant_id = %s", (acme,)) == 0
        assert (
            _changed(eve, "UPDATE deletion_jobs SET reason = 'x' WHERE tenant_id = %s", (acme,))
            == 0
        )


def test_audit_log_is_append_only(guarded: Guarded) -> None:
    """Reproduction on main: ``DELETE FROM audit_events`` (or UPDATE, TRUNCATE) as any role
    rewrites history; the chain check notices only if its head row was not rewritten too."""
    with guarded.raw("alice") as alice:
        for stmt in (
            "UPDATE audit_events SET action = 'nothing'",
            "DELETE FROM audit_events",
            "TRUNCATE audit_events",
            "TRUNCATE audit_heads",
            "DELETE FROM audit_heads",
            "UPDATE installation SET identity_mode = 'declared'",
            "UPDATE alembic_version SET version_num = 'x'",
            "DELETE FROM deletion_certificates",
        ):
            assert "permission denied" in _refused(alice, stmt), stmt
        # not an installation administrator: the rows are out of reach
        assert _changed(alice, "DELETE FROM installation_admins") == 0


def test_audit_actor_is_the_login(guarded: Guarded) -> None:
    """Reproduction on main: alice inserts an audit event saying bob approved something, or files
    an event under another tenant's chain."""
    acme, evil = guarded.tenants["acme"], guarded.tenants["evil"]
    insert = (
        "INSERT INTO audit_events (id, chain, seq, tenant_id, at, actor, action, details, "
        "prev_hash, hash) VALUES (gen_random_uuid(), %s, 999, %s, now(), %s, 'x', '{}', '', '')"
    )
    with guarded.raw("alice") as alice:
        message = _refused(alice, insert, (acme, acme, guarded.roles["bob"]))
        assert "not the database login" in message
        assert "does not belong" in _refused(alice, insert, (evil, acme, guarded.roles["alice"]))
        assert "row-level security" in _refused(alice, insert, (evil, evil, guarded.roles["alice"]))


def test_four_eyes_in_the_database(guarded: Guarded) -> None:
    """Reproduction on main: alice requests a deletion, then ``UPDATE deletion_jobs SET
    status = 'approved', approved_by = 'bob'`` (or her own name), and executes it alone."""
    job = guarded.job
    approve = (
        "UPDATE deletion_jobs SET status = 'approved', approved_by = %s, approved_at = now() "
        "WHERE id = %s"
    )
    roles = guarded.roles
    with guarded.raw("alice") as alice, guarded.raw("bob") as bob, guarded.raw("lars") as lars:
        assert "requester cannot approve" in _refused(alice, approve, (roles["alice"], job))
        assert "must be the database login" in _refused(alice, approve, (roles["bob"], job))
        assert "must be the database login" in _refused(bob, approve, (roles["lars"], job))
        assert "only an active admin" in _refused(lars, approve, (roles["lars"], job))
        skip = "UPDATE deletion_jobs SET status = 'running' WHERE id = %s"
        assert "approved once" in _refused(alice, skip, (job,))
        forged = (
            "INSERT INTO deletion_jobs (id, tenant_id, method, asset_ids, reason, source, "
            "requested_by, status, approved_by, auto_approved, exceptions, attempts, created_at) "
            "SELECT gen_random_uuid(), tenant_id, method, asset_ids, reason, source, %s, %s, %s, "
            "%s, exceptions, 0, now() FROM deletion_jobs WHERE id = %s"
        )
        assert "requested by the database login" in _refused(
            alice, forged, (roles["bob"], "pending_approval", None, False, job)
        )
        assert "waits for approval" in _refused(
            alice, forged, (roles["alice"], "approved", "policy:none", True, job)
        )
        # bob, another active admin, may: the rule refuses people, not approval
        assert _changed(bob, approve, (roles["bob"], job)) == 1


def test_membership_changes_need_an_admin(guarded: Guarded) -> None:
    """Reproduction on main: lars (labeler) runs ``INSERT INTO user_roles (..., role) VALUES
    (..., 'admin')`` for himself, or removes alice."""
    acme = guarded.tenants["acme"]
    with guarded.raw("lars") as lars:
        me = _user_id(lars, acme, guarded.roles["lars"])
        alice = _user_id(lars, acme, guarded.roles["alice"])
        message = _refused(
            lars,
            "INSERT INTO user_roles (tenant_id, user_id, role, granted_at, granted_by) "
            "VALUES (%s, %s, 'admin', now(), %s)",
            (acme, me, guarded.roles["lars"]),
        )
        assert "only an admin" in message
        assert "only an admin" in _refused(
            lars, "UPDATE tenant_users SET removed_at = now() WHERE id = %s", (alice,)
        )
        assert "only an admin" in _refused(
            lars, "DELETE FROM user_roles WHERE user_id = %s", (alice,)
        )
        assert "only an admin" in _refused(
            lars, "UPDATE tenants SET gpu_monthly_budget = 0 WHERE id = %s", (acme,)
        )


def test_last_admin_cannot_be_removed(guarded: Guarded) -> None:
    """Reproduction on main: eve, evil's only admin, runs ``DELETE FROM user_roles`` on her own
    admin role and leaves the tenant with nobody who may manage it."""
    evil = guarded.tenants["evil"]
    with guarded.raw("eve") as eve:
        me = _user_id(eve, evil, guarded.roles["eve"])
        assert "last admin" in _refused(
            eve, "DELETE FROM user_roles WHERE tenant_id = %s AND user_id = %s", (evil, me)
        )
        assert "last admin" in _refused(
            eve, "UPDATE tenant_users SET removed_at = now() WHERE id = %s", (me,)
        )


def test_installation_admin_sees_every_tenant_but_joins_none(guarded: Guarded) -> None:
    """Reproduction on main: any role inserts itself into ``installation_admins``; an installation
    administrator writes into tenants it does not belong to."""
    acme = guarded.tenants["acme"]
    with guarded.raw("ian") as ian, guarded.raw("eve") as eve:
        names = {r[0] for r in ian.execute("SELECT name FROM tenants").fetchall()}
        assert names >= {"acme", "evil"}
        assert ian.execute("SELECT count(*) FROM data_assets").fetchone()[0] >= 1
        assert _changed(ian, "DELETE FROM data_assets WHERE tenant_id = %s", (acme,)) == 0
        _refused(
            ian,
            "INSERT INTO tenant_users (id, tenant_id, username, username_key, timezone, "
            "created_at) VALUES (gen_random_uuid(), %s, %s, %s, 'UTC', now())",
            (acme, guarded.roles["ian"], guarded.roles["ian"]),
        )
        message = _refused(
            eve,
            "INSERT INTO installation_admins (name_key, name, added_by, added_at) "
            "VALUES (%s, %s, %s, now())",
            (guarded.roles["eve"], guarded.roles["eve"], guarded.roles["eve"]),
        )
        assert "row-level security" in message
    added = guarded.ok("ian", "admin", "add", guarded.roles["lars"])
    assert added["added_by"] == guarded.roles["ian"]
    assert guarded.cli("eve", "admin", "add", guarded.roles["eve"]).exit_code == 4


def test_cli_works_as_each_login(guarded: Guarded) -> None:
    """The normal flow runs as each person's own role: tenant create, user add, a deletion
    request by alice approved by bob; ``--as`` naming someone else is refused (exit 4)."""
    roles = guarded.roles
    shown = guarded.ok("alice", "tenant", "show", "acme")
    assert shown["created_by"] == roles["alice"]
    res = Cli(guarded.url_of("alice"))(
        "tenant", "list", user=roles["bob"], env={"SHIFTY_IDENTITY": None}
    )
    assert res.exit_code == 4 and "refused" in res.stderr
    (guarded.roots / "second.csv").write_bytes(b"y" * 1000)  # one location is one asset
    asset = guarded.ok(
        "bob",
        "data",
        "asset",
        "register",
        "second",
        "--type",
        "dataset",
        "--classification",
        "confidential",
        "--location",
        str(guarded.roots / "second.csv"),
        tenant="acme",
    )
    job = guarded.ok(
        "alice",
        "data",
        "delete",
        "request",
        asset["id"],
        "--method",
        "standard",
        "--reason",
        "flow",
        tenant="acme",
    )
    assert job["requested_by"] == roles["alice"]
    own = guarded.cli("alice", "data", "delete", "approve", job["id"], tenant="acme")
    assert own.exit_code == 4
    approved = guarded.ok("bob", "data", "delete", "approve", job["id"], tenant="acme")
    assert approved["approved_by"] == roles["bob"] and approved["status"] == "approved"
    guarded.ok("alice", "data", "delete", "cancel", job["id"], "--reason", "test", tenant="acme")
    verified = guarded.ok("alice", "report", "audit", "verify", tenant="acme")
    assert all(chain["ok"] for chain in verified)


def test_user_add_creates_the_login_or_says_what_to_run(guarded: Guarded) -> None:
    """Before: ``user add`` in a postgres store left the new person without a database login,
    and nobody was told which SQL makes one."""
    suffix = guarded.roles["alice"].split("_")[-1]
    carol, dave = f"carol_{suffix}", f"dave_{suffix}"
    res = guarded.cli("alice", "user", "add", carol, "--role", "labeler", tenant="acme")
    assert res.exit_code == 0, res.stderr
    assert f'CREATE ROLE "{carol}" LOGIN; GRANT "shifty_person" TO "{carol}";' in res.stderr
    guarded.ok("root", "tenant", "create", "ops")
    res = guarded.cli("root", "user", "add", dave, "--role", "operator", tenant="ops")
    assert res.exit_code == 0, res.stderr
    with _pg_admin() as conn:
        row = conn.execute(
            "SELECT rolcanlogin, pg_has_role(rolname, 'shifty_person', 'MEMBER') FROM pg_roles "
            "WHERE rolname = %s",
            (dave,),
        ).fetchone()
        assert (
            conn.execute("SELECT 1 FROM pg_roles WHERE rolname = %s", (carol,)).fetchone() is None
        )
    assert row == (True, True)


def test_name_keys_agree(guarded: Guarded) -> None:
    """The database folds names as ``identity.name_key`` does (else a user of one name would be
    refused by one side and let in by the other)."""
    from shifty_ent.core.identity import name_key

    samples = [
        "alice",
        "ALICE",
        "Ａｌｉｃｅ",
        "Straße",
        "STRASSE",
        "ẞ",
        "ΟΔΥΣΣΕΥΣ",
        "Ünal",
        "x.y-z_1",
    ]
    with guarded.raw("alice") as conn:
        for sample in samples:
            got = conn.execute("SELECT shifty_name_key(%s)", (sample,)).fetchone()[0]
            assert got == name_key(sample), sample


def _remove_each_other(guarded: Guarded, tenant: str, a: str, b: str) -> list[bool]:
    """a removes b and b removes a at the same moment; returns whose removal took effect (a
    remover who lost the race is refused, or no longer sees the tenant's rows at all)."""
    import psycopg

    barrier = threading.Barrier(2)
    done = [False, False]

    def remove(i: int, person: str, target: str) -> None:
        with guarded.raw(person) as conn:
            victim = _user_id(conn, tenant, guarded.roles[target])
            try:
                with conn.transaction():
                    barrier.wait()
                    gone = conn.execute(
                        "DELETE FROM user_roles WHERE tenant_id = %s AND user_id = %s",
                        (tenant, victim),
                    ).rowcount
                    conn.execute(
                        "UPDATE tenant_users SET removed_at = now() WHERE id = %s", (victim,)
                    )
                done[i] = gone > 0
            except psycopg.Error:
                pass

    threads = [
        threading.Thread(target=remove, args=(0, a, b)),
        threading.Thread(target=remove, args=(1, b, a)),
    ]
    for t in threads:
        t.start()
    for t in threads:
        t.join(60)
    return done


def test_last_admin_race(guarded: Guarded) -> None:
    """Reproduction on main: two admins each run ``DELETE FROM user_roles`` on the other at the
    same moment; both commit and the tenant has no admin left. Eight pairs race here; every
    tenant must keep one admin (the second remover waits on the tenant row, then is refused)."""
    names = [f"race{i}" for i in range(8)]
    ids = {}
    for name in names:
        ids[name] = guarded.ok("alice", "tenant", "create", name)["id"]
        guarded.ok("alice", "user", "add", guarded.roles["bob"], "--role", "admin", tenant=name)
    results = {name: _remove_each_other(guarded, ids[name], "alice", "bob") for name in names}
    import psycopg

    dsn = guarded.url.replace("postgresql+psycopg://", "postgresql://")
    with psycopg.connect(dsn) as conn:
        for name in names:
            admins = conn.execute(
                "SELECT count(*) FROM user_roles r JOIN tenant_users u ON u.id = r.user_id "
                "WHERE r.tenant_id = %s AND r.role = 'admin' AND u.removed_at IS NULL",
                (ids[name],),
            ).fetchone()[0]
            assert admins >= 1, (name, results[name])
            assert sum(results[name]) == 1, (name, results[name])
