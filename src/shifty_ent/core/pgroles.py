"""Database logins for people in a ``postgres``-identity store.

There every person acts through their own LOGIN role, a member of the group role ``shifty_person``
(migration ``0010_pg_guard`` gives that group its privileges and policies). ``user add`` calls
:func:`provision`: when the acting role may create roles it creates the login (no password: the
DBA chooses how it authenticates) and grants the group; otherwise it says which SQL a DBA must run,
so that adding a user never silently leaves them unable to log in.
"""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import text
from sqlalchemy.exc import DBAPIError
from sqlmodel import Session

from shifty_ent.core.identity import name_key

PERSON_ROLE = "shifty_person"


@dataclass(frozen=True)
class Provisioned:
    role: str
    created: bool
    granted: bool
    dba_sql: str | None  # what a DBA must still run, when this session could not


def _quote(session: Session, name: str) -> str:
    return session.get_bind().dialect.identifier_preparer.quote_identifier(name)


def _find_role(session: Session, username: str) -> str | None:
    """The existing role that is this person: same name, or the same name key."""
    exact = session.scalar(text("SELECT rolname FROM pg_roles WHERE rolname = :n"), {"n": username})
    if exact is not None:
        return str(exact)
    key = name_key(username)
    for (rolname,) in session.execute(text("SELECT rolname FROM pg_roles WHERE rolcanlogin")):
        if name_key(rolname) == key:
            return str(rolname)
    return None


def _may_create(session: Session) -> bool:
    row = session.execute(
        text("SELECT rolsuper OR rolcreaterole FROM pg_roles WHERE rolname = current_user")
    ).first()
    return bool(row and row[0])


def _is_member(session: Session, role: str) -> bool:
    return bool(
        session.scalar(
            text(
                "SELECT EXISTS (SELECT 1 FROM pg_roles WHERE rolname = :g) "
                "AND pg_has_role(:r, :g, 'MEMBER')"
            ),
            {"r": role, "g": PERSON_ROLE},
        )
    )


def provision(session: Session, username: str) -> Provisioned | None:
    """Make sure ``username`` can log in as themselves; None outside ``postgres`` stores."""
    if session.info.get("identity_mode") != "postgres":
        return None
    if session.get_bind().dialect.name != "postgresql":
        return None
    role = _find_role(session, username)
    create = role is None
    role = role or username
    if not create and _is_member(session, role):
        return Provisioned(role, created=False, granted=False, dba_sql=None)
    quoted, group = _quote(session, role), _quote(session, PERSON_ROLE)
    statements = ([f"CREATE ROLE {quoted} LOGIN"] if create else []) + [
        f"GRANT {group} TO {quoted}"
    ]
    if _may_create(session):
        try:
            with session.begin_nested():
                for stmt in statements:
                    session.execute(text(stmt))
            return Provisioned(role, created=create, granted=True, dba_sql=None)
        except DBAPIError:
            pass  # e.g. PostgreSQL 16+: CREATEROLE without ADMIN OPTION on the group
    return Provisioned(role, created=False, granted=False, dba_sql="; ".join(statements) + ";")


NOTE_KEY = "shifty_pg_role_note"


def provision_and_tell(session: Session, username: str) -> Provisioned | None:
    """:func:`provision`, leaving a note (what was done, or what a DBA must run) in
    ``session.info[NOTE_KEY]`` for the command to print on stderr; the kernel prints nothing."""
    done = provision(session, username)
    if done is None or not (done.created or done.granted or done.dba_sql):
        return done
    if done.dba_sql:
        note = (
            f"{username!r} has no database login in group {PERSON_ROLE} yet, and this role may "
            f"not create one; a DBA must run: {done.dba_sql}"
        )
    else:
        what = "created login role" if done.created else "granted group to role"
        note = f"{what} {done.role!r} ({PERSON_ROLE}); set how it authenticates (pg_hba.conf)"
    session.info[NOTE_KEY] = note
    return done
