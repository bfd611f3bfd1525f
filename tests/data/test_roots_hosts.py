"""Data roots belong to one tenant on one host; local data is erased only by its own host.

Every test runs on SQLite and PostgreSQL. Two hosts are simulated on one store with
``SHIFTY_HOST_ID`` (honoured in declared stores only, which every test store is).
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import pytest

from tests.data.conftest import make_file

LATER = "2099-01-01T00:00:00+00:00"
A = {"SHIFTY_HOST_ID": "host-a"}
B = {"SHIFTY_HOST_ID": "host-b"}


def _dir(path: Path) -> Path:
    path.mkdir(parents=True, exist_ok=True)
    return path


def _register(cli: Any, name: str, path: Path, env: dict[str, str] | None = None) -> Any:
    return cli(
        "data", "asset", "register", name, "--type", "dataset", "--classification",
        "confidential", "--location", str(path), user="olga", tenant="acme", env=env,
    )  # fmt: skip


def _auto_delete_policy(cli: Any) -> None:
    cli.ok(
        "data", "policy", "create", "conf", "--classification", "confidential",
        "--retention-days", "30", "--auto-delete", "--method", "standard",
        user="olga", tenant="acme",
    )  # fmt: skip


def _status(cli: Any, asset_id: str) -> str:
    return cli.ok("data", "asset", "show", asset_id, tenant="acme")["status"]


# ---------------------------------------------------------------- roots


def test_cross_tenant_erasure_is_refused(cli: Any, tenant: Any, tmp_path: Path) -> None:
    """Issue 13, as reproduced on main (eve is no installation administrator):

    1. ``tenant create evil --data-root <acme's root>`` as eve            (main: exit 0)
    2. ``data asset register f --location <acme's file>`` in evil          (main: exit 0)
    3. ``user add mallory --role admin`` in evil; ``data delete request``  (main: exit 0)
    4. ``data delete approve`` as mallory, ``data delete execute``         (main: file erased,
       acme's record still ``active``; a later acme job on it is certified as erased)

    Here step 1 fails with exit 4 and creates nothing; neither can an installation
    administrator hand evil that root, nor can evil register acme's file.
    """
    acme_root = _dir(tmp_path / "acme-root")
    cli.ok("tenant", "root", "add", str(acme_root), "-t", "acme")
    secret = make_file(acme_root / "customers.csv", 4096)
    before = secret.read_bytes()
    acme_asset = _register(cli, "customers", secret)
    assert acme_asset.exit_code == 0

    step1 = cli("tenant", "create", "evil", "--data-root", str(acme_root), user="eve")
    assert step1.exit_code == 4
    assert "evil" not in [t["name"] for t in cli.ok("tenant", "list", "--all")]

    # a tenant without the root, and every way of getting one, refused
    cli.ok("tenant", "create", "evil", user="eve")
    assert cli("tenant", "root", "add", str(acme_root), "-t", "evil", user="eve").exit_code == 4
    for path in (acme_root, acme_root / "sub", tmp_path):  # equal, inside, above
        _dir(path)
        res = cli("tenant", "root", "add", str(path), "-t", "evil")  # even by alice
        assert res.exit_code == 4 and "acme" in res.error["message"], path
    cli.ok("user", "add", "olga", "--role", "operator", user="eve", tenant="evil")
    res = cli(
        "data", "asset", "register", "loot", "--type", "dataset", "--classification", "public",
        "--location", str(secret), user="olga", tenant="evil",
    )  # fmt: skip
    assert res.exit_code == 4
    assert cli.ok("data", "asset", "list", user="eve", tenant="evil") == []
    assert secret.read_bytes() == before
    assert _status(cli, acme_asset.json["id"]) == "active"


def test_root_rules(cli: Any, tenant: Any, tmp_path: Path) -> None:
    """Absolute, a directory (created when missing), no symlink; own overlap is a conflict; list
    and add are admin-only."""
    root = _dir(tmp_path / "r")
    assert cli("tenant", "root", "add", "rel/dir", "-t", "acme").exit_code == 2
    (tmp_path / "file").write_text("x")
    assert cli("tenant", "root", "add", str(tmp_path / "file"), "-t", "acme").exit_code == 2
    link = tmp_path / "link"
    link.symlink_to(root)
    res = cli("tenant", "root", "add", str(link), "-t", "acme")
    assert res.exit_code == 2 and "symbolic link" in res.error["message"]
    added = cli.ok("tenant", "root", "add", str(root), "-t", "acme")
    assert added["path"] == str(root) and added["this_host"] is True
    assert cli("tenant", "root", "add", str(root), "-t", "acme").exit_code == 5
    assert cli("tenant", "root", "add", str(_dir(root / "in")), "-t", "acme").exit_code == 5
    assert cli("tenant", "root", "list", "-t", "acme", user="olga").exit_code == 4
    assert (
        cli("tenant", "root", "remove", str(root), "--yes", "-t", "acme", user="olga").exit_code
        == 4
    )
    listed = cli.ok("tenant", "root", "list", "-t", "acme")
    assert [r["path"] for r in listed] == [str(root)] and listed[0]["tenant"] == "acme"
    # the same path on another host is another directory
    assert cli.ok("tenant", "root", "add", str(root), "-t", "acme", env=B)["host_id"] == "host-b"
    assert len(cli.ok("tenant", "root", "list")) == 2


def test_root_remove_waits_for_live_assets(cli: Any, tenant: Any, tmp_path: Path) -> None:
    root = _dir(tmp_path / "r")
    cli.ok("tenant", "root", "add", str(root), "-t", "acme")
    asset = _register(cli, "a", make_file(root / "a.bin", 64)).json
    res = cli("tenant", "root", "remove", str(root), "--yes", "-t", "acme")
    assert res.exit_code == 5 and "a.bin" in res.error["message"]
    job = cli.ok(
        "data", "delete", "request", asset["id"], "--method", "standard", "--reason", "done",
        user="olga", tenant="acme",
    )  # fmt: skip
    cli.ok("data", "delete", "approve", job["id"], tenant="acme")
    cli.ok("data", "delete", "execute", job["id"], "--yes", user="olga", tenant="acme")
    removed = cli.ok("tenant", "root", "remove", str(root), "--yes", "-t", "acme")
    assert removed["removed_by"] == "alice"
    assert cli.ok("tenant", "root", "list", "-t", "acme") == []
    assert len(cli.ok("tenant", "root", "list", "--removed", "-t", "acme")) == 1
    trail = _actions(cli)
    assert "tenant.root.add" in trail and "tenant.root.remove" in trail


def _actions(cli: Any) -> list[str]:
    from sqlalchemy import select

    from shifty_ent.core import store
    from shifty_ent.core.tables import AuditEvent

    with store.new_session(store.get_engine(cli.db_url)) as session:
        return list(session.scalars(select(AuditEvent.action)).all())


def test_one_location_one_live_asset(cli: Any, tenant: Any, tmp_path: Path) -> None:
    """A location is a live asset once: never of two tenants, never twice of one."""
    cli.ok("tenant", "create", "beta")
    cli.ok("user", "add", "olga", "--role", "operator", tenant="beta")
    f = make_file(tmp_path / "shared.bin", 64)
    assert _register(cli, "a", f).exit_code == 0
    assert _register(cli, "again", f).exit_code == 5
    other = cli(
        "data", "asset", "register", "b", "--type", "dataset", "--classification", "public",
        "--location", str(f), user="olga", tenant="beta",
    )  # fmt: skip
    assert other.exit_code == 4 and "another tenant" in other.error["message"]
    # the same path on another host is another file
    assert _register(cli, "on-b", f, env=B).exit_code == 0


def test_unique_location_is_the_databases_rule(make_context: Any, cli: Any, tenant: Any) -> None:
    """Two live assets at one host-qualified location fail at the database, not only in Python."""
    from shifty_ent.core.errors import Conflict
    from shifty_ent.data.tables import Asset

    with pytest.raises(Conflict, match="location"), make_context(tenant="acme") as ctx:
        for name in ("x", "y"):
            ctx.session.add(
                Asset(
                    tenant_id=ctx.tenant_id, name=name, type="dataset", classification="public",
                    location="/srv/f", scheme="file", host_id="h", location_key="h:/srv/f",
                    created_by="alice",
                )
            )  # fmt: skip
            ctx.session.flush()


def test_host_override_only_in_declared_stores(tmp_path: Path) -> None:
    """``SHIFTY_HOST_ID`` would let a host act on another host's files: refused (exit 2)
    outside declared stores."""
    from tests.conftest import Cli

    os_store = Cli(f"sqlite:///{tmp_path / 'os.db'}")
    env = {"SHIFTY_IDENTITY": "os"}
    assert os_store("tenant", "list", user=None, env=env).exit_code == 0
    res = os_store("tenant", "list", user=None, env={**env, **A})
    assert res.exit_code == 2 and "SHIFTY_HOST_ID" in res.error["message"]


# ---------------------------------------------------------------- hosts


@pytest.fixture
def two_hosts(cli: Any, tenant: Any, tmp_path: Path) -> dict[str, Path]:
    """acme has a root on host-a and one on host-b (directories of this machine, standing in
    for each host's disk)."""
    roots = {"a": _dir(tmp_path / "disk-a"), "b": _dir(tmp_path / "disk-b")}
    cli.ok("tenant", "root", "add", str(roots["a"]), "-t", "acme", env=A)
    cli.ok("tenant", "root", "add", str(roots["b"]), "-t", "acme", env=B)
    return roots


def test_sweep_leaves_other_hosts_files_to_them(
    cli: Any, two_hosts: dict[str, Path], tmp_path: Path
) -> None:
    """Issue 13, as reproduced on main with one PostgreSQL shared by two cron hosts: host A's
    sweep does not see host B's file, finds it "not found at its location", marks the asset
    erased and certifies it; the file on B is never erased.

    Here A's sweep leaves B's asset active and reports it waiting for host-b; B's sweep erases
    it with a certificate.
    """
    _auto_delete_policy(cli)
    f = make_file(two_hosts["b"] / "b.bin", 256)
    asset = _register(cli, "on-b", f, env=B).json
    assert asset["host_id"] == "host-b"
    hidden = tmp_path / "hidden.bin"
    os.rename(f, hidden)  # what host A sees: nothing at that path
    try:
        swept = cli.ok("data", "sweep", user="olga", tenant="acme", env={**A, "SHIFTY_NOW": LATER})
    finally:
        os.rename(hidden, f)
    assert swept["deleted"] == [] and swept["failures"] == []
    waiting = swept["waiting_for_host"]
    assert [(w["asset_id"], w["host_name"], w["state"]) for w in waiting] == [
        (asset["id"], "host-b", "waiting_for_host")
    ]
    assert _status(cli, asset["id"]) == "active"
    assert cli.ok("data", "delete", "list", tenant="acme") == []

    owed = cli.ok(
        "data", "sweep", "--host", user="olga", tenant="acme", env={**A, "SHIFTY_NOW": LATER}
    )
    assert [(h["host_name"], h["due_assets"], h["this_host"]) for h in owed] == [
        ("host-b", 1, False)
    ]
    table = cli("data", "sweep", "--host", user="olga", tenant="acme", fmt="table", env=B)
    assert table.exit_code == 0

    swept_b = cli.ok("data", "sweep", user="olga", tenant="acme", env={**B, "SHIFTY_NOW": LATER})
    assert [d["asset_id"] for d in swept_b["deleted"]] == [asset["id"]]
    assert swept_b["deleted"][0]["certificate_id"] and swept_b["waiting_for_host"] == []
    assert not f.exists()
    assert _status(cli, asset["id"]) == "deleted"
    cert = cli.ok(
        "data", "certificate", "show", swept_b["deleted"][0]["certificate_id"], tenant="acme"
    )
    assert cert["certificate"]["media"][0]["details"]["host"]["host_id"] == "host-b"


def test_execute_erases_this_hosts_items_only(cli: Any, two_hosts: dict[str, Path]) -> None:
    """On main, ``data delete execute`` on host A of a job with a file on A and one on B erases
    A's file and certifies B's as absent (or erases it, when the path resolves on A too).

    Here A erases its own file; the job waits for host-b (no certificate yet); B's execute
    erases B's file and the job completes with one certificate covering both.
    """
    fa = make_file(two_hosts["a"] / "a.bin", 128)
    fb = make_file(two_hosts["b"] / "b.bin", 128)
    a = _register(cli, "on-a", fa, env=A).json
    b = _register(cli, "on-b", fb, env=B).json
    job = cli.ok(
        "data", "delete", "request", a["id"], b["id"], "--method", "secure_overwrite",
        "--reason", "contract ended", user="olga", tenant="acme", env=A,
    )  # fmt: skip
    cli.ok("data", "delete", "approve", job["id"], tenant="acme")

    on_a = cli.ok(
        "data", "delete", "execute", job["id"], "--yes", user="olga", tenant="acme", env=A
    )
    assert on_a["status"] == "waiting_for_host" and on_a["certificate_id"] is None
    assert [w["host_name"] for w in on_a["waiting_for_host"]] == ["host-b"]
    items = {i["asset_id"]: i["status"] for i in on_a["items"]}
    assert items == {a["id"]: "erased", b["id"]: "waiting_for_host"}
    assert not fa.exists() and fb.exists()
    assert _status(cli, a["id"]) == "deleted" and _status(cli, b["id"]) == "active"
    # A again: nothing of its own left, nothing changes
    again = cli.ok(
        "data", "delete", "execute", job["id"], "--yes", user="olga", tenant="acme", env=A
    )
    assert again["status"] == "waiting_for_host"
    assert fb.exists()
    # cannot be cancelled half done
    res = cli("data", "delete", "cancel", job["id"], "--reason", "x", tenant="acme")
    assert res.exit_code == 5

    on_b = cli.ok(
        "data", "delete", "execute", job["id"], "--yes", user="olga", tenant="acme", env=B
    )
    assert on_b["status"] == "completed" and on_b["certificate_id"]
    assert not fb.exists() and _status(cli, b["id"]) == "deleted"
    cert = cli.ok("data", "certificate", "show", on_b["certificate_id"], tenant="acme")
    media = {m["asset_id"]: m for m in cert["certificate"]["media"]}
    assert {m["status"] for m in media.values()} == {"erased"}
    assert media[a["id"]]["details"]["host"]["host_id"] == "host-a"
    assert media[b["id"]]["details"]["host"]["host_id"] == "host-b"
    verified = cli.ok("data", "certificate", "verify", on_b["certificate_id"], tenant="acme")
    assert verified["valid"] is True


def test_workspace_belongs_to_its_host(cli: Any, tenant: Any) -> None:
    ws = cli.ok(
        "data", "workspace", "create", "--type", "scratch", "--size", "1M", "--ttl", "1h",
        user="olga", tenant="acme", env=B,
    )  # fmt: skip
    assert ws["host_id"] == "host-b"
    res = cli("data", "workspace", "destroy", ws["id"], "--yes", user="olga", tenant="acme", env=A)
    assert res.exit_code == 4 and "host-b" in res.error["message"]
    swept = cli.ok("data", "sweep", user="olga", tenant="acme", env={**A, "SHIFTY_NOW": LATER})
    assert swept["workspaces_destroyed"] == []
    assert [w.get("workspace_id") for w in swept["waiting_for_host"]] == [ws["id"]]
    swept_b = cli.ok("data", "sweep", user="olga", tenant="acme", env={**B, "SHIFTY_NOW": LATER})
    assert [w["workspace_id"] for w in swept_b["workspaces_destroyed"]] == [ws["id"]]
    assert not Path(ws["path"]).exists()


def test_concurrent_root_additions_cannot_overlap(
    make_context: Any, cli: Any, tenant: Any, tmp_path: Path
) -> None:
    """Two administrators give overlapping directories to two tenants at the same moment: the
    second waits for the first (advisory lock on PostgreSQL, the write lock on SQLite) and is
    refused. Without the lock, PostgreSQL's READ COMMITTED would let both in."""
    import threading
    import time

    from shifty_ent.core.errors import Refused
    from shifty_ent.data import roots

    cli.ok("tenant", "create", "beta")
    outer, inner = _dir(tmp_path / "x"), _dir(tmp_path / "x" / "y")
    first_added = threading.Event()
    outcome: dict[str, Any] = {}

    def first() -> None:
        with make_context(tenant="acme") as ctx:
            roots.add_root(ctx.session, ctx.tenant, str(outer), actor="alice", host=ctx.host)
            first_added.set()
            time.sleep(0.5)  # still uncommitted while the second one tries

    def second() -> None:
        first_added.wait(10)
        try:
            with make_context(tenant="beta") as ctx:
                roots.add_root(ctx.session, ctx.tenant, str(inner), actor="alice", host=ctx.host)
            outcome["second"] = "added"
        except Refused as exc:
            outcome["second"] = exc.message

    threads = [threading.Thread(target=first), threading.Thread(target=second)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(60)
    assert "overlaps" in outcome["second"]
    assert [r["tenant"] for r in cli.ok("tenant", "root", "list")] == ["acme"]
