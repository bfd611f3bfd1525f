"""Who is acting: the store's identity mode, how names compare, and how the actor is proven.

A store's mode is fixed when it is created and recorded in its ``installation`` row:

- ``os``: the actor is the OS account of the effective uid (SQLite; sharing a store file between
  accounts is a file-permission matter, and each account acts as itself);
- ``postgres``: the actor is the connection's ``session_user``: one LOGIN role per person and per
  cron host, so the database can enforce the same rules again;
- ``declared``: ``--as`` names the actor freely. For sandboxes, demos and tests only; every document
  such a store produces says ``identity: declared (not authenticated)``.

Names are compared by their NFKC case fold (:func:`name_key`), so ``Alice`` and ``ａｌｉｃｅ`` are
the same person to four-eyes rules, to role lookups and to the database's unique constraint.
"""

from __future__ import annotations

import os
import unicodedata
from typing import Any

from shifty_ent.core.errors import InvalidInput, PermissionDenied, Refused

MODES = ("os", "postgres", "declared")
DECLARED_NOTICE = "declared (not authenticated)"
NAME_MAX = 128
_NAME_EXTRA = set("-_.@")


def default_mode(dialect: str) -> str:
    return "postgres" if dialect == "postgresql" else "os"


def check_mode(mode: str, dialect: str) -> str:
    """Refuse a mode that cannot prove anything on this kind of store."""
    mode = (mode or "").strip().lower()
    if mode not in MODES:
        raise InvalidInput(f"unknown identity mode {mode!r}; choose one of {', '.join(MODES)}")
    if mode == "postgres" and dialect != "postgresql":
        raise InvalidInput("identity mode 'postgres' needs a PostgreSQL store")
    if mode == "os" and dialect == "postgresql":
        raise InvalidInput(
            "identity mode 'os' cannot be proven to a shared PostgreSQL store; use 'postgres'"
        )
    return mode


def normalize_name(raw: str, what: str = "user name") -> str:
    """NFKC form of a person's name; refused when empty, too long or holding control characters."""
    if any(unicodedata.category(ch) in ("Cc", "Cf", "Cs", "Co", "Cn") for ch in raw or ""):
        raise InvalidInput(f"{what} contains control or unassigned characters; refused")
    name = unicodedata.normalize("NFKC", raw or "").strip()
    if not name or len(name) > NAME_MAX:
        raise InvalidInput(f"{what} must be 1-{NAME_MAX} characters")
    bad = sorted({ch for ch in name if not (ch.isalnum() or ch in _NAME_EXTRA)})
    if bad:
        raise InvalidInput(
            f"{what} {name!r} is not valid: use letters, digits, '-', '_', '.' or '@'"
        )
    if len(name) == 36 and name.count("-") == 4:
        raise InvalidInput(f"{what} {name!r} looks like a UUID; choose a name")
    return name


def name_key(name: str) -> str:
    """The form names are compared and stored unique in: NFKC, then case-folded."""
    return unicodedata.normalize("NFKC", name).casefold()


def same_person(a: str | None, b: str | None) -> bool:
    return a is not None and b is not None and name_key(a) == name_key(b)


def os_account() -> str:
    """Login name of the effective uid (not ``$USER``, which anyone can set)."""
    import pwd

    try:
        return pwd.getpwuid(os.geteuid()).pw_name
    except KeyError:
        return f"uid{os.geteuid()}"


def real_identity(mode: str, session_user: str | None) -> str | None:
    """What the store can prove about the caller; None in declared stores."""
    if mode == "os":
        return os_account()
    if mode == "postgres":
        if not session_user:
            raise Refused("identity mode 'postgres' but the connection has no session_user")
        return session_user
    return None


def resolve_actor(mode: str, session_user: str | None, requested: str | None) -> str:
    """The acting user. Outside ``declared`` stores ``requested`` (``--as``, ``SHIFTY_USER``) may
    only name the real identity: anything else is refused (exit 4), never silently replaced."""
    real = real_identity(mode, session_user)
    if real is None:
        return normalize_name(requested or os_account())
    if requested is not None and not same_person(requested, real):
        source = "database login" if mode == "postgres" else "OS account"
        raise PermissionDenied(
            f"--as {requested!r} refused: this store proves who acts from the {source} "
            f"({real!r}); act as yourself or log in as {requested!r}"
        )
    return unicodedata.normalize("NFKC", real)


def stamp(mode: str) -> str:
    """How a document names the identity mode it was produced under."""
    return DECLARED_NOTICE if mode == "declared" else f"{mode} (authenticated)"


def describe(mode: str, actor: str) -> dict[str, Any]:
    return {"mode": mode, "actor": actor, "authenticated": mode != "declared"}
