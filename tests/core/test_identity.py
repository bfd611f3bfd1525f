"""Who acts is proven by the store, not typed: identity modes, names, the clock.

The declared-mode tests run on SQLite and PostgreSQL; the ``os`` mode tests use the OS account of
the test process, and (as root, as CI runs) two real OS accounts created for the test.
"""

from __future__ import annotations

import json
import os
import shutil
import sqlite3
import sys
import tempfile
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.conftest import Cli

# ---------------------------------------------------------------- declared stores


@pytest.fixture
def acme_root(cli: Cli, tmp_path: Path) -> Path:
    """Tenant acme (alice admin, olga operator) with a data root holding one file."""
    root = tmp_path / "acme-root"
    root.mkdir()
    (root / "records.csv").write_bytes(os.urandom(4096))
    cli.ok("tenant", "create", "acme", "--data-root", str(root))
    cli.ok("user", "add", "olga", "--role", "operator", tenant="acme")
    return root


def _request_deletion(cli: Cli, root: Path, user: str = "alice") -> str:
    asset = cli.ok(
        "data",
        "asset",
        "register",
        "records",
        "--type",
        "dataset",
        "--classification",
        "confidential",
        "--location",
        str(root / "records.csv"),
        tenant="acme",
        user="olga",
    )
    job = cli.ok(
        "data",
        "delete",
        "request",
        asset["id"],
        "--method",
        "standard",
        "--reason",
        "contract ended",
        tenant="acme",
        user=user,
    )
    return job["id"]


@pytest.mark.parametrize("twin", ["Alice", "ALICE", "ａｌｉｃｅ"])
def test_case_twin_cannot_approve_own_deletion(cli: Cli, acme_root: Path, twin: str) -> None:
    """On main, alice added an admin named ``Alice`` (a new user: names compared as strings),
    requested a deletion as alice and approved it as Alice; ``deletion_audit`` said four-eyes ok.
    Now the twin is alice herself, so the approval is refused (exit 4) and nothing changes."""
    added = cli.ok("user", "add", twin, "--role", "admin", tenant="acme")
    assert added["user"] == "alice"  # the same person, not a second admin
    assert (
        len([u for u in cli.ok("user", "list", tenant="acme") if u["user"].lower() == "alice"]) == 1
    )
    job = _request_deletion(cli, acme_root)
    res = cli("data", "delete", "approve", job, tenant="acme", user=twin)
    assert res.exit_code == 4, res.stderr
    assert "four-eyes" in res.error["message"]
    shown = cli.ok("data", "delete", "show", job, tenant="acme")
    assert shown["status"] == "pending_approval" and shown["approved_by"] is None


def test_case_twin_as_actor_is_recorded_under_one_name(cli: Cli, acme_root: Path) -> None:
    """Typing ``--as ALICE`` acts as the member ``alice``: one spelling in every record."""
    job = _request_deletion(cli, acme_root, user="ALICE")
    assert cli.ok("data", "delete", "show", job, tenant="acme")["requested_by"] == "alice"


@pytest.mark.parametrize(
    "name", ["bob\x1b[31m", "bob\u200b", "bo\nb", "", " ", "x" * 129, "bob;drop"]
)
def test_user_names_with_control_characters_are_refused(
    cli: Cli, acme_root: Path, name: str
) -> None:
    """Control, format and other non-name characters are refused at input (exit 2)."""
    before = cli.ok("user", "list", tenant="acme")
    res = cli("user", "add", name, "--role", "labeler", tenant="acme")
    assert res.exit_code == 2, res.stderr
    assert len(res.stderr.strip().splitlines()) == 1
    assert cli.ok("user", "list", tenant="acme") == before


def test_declared_store_says_so_in_every_document(
    cli: Cli, acme_root: Path, tmp_path: Path
) -> None:
    """Reports, exports and certificates name the identity mode; a declared store's documents say
    ``declared (not authenticated)`` where a reader sees it."""
    out = tmp_path / "inventory.md"
    cli.ok(
        "report",
        "compliance",
        "--type",
        "data_inventory",
        "--format",
        "md",
        "--out",
        str(out),
        tenant="acme",
    )
    assert "declared (not authenticated)" in out.read_text(encoding="utf-8")
    sig = json.loads(out.with_name(out.name + ".sig").read_text(encoding="utf-8"))
    assert sig["statement"]["identity"] == "declared (not authenticated)"

    export = tmp_path / "export.zip"
    cli.ok("data", "export", "--out", str(export), tenant="acme")
    import zipfile

    with zipfile.ZipFile(export) as zf:
        manifest = json.loads(zf.read("manifest.json"))
    assert manifest["identity"] == "declared (not authenticated)"


def test_config_show_names_the_identity(cli: Cli) -> None:
    shown = cli.ok("config", "show")
    assert shown["identity"]["value"]["mode"] == "declared"
    assert shown["identity"]["value"]["authenticated"] is False
    assert shown["identity"]["value"]["actor"] == "alice"


def test_tenantless_views_need_an_installation_admin(cli: Cli, acme_root: Path) -> None:
    """On main anyone with no role at all saw every tenant (``tenant list --all``) and every
    chain (``report audit verify`` without ``-t``). Now only installation administrators do."""
    for args in (("tenant", "list", "--all"), ("report", "audit", "verify")):
        res = cli(*args, user="mallory")
        assert res.exit_code == 4, (args, res.stderr)
        assert "installation administrator" in res.error["message"]
    assert [t["name"] for t in cli.ok("tenant", "list", "--all")] == ["acme"]
    assert cli.ok("report", "audit", "verify")


def test_installation_admins_are_managed_by_admins(cli: Cli) -> None:
    assert [a["user"] for a in cli.ok("admin", "list")] == ["alice"]
    assert cli("admin", "add", "mallory", user="mallory").exit_code == 4
    cli.ok("admin", "add", "Bob")
    assert [a["user"] for a in cli.ok("admin", "list")] == ["alice", "Bob"]
    assert cli.ok("tenant", "list", "--all", user="bob") == []
    cli.ok("admin", "remove", "alice", "--yes", user="bob")
    res = cli("admin", "remove", "bob", "--yes", user="bob")
    assert res.exit_code == 4 and "last installation administrator" in res.error["message"]


def test_declared_store_moves_its_clock(cli: Cli, acme_root: Path) -> None:
    """Declared stores are for sandboxes and tests: SHIFTY_NOW may move either way there."""
    past = {"SHIFTY_NOW": "2020-01-01T00:00:00+00:00"}
    cli.ok("user", "add", "lars", "--role", "labeler", tenant="acme", env=past)


# ---------------------------------------------------------------- os stores


def _me() -> str:
    import pwd

    return pwd.getpwuid(os.geteuid()).pw_name


@pytest.fixture
def os_cli(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Cli]:
    """A fresh ``os``-identity SQLite store, created by this process's OS account."""
    monkeypatch.setenv("SHIFTY_IDENTITY", "os")
    url = f"sqlite:///{tmp_path / 'os-store.db'}"
    cli = Cli(url)
    init = cli.ok("init", user=None)
    assert init["identity_mode"] == "os" and init["actor"] == _me()
    yield cli
    from shifty_ent.core import store

    store.get_engine.cache_clear()


def test_os_mode_refuses_acting_as_someone_else(
    os_cli: Cli, monkeypatch: pytest.MonkeyPatch
) -> None:
    """On main ``--as alice`` (or SHIFTY_USER=alice) worked for any OS account. In an os store
    either may only name the OS account itself; anything else is exit 4 and changes nothing."""
    me = _me()
    res = os_cli("tenant", "create", "acme", user="alice")
    assert res.exit_code == 4 and "--as 'alice' refused" in res.error["message"]
    res = os_cli("tenant", "create", "acme", user=None, env={"SHIFTY_USER": "alice"})
    assert res.exit_code == 4
    assert os_cli.ok("tenant", "list", user=None) == []
    made = os_cli.ok("tenant", "create", "acme", user=me)
    assert made["created_by"] == me
    shown = os_cli.ok("config", "show", user=None)["identity"]["value"]
    assert shown == {"mode": "os", "actor": me, "authenticated": True, "installation_admin": True}


def test_os_store_mode_is_fixed(os_cli: Cli, monkeypatch: pytest.MonkeyPatch) -> None:
    """SHIFTY_IDENTITY cannot turn an os store into a declared one after the fact."""
    monkeypatch.setenv("SHIFTY_IDENTITY", "declared")
    res = os_cli("tenant", "list", user="alice")
    assert res.exit_code == 4 and "fixed when it was created" in res.error["message"]
    res = os_cli("init", "--identity", "declared", user=None)
    assert res.exit_code == 4


def test_os_mode_refuses_shifty_now_on_writes(os_cli: Cli, tmp_path: Path) -> None:
    """On main a command run with SHIFTY_NOW six years back wrote a certificate dated before the
    asset existed, and it verified. In an os store a fixed clock may preview (--dry-run, reads)
    but any command that writes is refused (exit 2, one line) and nothing is written."""
    me = _me()
    root = tmp_path / "root"
    root.mkdir()
    (root / "f.bin").write_bytes(b"x" * 1000)
    os_cli.ok("tenant", "create", "acme", "--data-root", str(root), user=None)
    os_cli.ok(
        "data",
        "policy",
        "create",
        "short",
        "--classification",
        "internal",
        "--retention-days",
        "1",
        "--auto-delete",
        tenant="acme",
        user=None,
    )
    asset = os_cli.ok(
        "data",
        "asset",
        "register",
        "f",
        "--type",
        "dataset",
        "--classification",
        "internal",
        "--location",
        str(root / "f.bin"),
        tenant="acme",
        user=None,
    )
    future = {"SHIFTY_NOW": "2031-01-01T00:00:00+00:00"}
    past = {"SHIFTY_NOW": "2020-01-01T00:00:00+00:00"}
    preview = os_cli.ok("data", "sweep", "--dry-run", tenant="acme", user=None, env=future)
    assert preview
    for env in (future, past):
        res = os_cli("data", "sweep", tenant="acme", user=None, env=env)
        assert res.exit_code == 2, res.stderr
        assert "SHIFTY_NOW" in res.error["message"]
        res = os_cli("user", "add", "someone", "--role", "labeler", tenant="acme", user=me, env=env)
        assert res.exit_code == 2
    assert (root / "f.bin").exists()
    assert (
        os_cli.ok("data", "asset", "show", asset["id"], tenant="acme", user=None)["status"]
        == "active"
    )
    assert [u["user"] for u in os_cli.ok("user", "list", tenant="acme", user=None)] == [me]


def test_backdated_audit_event_is_refused(os_cli: Cli) -> None:
    """Outside declared stores an audit event dated before its chain's last event is refused."""
    from datetime import timedelta

    from shifty_ent.core import audit
    from shifty_ent.core.config import load_settings
    from shifty_ent.core.context import open_context
    from shifty_ent.core.errors import InvalidInput

    os_cli.ok("tenant", "create", "acme", user=None)
    settings = load_settings({"database_url": os_cli.db_url, "tenant": "acme"})
    with (
        pytest.raises(InvalidInput, match="before the chain's last event"),
        open_context(settings) as ctx,
    ):
        audit.append(
            ctx.session,
            tenant_id=ctx.tenant_id,
            actor=ctx.actor,
            action="probe.backdated",
            at=ctx.now() - timedelta(days=3 * 365),
        )
    with open_context(settings) as ctx:
        assert audit.verify(ctx.session, ctx.tenant_id).ok
        assert audit.head_of(ctx.session, ctx.tenant_id)[0] == 1


# ---------------------------------------------------------------- two real OS accounts

needs_root = pytest.mark.skipif(
    os.geteuid() != 0 or shutil.which("useradd") is None,
    reason="creating OS accounts needs root and useradd (CI runs as root)",
)


class OsAccounts:
    """Throw-away OS accounts sharing one group; removed after the test."""

    def __init__(self) -> None:
        import grp
        import pwd
        import subprocess

        self.tag = uuid.uuid4().hex[:6]
        self.group = f"shty_g{self.tag}"
        self.names = [f"shty_a{self.tag}", f"shty_b{self.tag}"]
        subprocess.run(["groupadd", self.group], check=True)
        for name in self.names:
            subprocess.run(
                ["useradd", "--no-create-home", "-g", self.group, "-s", "/usr/sbin/nologin", name],
                check=True,
            )
        self.gid = grp.getgrnam(self.group).gr_gid
        self.uids = {n: pwd.getpwnam(n).pw_uid for n in self.names}

    def remove(self) -> None:
        import subprocess

        for name in self.names:
            subprocess.run(["userdel", name], check=False)
        subprocess.run(["groupdel", self.group], check=False)

    def run(self, name: str, argv: list[str], env: dict[str, str]) -> tuple[int, Any, str]:
        """Run the CLI in a forked child that has become ``name`` (uid and gid), so the program
        sees the real OS account, not a declared one. The child reuses the modules this process
        imported (the interpreter's own files may not be readable by that account)."""
        out_r, out_w = os.pipe()
        err_r, err_w = os.pipe()
        pid = os.fork()
        if pid == 0:  # pragma: no cover - runs in the child
            code = 1
            try:
                os.setgroups([self.gid])
                os.setgid(self.gid)
                os.setuid(self.uids[name])
                os.umask(0o007)
                os.dup2(out_w, 1)
                os.dup2(err_w, 2)
                sys.stdout = open(1, "w", closefd=False)  # noqa: SIM115
                sys.stderr = open(2, "w", closefd=False)  # noqa: SIM115
                os.environ.clear()
                os.environ.update(env)
                from typer.main import get_command

                from shifty_ent.cli import app

                code = get_command(app).main(
                    args=argv, prog_name="shifty-ent", standalone_mode=False
                )
            except BaseException as exc:
                os.write(2, f"child failed: {exc!r}\n".encode())
            finally:
                sys.stdout.flush()
                sys.stderr.flush()
                os._exit(code if isinstance(code, int) else 1)
        os.close(out_w)
        os.close(err_w)
        with os.fdopen(out_r) as out_f, os.fdopen(err_r) as err_f:
            out, err = out_f.read(), err_f.read()
        _, status = os.waitpid(pid, 0)
        code = os.waitstatus_to_exitcode(status)
        return code, (json.loads(out) if out.strip() else None), err


@pytest.fixture
def accounts() -> Iterator[OsAccounts]:
    made = OsAccounts()
    try:
        yield made
    finally:
        made.remove()


def _warm_imports() -> None:
    """Import what a command needs before forking: the child may not read the interpreter's
    files (CI's Python lives under root's home)."""
    import grp  # noqa: F401
    import pwd  # noqa: F401
    import unicodedata  # noqa: F401

    import shifty_ent.cli
    import shifty_ent.core.context
    import shifty_ent.data.assets
    import shifty_ent.data.certificates
    import shifty_ent.data.cli
    import shifty_ent.data.deletion
    import shifty_ent.data.erasure
    import shifty_ent.setup.cli
    import shifty_ent.setup.service  # noqa: F401
    from shifty_ent.cli import GROUPS, LazyCommand

    for name, (target, help_text) in GROUPS.items():
        LazyCommand(name, target, help_text).load()


@pytest.mark.slow
@needs_root
def test_two_os_accounts_share_a_store_and_each_acts_as_itself(
    accounts: OsAccounts, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Two OS accounts share one SQLite store through a group (the documented set-up). Each
    acts as itself: neither can take the other's name with --as or SHIFTY_USER, the deletion
    one requests the other approves (never the requester), and the audit chain names both.

    On main ``--as`` was free for every account, so A could approve as B."""
    a, b = accounts.names
    shared = Path(tempfile.mkdtemp(prefix="shifty-shared-"))
    try:
        shared.chmod(0o2770)
        os.chown(shared, 0, accounts.gid)
        data = shared / "data"
        data.mkdir()
        os.chown(data, accounts.uids[a], accounts.gid)
        data.chmod(0o2770)
        (data / "records.csv").write_bytes(os.urandom(2048))
        os.chown(data / "records.csv", accounts.uids[a], accounts.gid)
        (data / "records.csv").chmod(0o660)
        db = shared / "state.db"
        url = f"sqlite:///{db}"
        homes = {}
        for name in (a, b):
            home = shared / f"home-{name}"
            home.mkdir()
            os.chown(home, accounts.uids[name], accounts.gid)
            home.chmod(0o700)
            homes[name] = home

        def env(name: str, **extra: str) -> dict[str, str]:
            return {
                "SHIFTY_HOME": str(homes[name]),
                "NO_COLOR": "1",
                "PATH": "/usr/bin:/bin",
                **extra,
            }

        def run(name: str, *args: str, **extra: str) -> tuple[int, Any, str]:
            return accounts.run(name, ["--db", url, "-o", "json", *args], env(name, **extra))

        # the installation administrator (root here) creates the store and the tenant, and
        # shares the store file with the group: the documented set-up
        monkeypatch.setenv("SHIFTY_IDENTITY", "os")
        admin = Cli(url)
        assert admin.ok("init", user=None)["identity_mode"] == "os"
        db.chmod(0o660)
        admin.ok("tenant", "create", "acme", "--data-root", str(data), user=None)
        for name in (a, b):
            admin.ok("user", "add", name, "--role", "admin", tenant="acme", user=None)
        monkeypatch.delenv("SHIFTY_IDENTITY")
        _warm_imports()

        # nobody takes another's name
        code, _, err = run(b, "-t", "acme", "--as", a, "user", "list")
        assert code == 4 and "refused" in err
        code, _, err = run(b, "-t", "acme", "user", "list", SHIFTY_USER=a)
        assert code == 4

        code, asset, err = run(
            a,
            "-t",
            "acme",
            "data",
            "asset",
            "register",
            "records",
            "--type",
            "dataset",
            "--classification",
            "confidential",
            "--location",
            str(data / "records.csv"),
        )
        assert code == 0, err
        code, job, err = run(
            a,
            "-t",
            "acme",
            "data",
            "delete",
            "request",
            asset["id"],
            "--method",
            "standard",
            "--reason",
            "done",
        )
        assert code == 0, err
        code, _, err = run(a, "-t", "acme", "data", "delete", "approve", job["id"])
        assert code == 4 and "four-eyes" in err
        code, approved, err = run(b, "-t", "acme", "data", "delete", "approve", job["id"])
        assert code == 0, err
        assert approved["requested_by"] == a and approved["approved_by"] == b

        with sqlite3.connect(db) as conn:
            actors = dict(
                conn.execute(
                    "SELECT action, actor FROM audit_events WHERE action LIKE 'data.delete.%'"
                ).fetchall()
            )
        assert actors == {"data.delete.request": a, "data.delete.approve": b}
    finally:
        shutil.rmtree(shared, ignore_errors=True)
