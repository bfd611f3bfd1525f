"""Services behind ``init``, ``config show`` and ``db``: files on disk and schema revisions."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from shifty_ent.core import audit, store
from shifty_ent.core.config import Settings, write_default_config
from shifty_ent.core.errors import Refused
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

    def public(self) -> dict[str, Any]:
        return dict(self.__dict__)


def init(settings: Settings) -> InitResult:
    """Create config file, signing key and database (migrated), each only if missing."""
    config_created = write_default_config(settings)
    pair, key_created = load_or_create_key(settings.signing_key_path)
    engine = store.get_engine(settings.database_url)
    try:
        store.upgrade(engine)
    except Exception as exc:
        from sqlalchemy.exc import OperationalError

        if isinstance(exc, OperationalError):
            raise store.connection_error(settings.database_url, exc) from None
        raise
    with store.new_session(engine) as session:
        if register_key(session, pair, settings.user):
            audit.append(
                session,
                tenant_id=None,
                actor=settings.user,
                action="signing_key.register",
                target_type="signing_key",
                target_id=pair.fingerprint[:64],
                details={"fingerprint": pair.fingerprint, "public_key": pair.public_b64},
            )
        session.commit()
    for folder in (settings.vault_dir, settings.archive_dir, settings.workspace_dir):
        folder.mkdir(parents=True, exist_ok=True, mode=0o700)
    return InitResult(
        config_file=str(settings.config_file),
        config_created=config_created,
        signing_key=str(settings.signing_key_path),
        signing_key_created=key_created,
        key_fingerprint=pair.fingerprint,
        database=store.describe_url(settings.database_url),
        schema=sorted(store.current_heads(engine)),
        data_dir=str(settings.data_dir),
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
    return {
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
