"""Engine and session factory for SQLite and PostgreSQL, and the migration entry points.

SQLite: WAL, ``foreign_keys=ON``, ``busy_timeout``, ``secure_delete=ON`` and every transaction
started with ``BEGIN IMMEDIATE``. The last one matters: a deferred transaction that reads and then
writes fails at once with SQLITE_BUSY when another process committed in between, while IMMEDIATE
takes the write lock first and waits up to ``busy_timeout`` for it. Services must therefore commit
before long work that does not touch the database. A wait longer than 2 s says so on stderr; one
longer than ``SHIFTY_BUSY_TIMEOUT`` seconds (default 30) ends as "store busy" (exit 5).

Commands that only read (listings, ``show``) open SQLite through :func:`get_reader`: the file is
opened ``mode=ro`` with ``query_only``, transactions are ``DEFERRED`` (a WAL reader takes no lock,
so a long writer never delays it) and, on a read-only file system, ``immutable``.

PostgreSQL: ``postgresql://`` URLs are given the psycopg 3 driver; a schema behind the code's
migrations is refused with a message naming ``shifty-ent db upgrade``.
"""

from __future__ import annotations

import importlib
import os
import pkgutil
import re
import sqlite3
import sys
import time
from dataclasses import dataclass
from functools import cache
from pathlib import Path
from typing import Any

from sqlalchemy import Engine, create_engine, event, text
from sqlalchemy.exc import OperationalError
from sqlalchemy.pool import NullPool
from sqlmodel import Session

from shifty_ent.core import outfiles, storable
from shifty_ent.core.canonical import compact_json
from shifty_ent.core.errors import Conflict, ExternalServiceError, InvalidInput, Refused

MIGRATIONS_DIR = Path(__file__).parent / "migrations"
SQLITE_BUSY_TIMEOUT_MS = 30_000  # default of SHIFTY_BUSY_TIMEOUT
BUSY_NOTICE_S = 2.0  # a wait for the write lock longer than this is announced on stderr
_REV = re.compile(r"^revision\s*(?::\s*str\s*)?=\s*['\"]([^'\"]+)['\"]", re.M)
# a merge revision's tuple may span lines
_DOWN = re.compile(r"^down_revision\s*(?::[^=]+)?=\s*(\([^)]*\)|.+)$", re.M)


def normalize_url(url: str) -> str:
    """Accept ``postgres://`` and ``postgresql://`` and use the psycopg 3 driver for both."""
    for prefix in ("postgres://", "postgresql://"):
        if url.startswith(prefix):
            return "postgresql+psycopg://" + url[len(prefix) :]
    if not (url.startswith("sqlite") or url.startswith("postgresql+")):
        raise InvalidInput(
            f"unsupported database URL {url.split('://')[0]!r}: use sqlite or postgresql"
        )
    return url


def sqlite_path(url: str) -> Path | None:
    if not url.startswith("sqlite:///"):
        return None
    raw = url[len("sqlite:///") :].split("?", 1)[0]
    return None if raw in ("", ":memory:") else Path(raw)


def _prepare_sqlite_file(path: Path) -> None:
    """Create the database file owner-only (0600) before SQLite creates it world-readable."""
    outfiles.private_dir(path.parent)
    if not path.exists():
        fd = os.open(path, os.O_CREAT | os.O_WRONLY, 0o600)
        os.close(fd)


def _sqlite_on_connect(dbapi_conn: Any, _record: Any) -> None:
    dbapi_conn.isolation_level = None  # we issue BEGIN ourselves
    cur = dbapi_conn.cursor()
    cur.execute(f"PRAGMA busy_timeout={int(busy_timeout_s() * 1000)}")
    cur.execute("PRAGMA journal_mode=WAL")
    cur.execute("PRAGMA foreign_keys=ON")
    cur.execute("PRAGMA secure_delete=ON")
    cur.execute("PRAGMA synchronous=NORMAL")
    cur.close()


def _sqlite_reader_on_connect(dbapi_conn: Any, _record: Any) -> None:
    """A reader changes nothing, not even the journal mode; ``query_only`` makes any write a
    loud error instead of a silent lock."""
    dbapi_conn.isolation_level = None
    cur = dbapi_conn.cursor()
    cur.execute(f"PRAGMA busy_timeout={int(busy_timeout_s() * 1000)}")
    cur.execute("PRAGMA query_only=ON")
    cur.execute("PRAGMA foreign_keys=ON")
    cur.close()


def _sqlite_reader_on_begin(conn: Any) -> None:
    conn.connection.dbapi_connection.execute("BEGIN DEFERRED")


def read_only_fs(path: Path) -> bool:
    """True when the file system holding ``path`` is mounted read-only (root ignores modes)."""
    try:
        return bool(os.statvfs(path.parent).f_flag & os.ST_RDONLY)
    except OSError:
        return False


def busy_timeout_s() -> float:
    """Seconds a command waits for a busy SQLite store: ``SHIFTY_BUSY_TIMEOUT`` (0.1 to 3600),
    default 30."""
    from shifty_ent.core.inputs import number

    raw = os.environ.get("SHIFTY_BUSY_TIMEOUT", "").strip()
    if not raw:
        return SQLITE_BUSY_TIMEOUT_MS / 1000
    return number(raw, "SHIFTY_BUSY_TIMEOUT", minimum=0.1, maximum=3600)


def _sqlite_on_begin(conn: Any) -> None:
    """``BEGIN IMMEDIATE`` (or the mode asked for), waiting for another writer: after
    :data:`BUSY_NOTICE_S` one line on stderr, after :func:`busy_timeout_s` exit 5."""
    mode = conn.get_execution_options().get("sqlite_begin", "IMMEDIATE")
    raw = conn.connection.dbapi_connection
    timeout = busy_timeout_s()
    start = time.monotonic()
    announced = False
    while True:
        left = timeout - (time.monotonic() - start)
        wait = left if announced else min(left, BUSY_NOTICE_S)
        raw.execute(f"PRAGMA busy_timeout={max(0, int(wait * 1000))}")
        try:
            raw.execute(f"BEGIN {mode}")
        except sqlite3.OperationalError as exc:
            if "locked" not in str(exc) and "busy" not in str(exc):
                raise
        else:
            raw.execute(f"PRAGMA busy_timeout={int(timeout * 1000)}")
            return
        if time.monotonic() - start >= timeout - 0.001:
            raise Conflict(
                f"store busy: another command has held the database's write lock for over "
                f"{timeout:g} s; try again (SHIFTY_BUSY_TIMEOUT sets the wait)"
            )
        if not announced:
            announced = True
            print(
                f"shifty-ent: store busy, waiting up to {timeout:g} s for another command",
                file=sys.stderr,
                flush=True,
            )


@cache
def get_engine(url: str) -> Engine:
    """One engine per URL per process."""
    url = normalize_url(url)
    if url.startswith("sqlite"):
        path = sqlite_path(url)
        if path is not None:
            _prepare_sqlite_file(path)
        # JSON columns as compact, sorted text: the audit chain's details are then stored in the
        # very form that was hashed, and the chain check hashes them without re-encoding
        engine = create_engine(
            url,
            connect_args={"timeout": busy_timeout_s()},
            json_serializer=storable.guarded_json(compact_json),
        )
        event.listen(engine, "connect", _sqlite_on_connect)
        event.listen(engine, "begin", _sqlite_on_begin)
        storable.install_guard(engine)
        return engine
    engine = create_engine(
        url,
        pool_pre_ping=True,
        connect_args={"connect_timeout": 5, "application_name": "shifty-ent"},
    )
    storable.install_guard(engine)
    return engine


@cache
def get_reader(url: str) -> Engine | None:
    """An engine that can only read an existing SQLite file, or None (PostgreSQL, memory, or no
    file yet: those go through :func:`get_engine`).

    ``mode=ro`` needs the WAL index (``-shm``) to exist or be creatable; on a read-only file
    system nobody can be writing, so the file is opened ``immutable`` and SQLite skips locking.
    """
    url = normalize_url(url)
    path = sqlite_path(url)
    if not url.startswith("sqlite") or path is None or not path.is_file():
        return None
    from urllib.parse import quote

    flags = "mode=ro&immutable=1" if read_only_fs(path) else "mode=ro"
    engine = create_engine(
        f"sqlite:///file:{quote(str(path.resolve()))}?{flags}&uri=true",
        connect_args={"timeout": busy_timeout_s()},
        json_serializer=compact_json,
        # no pool: a kept connection would go on reading a file that was since replaced
        poolclass=NullPool,
    )
    event.listen(engine, "connect", _sqlite_reader_on_connect)
    event.listen(engine, "begin", _sqlite_reader_on_begin)
    return engine


def describe_url(url: str) -> str:
    """A URL safe to print: no password."""
    from shifty_ent.core.config import mask_url_password

    return mask_url_password(url)


def connection_error(url: str, exc: Exception) -> ExternalServiceError:
    reason = str(getattr(exc, "orig", exc)).strip().splitlines()[0] if str(exc) else repr(exc)
    return ExternalServiceError(f"cannot connect to database {describe_url(url)}: {reason}")


def load_all_tables() -> None:
    """Import every module that defines tables, so metadata (and Alembic) sees all of them."""
    import shifty_ent

    importlib.import_module("shifty_ent.core.tables")
    for info in pkgutil.iter_modules(shifty_ent.__path__):
        if not info.ispkg or info.name == "core":
            continue
        name = f"shifty_ent.{info.name}.tables"
        if importlib.util.find_spec(name) is not None:
            importlib.import_module(name)


def script_heads() -> set[str]:
    """Head revisions of the shipped migrations, read from the files (no Alembic import)."""
    revisions: set[str] = set()
    downs: set[str] = set()
    for path in (MIGRATIONS_DIR / "versions").glob("*.py"):
        source = path.read_text(encoding="utf-8")
        rev = _REV.search(source)
        if not rev:
            continue
        revisions.add(rev.group(1))
        down = _DOWN.search(source)
        if down:
            downs.update(re.findall(r"['\"]([^'\"]+)['\"]", down.group(1)))
    return revisions - downs


@dataclass(frozen=True)
class StoreFacts:
    """What every command needs to know about the store before it starts, read in one go."""

    heads: frozenset[str]
    identity_mode: str | None
    session_user: str | None


def probe(engine: Engine) -> StoreFacts:
    """Schema revisions, the recorded identity mode and (PostgreSQL) the ``session_user``.

    Two statements on either database, as the schema check alone took before identity existed:
    one asks which tables exist (and who the connection is), one reads the revisions and the mode.
    """
    with engine.connect() as conn:
        if conn.dialect.name == "sqlite":
            names = {
                row[0]
                for row in conn.exec_driver_sql(
                    "SELECT name FROM sqlite_master WHERE type='table' "
                    "AND name IN ('alembic_version', 'installation')"
                )
            }
            session_user = None
        else:
            row = conn.execute(
                text(
                    "SELECT to_regclass('alembic_version') IS NOT NULL, "
                    "to_regclass('installation') IS NOT NULL, session_user"
                )
            ).one()
            names = {n for n, ok in (("alembic_version", row[0]), ("installation", row[1])) if ok}
            session_user = row[2]
        if "alembic_version" not in names:
            return StoreFacts(frozenset(), None, session_user)
        sql = "SELECT version_num, NULL FROM alembic_version"
        if "installation" in names:
            sql += " UNION ALL SELECT NULL, identity_mode FROM installation WHERE id = 1"
        heads: set[str] = set()
        mode = None
        for version, recorded in conn.execute(text(sql)):
            if version is not None:
                heads.add(version)
            else:
                mode = recorded
        return StoreFacts(frozenset(heads), mode, session_user)


def current_heads(engine: Engine) -> set[str]:
    return set(probe(engine).heads)


def alembic_config(engine: Engine, connection: Any = None) -> Any:
    from alembic.config import Config

    cfg = Config()
    cfg.set_main_option("script_location", str(MIGRATIONS_DIR))
    cfg.set_main_option("sqlalchemy.url", engine.url.render_as_string(hide_password=False))
    cfg.attributes["connection"] = connection
    return cfg


def upgrade(engine: Engine, target: str = "heads") -> tuple[set[str], set[str]]:
    """Apply migrations up to ``target``; returns (before, after) head sets."""
    from alembic import command

    before = current_heads(engine)
    with engine.begin() as conn:
        command.upgrade(alembic_config(engine, conn), target)
    return before, current_heads(engine)


def ensure_schema(engine: Engine, *, auto_upgrade: bool) -> StoreFacts:
    """Upgrade an embedded SQLite store; refuse a shared PostgreSQL schema that is behind."""
    try:
        facts = probe(engine)
    except OperationalError as exc:
        raise connection_error(str(engine.url), exc) from None
    current = set(facts.heads)
    heads = script_heads()
    if current == heads:
        return facts
    unknown = current - heads
    if unknown and not (current & heads) and not _is_ancestor_set(current, heads):
        raise Refused(
            f"database schema {sorted(unknown)} is newer than this shifty-ent; upgrade shifty-ent"
        )
    if auto_upgrade:
        upgrade(engine)
        return probe(engine)
    raise Refused(
        f"database schema at {describe_url(str(engine.url))} is behind this shifty-ent "
        f"(at {sorted(current) or 'empty'}, needs {sorted(heads)}); run: shifty-ent db upgrade"
    )


def _is_ancestor_set(current: set[str], heads: set[str]) -> bool:
    """True when every current revision is a known (older) revision of the shipped scripts."""
    known: set[str] = set()
    for path in (MIGRATIONS_DIR / "versions").glob("*.py"):
        rev = _REV.search(path.read_text(encoding="utf-8"))
        if rev:
            known.add(rev.group(1))
    return current <= known


def new_session(engine: Engine) -> Session:
    return Session(engine, expire_on_commit=False)
