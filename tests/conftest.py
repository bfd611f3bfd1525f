"""Shared fixtures: isolated environment, a fresh database per test (SQLite and PostgreSQL), and a
CLI runner that parses JSON output.

Every database test runs on SQLite and, when ``SHIFTY_TEST_POSTGRES_URL`` is set, on PostgreSQL
too. Fresh databases are cheap: SQLite copies a migrated template file; PostgreSQL creates each
test's database from a migrated template database (``CREATE DATABASE ... TEMPLATE``).
"""

from __future__ import annotations

import json
import os
import shutil
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from typer.testing import CliRunner

PG_URL = os.environ.get("SHIFTY_TEST_POSTGRES_URL")
ISOLATED_PREFIXES = ("SHIFTY_", "VASTAI_", "HF_", "HUGGINGFACE_", "OLLAMA_", "DATABASE_URL")


@pytest.fixture(autouse=True)
def isolated_env(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """No test sees the developer's settings, files or services."""
    for key in list(os.environ):
        if key.startswith(ISOLATED_PREFIXES) and key != "SHIFTY_TEST_POSTGRES_URL":
            monkeypatch.delenv(key, raising=False)
    home = tmp_path / "shifty-home"
    home.mkdir()
    monkeypatch.setenv("SHIFTY_HOME", str(home))
    # a store a test creates on first use is a declared one (``--as`` free); identity tests
    # choose their mode themselves
    monkeypatch.setenv("SHIFTY_IDENTITY", "declared")
    monkeypatch.setenv("NO_COLOR", "1")
    monkeypatch.setenv("COLUMNS", "200")
    monkeypatch.setenv("HF_HUB_OFFLINE", "0")
    monkeypatch.setenv("HF_HUB_DISABLE_TELEMETRY", "1")
    return home


@pytest.fixture(autouse=True)
def retry_waits() -> Iterator[list[float]]:
    """Retries never sleep in tests: :func:`shifty_ent.core.retry.testing` records each wait the
    policy chose instead (this list), so a test can assert on them. A command a test starts in a
    child process waits for real."""
    from shifty_ent.core import retry

    with retry.testing() as waits:
        yield waits


# ---------------------------------------------------------------- databases


def declare_store(engine: Any, *, admin: str = "alice") -> None:
    """Make a migrated store a ``declared``-identity one: tests that are not about identity act
    as whoever ``--as`` names. ``admin`` is its installation administrator."""
    from shifty_ent.core import installation, store

    with store.new_session(engine) as session:
        installation.record(session, mode="declared", created_by=admin)
        session.commit()


@pytest.fixture(scope="session")
def sqlite_template(tmp_path_factory: pytest.TempPathFactory) -> Path:
    from shifty_ent.core import store

    path = tmp_path_factory.mktemp("tmpl") / "template.db"
    engine = store.get_engine(f"sqlite:///{path}")
    store.upgrade(engine)
    declare_store(engine)
    engine.dispose()
    store.get_engine.cache_clear()
    return path


def _pg_admin() -> Any:
    import psycopg

    from shifty_ent.core.store import normalize_url

    url = normalize_url(PG_URL or "").replace("postgresql+psycopg://", "postgresql://")
    return psycopg.connect(url, autocommit=True)


def _pg_url_for(dbname: str) -> str:
    from sqlalchemy.engine import make_url

    from shifty_ent.core.store import normalize_url

    return (
        make_url(normalize_url(PG_URL or ""))
        .set(database=dbname)
        .render_as_string(hide_password=False)
    )


@pytest.fixture(scope="session")
def pg_template() -> Iterator[str]:
    if not PG_URL:
        pytest.skip("SHIFTY_TEST_POSTGRES_URL not set")
    from shifty_ent.core import store

    name = f"shifty_tmpl_{os.getpid()}_{uuid.uuid4().hex[:6]}"
    with _pg_admin() as conn:
        conn.execute(f'CREATE DATABASE "{name}"')
    engine = store.get_engine(_pg_url_for(name))
    store.upgrade(engine)
    declare_store(engine)
    engine.dispose()
    store.get_engine.cache_clear()
    yield name
    with _pg_admin() as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


def _fresh_pg(template: str | None) -> str:
    name = f"shifty_t_{uuid.uuid4().hex[:12]}"
    with _pg_admin() as conn:
        if template:
            conn.execute(f'CREATE DATABASE "{name}" TEMPLATE "{template}"')
        else:
            conn.execute(f'CREATE DATABASE "{name}"')
    return name


def _drop_pg(name: str) -> None:
    from shifty_ent.core import store

    store.get_engine.cache_clear()
    with _pg_admin() as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


BACKENDS = ["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)]


@pytest.fixture(params=BACKENDS)
def backend(request: pytest.FixtureRequest) -> str:
    if request.param == "postgres" and not PG_URL:
        pytest.skip("SHIFTY_TEST_POSTGRES_URL not set")
    return request.param


@pytest.fixture
def db_url(backend: str, tmp_path: Path, request: pytest.FixtureRequest) -> Iterator[str]:
    """A fresh, migrated database for this test, on each backend."""
    from shifty_ent.core import store

    if backend == "sqlite":
        template = request.getfixturevalue("sqlite_template")
        path = tmp_path / "state.db"
        shutil.copyfile(template, path)
        os.chmod(path, 0o600)
        yield f"sqlite:///{path}"
        store.get_engine.cache_clear()
        store.get_reader.cache_clear()
        return
    template = request.getfixturevalue("pg_template")
    name = _fresh_pg(template)
    yield _pg_url_for(name)
    _drop_pg(name)


@pytest.fixture
def blank_db_url(backend: str, tmp_path: Path) -> Iterator[str]:
    """An empty database (no schema), for migration tests."""
    from shifty_ent.core import store

    if backend == "sqlite":
        yield f"sqlite:///{tmp_path / 'blank.db'}"
        store.get_engine.cache_clear()
        return
    name = _fresh_pg(None)
    yield _pg_url_for(name)
    _drop_pg(name)


# ---------------------------------------------------------------- CLI


@dataclass
class CliResult:
    exit_code: int
    stdout: str
    stderr: str
    exception: BaseException | None

    @property
    def json(self) -> Any:
        try:
            return json.loads(self.stdout)
        except json.JSONDecodeError as exc:  # pragma: no cover - shows what came instead
            raise AssertionError(
                f"stdout is not JSON ({exc}):\n{self.stdout}\nstderr:\n{self.stderr}"
            ) from None

    @property
    def error(self) -> dict[str, Any]:
        """The JSON error object printed on stderr with -o json."""
        return json.loads(self.stderr.strip().splitlines()[-1])["error"]


class Cli:
    """Run the app in-process: ``cli("tenant", "list", user="alice", tenant="acme")``."""

    def __init__(self, db_url: str | None) -> None:
        self.db_url = db_url
        self.runner = CliRunner()

    def __call__(
        self,
        *args: str,
        user: str | None = "alice",
        tenant: str | None = None,
        fmt: str | None = "json",
        input: str | None = None,
        env: dict[str, str] | None = None,
    ) -> CliResult:
        from shifty_ent.cli import app

        argv: list[str] = []
        if self.db_url:
            argv += ["--db", self.db_url]
        if user:
            argv += ["--as", user]
        if tenant:
            argv += ["--tenant", tenant]
        if fmt:
            argv += ["--output", fmt]
        argv += list(args)
        result = self.runner.invoke(app, argv, input=input, env=env, catch_exceptions=True)
        stderr = result.stderr if result.stderr_bytes is not None else ""
        return CliResult(result.exit_code, result.stdout, stderr, result.exception)

    def ok(self, *args: str, **kw: Any) -> Any:
        """Run and require exit 0; return parsed JSON output."""
        res = self(*args, **kw)
        assert res.exit_code == 0, f"exit {res.exit_code}\nstdout:{res.stdout}\nstderr:{res.stderr}"
        return res.json if kw.get("fmt", "json") in ("json",) and res.stdout.strip() else res


def approved_job(cli: Cli, target: str, method: str, reason: str) -> Any:
    """Request the deletion of ``target`` in ``acme`` as olga and approve it as alice (four
    eyes); returns the request's output (the job)."""
    job = cli.ok(
        "data",
        "delete",
        "request",
        target,
        "--method",
        method,
        "--reason",
        reason,
        user="olga",
        tenant="acme",
    )
    cli.ok("data", "delete", "approve", job["id"], user="alice", tenant="acme")
    return job


def erase(cli: Cli, target: str, method: str, reason: str) -> Any:
    """:func:`approved_job`, then executed as olga; returns the ``execute`` output."""
    job = approved_job(cli, target, method, reason)
    return cli.ok("data", "delete", "execute", job["id"], "--yes", user="olga", tenant="acme")


def compliance_report(cli: Cli, report_type: str, out: Path, fmt: str = "json") -> Path:
    """Write ``acme``'s compliance report of ``report_type`` to ``out`` as the auditor audrey."""
    cli.ok(
        "report",
        "compliance",
        "--type",
        report_type,
        "--format",
        fmt,
        "--out",
        str(out),
        tenant="acme",
        user="audrey",
    )
    return out


@pytest.fixture
def cli(db_url: str) -> Cli:
    return Cli(db_url)


@pytest.fixture
def tenant(cli: Cli) -> dict[str, Any]:
    """Tenant ``acme`` with alice (admin), olga (operator), lars (labeler), audrey (auditor)."""
    created = cli.ok("tenant", "create", "acme")
    for user, role in (("olga", "operator"), ("lars", "labeler"), ("audrey", "auditor")):
        cli.ok("user", "add", user, "--role", role, tenant="acme")
    return created


@pytest.fixture
def make_context(db_url: str) -> Any:
    """Open a service-level Context: ``with make_context(tenant="acme", user="alice") as ctx``."""
    from shifty_ent.core.config import load_settings
    from shifty_ent.core.context import open_context

    @contextmanager
    def _open(tenant: str | None = None, user: str = "alice", roles: tuple[str, ...] = ()) -> Any:
        settings = load_settings({"database_url": db_url, "tenant": tenant, "user": user})
        with open_context(settings, tenant="required" if tenant else "none", roles=roles) as ctx:
            yield ctx

    return _open
