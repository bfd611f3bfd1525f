"""State store: migrations, embedded SQLite defaults, PostgreSQL refusal, connection errors."""

from __future__ import annotations

import os
import stat
from pathlib import Path

from shifty_ent.core import store


def test_script_heads_match_alembic():
    from alembic.script import ScriptDirectory

    engine = store.get_engine("sqlite://")
    script = ScriptDirectory.from_config(store.alembic_config(engine))
    assert set(script.get_heads()) == store.script_heads()


def test_db_upgrade_current_check(blank_db_url):
    from tests.conftest import Cli

    cli = Cli(blank_db_url)
    res = cli("db", "check")
    assert res.exit_code == 4 and "shifty-ent db upgrade" in res.error["message"]
    up = cli.ok("db", "upgrade")
    assert up["before"] == [] and sorted(up["after"]) == sorted(store.script_heads())
    assert cli.ok("db", "check")["up_to_date"] is True
    again = cli.ok("db", "upgrade")
    assert again["changed"] is False


def test_postgres_behind_is_refused(blank_db_url, backend):
    from tests.conftest import Cli

    cli = Cli(blank_db_url)
    res = cli("tenant", "create", "acme")
    if backend == "postgres":
        assert res.exit_code == 4
        assert "run: shifty-ent db upgrade" in res.error["message"]
    else:  # the embedded store upgrades itself on first use
        assert res.exit_code == 0


def test_embedded_default_store(isolated_env: Path):
    from tests.conftest import Cli

    cli = Cli(None)
    cli.ok("tenant", "create", "acme")
    db = isolated_env / "state.db"
    assert db.exists()
    assert stat.S_IMODE(os.stat(db).st_mode) == 0o600
    engine = store.get_engine(f"sqlite:///{db}")
    with engine.connect() as conn:
        assert conn.exec_driver_sql("PRAGMA journal_mode").scalar() == "wal"
        assert conn.exec_driver_sql("PRAGMA foreign_keys").scalar() == 1
        assert conn.exec_driver_sql("PRAGMA secure_delete").scalar() == 1
        assert conn.exec_driver_sql("PRAGMA busy_timeout").scalar() == 30000
    store.get_engine.cache_clear()


def test_unreachable_postgres_exits_6():
    from tests.conftest import Cli

    cli = Cli("postgresql://postgres@127.0.0.1:1/test")
    res = cli("tenant", "list", fmt=None)
    assert res.exit_code == 6
    lines = res.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("error: cannot connect to database")


def test_unsupported_url_is_invalid():
    from tests.conftest import Cli

    res = Cli("mysql://x@h/db")("tenant", "list")
    assert res.exit_code == 2


def test_postgres_url_without_driver_is_normalised():
    assert store.normalize_url("postgresql://u@h/db") == "postgresql+psycopg://u@h/db"
    assert store.normalize_url("postgres://u@h/db") == "postgresql+psycopg://u@h/db"
