"""Which machine this is: a stable host id, so local files are bound to the host they live on.

With one PostgreSQL store shared by several cron hosts, a path means nothing without its host: a
file missing on host A may well exist on host B. Local assets, workspaces, vault copies and data
roots therefore carry the id of their host, and only that host erases or checks them.

The id is the systemd/D-Bus machine id (``/etc/machine-id``, else ``/var/lib/dbus/machine-id``),
else a random id generated once and kept in ``<data_dir>/host-id``. ``SHIFTY_HOST_ID`` overrides it
in ``declared``-identity stores only (sandboxes and tests simulating several hosts); any other
store refuses it, since naming another host's id would let this host act on that host's files.
"""

from __future__ import annotations

import os
import re
import secrets
import socket
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

from sqlalchemy.exc import IntegrityError
from sqlmodel import Session, col

from shifty_ent.core import outfiles
from shifty_ent.core.config import Settings
from shifty_ent.core.errors import InvalidInput

MACHINE_ID_FILES = (Path("/etc/machine-id"), Path("/var/lib/dbus/machine-id"))
_ID = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$")


@dataclass(frozen=True)
class HostInfo:
    id: str
    name: str

    def public(self) -> dict[str, str]:
        return {"host_id": self.id, "host_name": self.name}


def _read_id(path: Path) -> str | None:
    try:
        value = path.read_text(encoding="ascii", errors="replace").strip()
    except OSError:
        return None
    return value if _ID.match(value) else None


def _generated_id(data_dir: Path) -> str:
    """A random id created once (exclusively, 0600) under the data dir and reused after."""
    path = data_dir / "host-id"
    found = _read_id(path)
    if found:
        return found
    outfiles.private_dir(path.parent)
    value = secrets.token_hex(16)
    try:
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_CLOEXEC, 0o600)
    except FileExistsError:
        return _read_id(path) or value
    with os.fdopen(fd, "w", encoding="ascii") as fh:
        fh.write(value + "\n")
    return value


def check_override(settings: Settings, mode: str) -> None:
    """Refuse ``SHIFTY_HOST_ID`` (exit 2) outside declared stores; check its form inside."""
    if not settings.host_id:
        return
    if mode != "declared":
        raise InvalidInput(
            f"SHIFTY_HOST_ID is honoured only in declared-identity stores (this one is {mode!r}); "
            "unset it: the host id comes from /etc/machine-id"
        )
    if not _ID.match(settings.host_id):
        raise InvalidInput("SHIFTY_HOST_ID must be 1-64 letters, digits, '.', '_' or '-'")


def this_host(settings: Settings, mode: str) -> HostInfo:
    """The host this process runs on (its name is the override itself when one is given)."""
    check_override(settings, mode)
    if settings.host_id:
        return HostInfo(settings.host_id, settings.host_id)
    for path in MACHINE_ID_FILES:
        found = _read_id(path)
        if found:
            return HostInfo(found, socket.gethostname())
    return HostInfo(_generated_id(settings.data_dir), socket.gethostname())


def remember(session: Session, host: HostInfo, *, at: datetime | None = None) -> None:
    """Record the host (and its current name) so other hosts can say whom they wait for."""
    from shifty_ent.core.clock import now
    from shifty_ent.core.tables import Host

    when = at or now()
    row = session.get(Host, host.id)
    if row is None:
        try:
            with session.begin_nested():
                session.add(Host(id=host.id, name=host.name, first_seen_at=when, last_seen_at=when))
        except IntegrityError:  # another process recorded it first
            pass
        return
    if row.name != host.name:
        row.name, row.last_seen_at = host.name, when
        session.add(row)


def names(session: Session, ids: set[str]) -> dict[str, str]:
    """Host id -> last known name (the id itself for a host never recorded)."""
    from sqlalchemy import select

    from shifty_ent.core.tables import Host

    known: dict[str, str] = {}
    if ids:
        for hid, name in session.execute(
            select(col(Host.id), col(Host.name)).where(col(Host.id).in_(sorted(ids)))
        ).all():
            known[hid] = name
    return {i: known.get(i, i) for i in ids}
