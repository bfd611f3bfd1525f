"""Services behind ``init``, ``config show`` and ``db``: files on disk and schema revisions."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from sqlalchemy import text

from shifty_ent.core import audit, identity, installation, outfiles, store
from shifty_ent.core.config import Settings, write_default_config
from shifty_ent.core.errors import Refused, ShiftyError
from shifty_ent.core.signing import load_or_create_key, register_key


@dataclass
class InitResult:
    config_file: str
    config_created: bool
    signing_key: str
    signing_key_created: bool
    key_fingerprint: str
    database: str
    schema: list[str]
    data_dir: str
    identity_mode: str
    actor: str

    def public(self) -> dict[str, Any]:
        return dict(self.__dict__)


def _establish(
    settings: Settings, session: Any, *, mode: str | None, schema_changed: bool
) -> tuple[str, str]:
    """Record the installation (mode fixed from now on) or check it; returns (mode, actor).

    Whoever creates the store, or migrates its schema (which takes DDL rights), becomes an
    installation administrator."""
    dialect = session.get_bind().dialect.name
    row = installation.read(session)
    wanted = mode or settings.identity
    if row is None:
        chosen = identity.check_mode(wanted or identity.default_mode(dialect), dialect)
    else:
        chosen = row.identity_mode
        if wanted and identity.check_mode(wanted, dialect) != chosen:
            raise Refused(
                f"this store's identity mode is {chosen!r}, fixed when it was created; "
                f"it cannot become {wanted!r}"
            )
    session_user = session.scalar(text("SELECT session_user")) if dialect != "sqlite" else None
    actor = identity.resolve_actor(chosen, session_user, settings.user)
    if row is None:
        installation.record(session, mode=chosen, created_by=actor)
    elif schema_changed and not installation.is_admin(session, actor):
        installation.add_admin_unchecked(session, name=actor, reason="db upgrade")
    return chosen, actor


def init(settings: Settings, *, identity_mode: str | None = None) -> InitResult:
    """Create config file, signing key and database (migrated), each only if missing."""
    if identity_mode is not None:
        url = store.normalize_url(settings.database_url)
        identity.check_mode(identity_mode, "postgresql" if url.startswith("postgres") else "sqlite")
    config_created = write_default_config(settings)
    pair, key_created = load_or_create_key(settings.signing_key_path)
    engine = store.get_engine(settings.database_url)
    try:
        before, after = store.upgrade(engine)
    except Exception as exc:
        from sqlalchemy.exc import OperationalError

        if isinstance(exc, OperationalError):
            raise store.connection_error(settings.database_url, exc) from None
        raise
    with store.new_session(engine) as session:
        mode, actor = _establish(
            settings, session, mode=identity_mode, schema_changed=before != after
        )
        if register_key(session, pair, actor):
            audit.append(
                session,
                tenant_id=None,
                actor=actor,
                action="signing_key.register",
                target_type="signing_key",
                target_id=pair.fingerprint[:64],
                details={"fingerprint": pair.fingerprint, "public_key": pair.public_b64},
            )
        session.commit()
    for folder in (settings.vault_dir, settings.archive_dir, settings.workspace_dir):
        outfiles.private_dir(folder)
    return InitResult(
        config_file=str(settings.config_file),
        config_created=config_created,
        signing_key=str(settings.signing_key_path),
        signing_key_created=key_created,
        key_fingerprint=pair.fingerprint,
        database=store.describe_url(settings.database_url),
        schema=sorted(store.current_heads(engine)),
        data_dir=str(settings.data_dir),
        identity_mode=mode,
        actor=actor,
    )


def _engine(settings: Settings) -> Any:
    from sqlalchemy.exc import OperationalError

    engine = store.get_engine(settings.database_url)
    try:
        with engine.connect():
            pass
    except OperationalError as exc:
        raise store.connection_error(settings.database_url, exc) from None
    return engine


def db_status(settings: Settings) -> dict[str, Any]:
    engine = _engine(settings)
    current = store.current_heads(engine)
    heads = store.script_heads()
    return {
        "database": store.describe_url(settings.database_url),
        "dialect": engine.dialect.name,
        "current": sorted(current),
        "heads": sorted(heads),
        "up_to_date": current == heads,
    }


def db_upgrade(settings: Settings) -> dict[str, Any]:
    engine = _engine(settings)
    before, after = store.upgrade(engine)
    with store.new_session(engine) as session:
        mode, _actor = _establish(settings, session, mode=None, schema_changed=before != after)
        session.commit()
    return {
        "identity_mode": mode,
        "database": store.describe_url(settings.database_url),
        "before": sorted(before),
        "after": sorted(after),
        "changed": before != after,
    }


def db_check(settings: Settings) -> dict[str, Any]:
    """Refuse (exit 4) when the schema is behind, so CI and deploy scripts can gate on it."""
    status = db_status(settings)
    if not status["up_to_date"]:
        raise Refused(
            f"database schema is at {status['current'] or 'empty'}, code needs "
            f"{status['heads']}; run: shifty-ent db upgrade"
        )
    return status


def config_show(settings: Settings) -> dict[str, Any]:
    """Settings plus the store's identity facts (or why they could not be read)."""
    out = settings.masked()
    try:
        from shifty_ent.core.context import open_context

        with open_context(settings, tenant="none") as ctx:
            out["identity"] = {
                "value": {
                    "mode": ctx.identity_mode,
                    "actor": ctx.actor,
                    "authenticated": ctx.identity_mode != "declared",
                    "installation_admin": ctx.is_installation_admin(),
                },
                "source": "store",
            }
    except ShiftyError as exc:
        out["identity"] = {"value": None, "source": f"unavailable: {exc.message}"}
    return out
