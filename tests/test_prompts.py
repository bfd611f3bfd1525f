"""Destructive commands ask after the role check, take ``--yes``, and need it without a terminal."""

from __future__ import annotations

from pathlib import Path
from typing import Any

# Verbs that destroy or erase; a command named so must take --yes (and ask without it).
DESTRUCTIVE_VERBS = {
    "remove",
    "delete",
    "destroy",
    "terminate",
    "execute",
    "purge",
    "erase",
    "wipe",
}
# Commands that erase data although their name does not say so.
ERASING = {"data workspace destroy", "data delete execute"}
# The unattended cron job erases only what retention policies have made due (and a policy change
# that makes assets due at once already needs --yes); asking there would stop every cron run.
UNATTENDED = {"data sweep"}


def test_every_destructive_command_takes_yes() -> None:
    """On main, ``data workspace destroy`` erased with no prompt and had no ``--yes``, nor did
    ``data delete execute``, ``data policy delete``, ``tenant root remove``, ``report trust
    remove``."""
    from shifty_ent.devtools.reference import iter_commands

    missing, seen = [], set()
    for entry in iter_commands():
        if entry.is_group or entry.path in UNATTENDED:
            continue
        seen.add(entry.path)
        verb = entry.path.split()[-1]
        if verb in DESTRUCTIVE_VERBS or entry.path in ERASING:
            opts = {o for p in entry.command.params for o in getattr(p, "opts", [])}
            if "--yes" not in opts:
                missing.append(entry.path)
    assert seen >= ERASING and "user remove" in seen
    assert missing == []


def test_user_remove_checks_the_role_before_asking(cli: Any, tenant: Any) -> None:
    """On main ``user remove olga`` as lars (a labeller) asked for confirmation first (without a
    terminal: exit 2 "pass --yes"), and only then failed the role check."""
    res = cli("user", "remove", "olga", user="lars", tenant="acme", input="y\n")
    assert res.exit_code == 4, res.stderr
    assert "pass --yes" not in res.stderr and "Remove olga" not in res.stdout + res.stderr
    # an admin without --yes and without a terminal: one line, exit 2, nothing changed
    res = cli("user", "remove", "olga", user="alice", tenant="acme")
    assert res.exit_code == 2
    assert res.stderr.strip().count("\n") == 0 and "--yes" in res.stderr
    users = {u["user"] for u in cli.ok("user", "list", tenant="acme")}
    assert "olga" in users
    cli.ok("user", "remove", "olga", "--yes", tenant="acme")
    assert "olga" not in {u["user"] for u in cli.ok("user", "list", tenant="acme")}


def test_workspace_destroy_asks_and_needs_yes_without_a_terminal(cli: Any, tenant: Any) -> None:
    """On main ``data workspace destroy W`` erased at once, with no question and no ``--yes``."""
    ws = cli.ok(
        "data", "workspace", "create", "--type", "scratch", "--size", "1M", "--ttl", "1h",
        user="olga", tenant="acme",
    )  # fmt: skip
    path = Path(ws["path"])
    (path / "model.bin").write_bytes(b"x" * 1000)
    # a labeller is refused before any question
    res = cli("data", "workspace", "destroy", ws["id"], user="lars", tenant="acme")
    assert res.exit_code == 4 and "--yes" not in res.stderr
    res = cli("data", "workspace", "destroy", ws["id"], user="olga", tenant="acme")
    assert res.exit_code == 2, res.stderr
    assert res.stderr.strip().count("\n") == 0 and "pass --yes" in res.stderr
    assert (path / "model.bin").exists()
    shown = cli.ok("data", "workspace", "show", ws["id"], user="olga", tenant="acme")
    assert shown["status"] == "active"
    gone = cli.ok("data", "workspace", "destroy", ws["id"], "--yes", user="olga", tenant="acme")
    assert gone["status"] == "destroyed" and not path.exists()


def test_delete_execute_needs_yes_without_a_terminal(cli: Any, tenant: Any, tmp_path: Path) -> None:
    """``data delete execute J`` erases; without a terminal it needs ``--yes`` and changes
    nothing without it."""
    root = tmp_path / "root"
    root.mkdir()
    cli.ok("tenant", "root", "add", str(root), "-t", "acme")
    f = root / "a.bin"
    f.write_bytes(b"a" * 4096)
    asset = cli.ok(
        "data", "asset", "register", "a", "--type", "file", "-c", "internal",
        "--location", str(f), user="olga", tenant="acme",
    )  # fmt: skip
    job = cli.ok(
        "data", "delete", "request", asset["id"], "--method", "standard", "--reason", "r",
        user="olga", tenant="acme",
    )  # fmt: skip
    cli.ok("data", "delete", "approve", job["id"], user="alice", tenant="acme")
    res = cli("data", "delete", "execute", job["id"], user="olga", tenant="acme")
    assert res.exit_code == 2 and "pass --yes" in res.stderr and f.exists()
    done = cli.ok("data", "delete", "execute", job["id"], "--yes", user="olga", tenant="acme")
    assert done["status"] == "completed" and not f.exists()
