"""SSH to a GPU instance with the system OpenSSH client (``ssh``), one multiplexed connection.

Why the binaries rather than a Python SSH library: they read the user's agent and keys as any
other tool does, speak every key type, and add no dependency. Every call shares one master
connection (``ControlMaster``), so polling a run costs a round trip, not a handshake.

Host keys: an instance's key is new to us, so the first connection accepts it
(``StrictHostKeyChecking=accept-new``) into a known-hosts file of our own and the caller stores
it with the job; every later connection, from any host, pins that key (``yes``). Checking is
never switched off.

Files travel as tar streams through ``ssh`` (``tar xf -`` on the instance): no SFTP subsystem is
needed there. Settings come from the environment:

- ``SHIFTY_SSH_KEY``: the private key registered with vast.ai (default: ssh's own choice);
- ``SHIFTY_SSH_USER``: the login (default ``root``, as on vast.ai images).
"""

from __future__ import annotations

import contextlib
import os
import shutil
import subprocess
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path
from typing import IO

from shifty_ent.core.errors import ExternalServiceError, InvalidInput

DEFAULT_USER = "root"
UNREACHABLE = 255  # ssh's own exit status: the connection failed, not the remote command


class SshError(ExternalServiceError):
    """The instance could not be reached, or a command there failed (exit 6)."""


@dataclass(frozen=True)
class Target:
    user: str
    host: str
    port: int

    def __str__(self) -> str:
        return f"{self.user}@{self.host}:{self.port}"


def default_user() -> str:
    return os.environ.get("SHIFTY_SSH_USER") or DEFAULT_USER


def key_path() -> Path | None:
    """The private key to offer, when one is configured (it must exist)."""
    raw = os.environ.get("SHIFTY_SSH_KEY")
    if not raw:
        return None
    path = Path(raw).expanduser()
    if not path.is_file():
        raise InvalidInput(f"SHIFTY_SSH_KEY names {path}, which is not a file")
    return path


def require_client() -> str:
    found = shutil.which("ssh")
    if found is None:
        raise InvalidInput("remote training needs the OpenSSH client ('ssh') on this host")
    return found


class Session:
    """Commands and file transfers to one instance; ``close()`` ends the master connection."""

    def __init__(self, target: Target, *, host_key: str | None = None) -> None:
        self.target = target
        self.binary = require_client()
        self.key = key_path()
        # a short directory: a control socket's path must fit in ~100 bytes
        self.dir = Path(tempfile.mkdtemp(prefix="se-ssh-"))
        self.known_hosts = self.dir / "known_hosts"
        self.known_hosts.write_text(host_key or "")
        self.pinned = bool(host_key)

    # ------------------------------------------------------------------ plumbing

    def options(self) -> list[str]:
        opts = [
            "-p",
            str(self.target.port),
            "-o",
            "BatchMode=yes",
            "-o",
            f"StrictHostKeyChecking={'yes' if self.pinned else 'accept-new'}",
            "-o",
            f"UserKnownHostsFile={self.known_hosts}",
            "-o",
            "GlobalKnownHostsFile=/dev/null",
            "-o",
            "ConnectTimeout=20",
            "-o",
            "ServerAliveInterval=15",
            "-o",
            "ServerAliveCountMax=4",
            "-o",
            "ControlMaster=auto",
            "-o",
            f"ControlPath={self.dir}/cm",
            "-o",
            "ControlPersist=120",
            "-o",
            "LogLevel=ERROR",
        ]
        if self.key is not None:
            opts += ["-i", str(self.key), "-o", "IdentitiesOnly=yes"]
        return opts

    def _argv(self, command: str) -> list[str]:
        return [
            self.binary,
            *self.options(),
            f"{self.target.user}@{self.target.host}",
            "--",
            command,
        ]

    def host_key(self) -> str | None:
        """The host key line(s) accepted at the first connection, to pin from now on."""
        text = self.known_hosts.read_text() if self.known_hosts.exists() else ""
        return text.strip() or None

    def run(
        self,
        command: str,
        *,
        stdin: bytes | IO[bytes] | None = None,
        timeout: float = 120.0,
        check: bool = True,
    ) -> subprocess.CompletedProcess[bytes]:
        """Run ``command`` through the remote login shell; raise :class:`SshError` when the
        connection fails, or (``check``) when the command exits non-zero."""
        argv = self._argv(command)
        try:
            if stdin is None or isinstance(stdin, bytes):
                done = subprocess.run(
                    argv,
                    input=stdin if stdin is not None else b"",
                    capture_output=True,
                    timeout=timeout,
                )
            else:
                done = subprocess.run(
                    argv, stdin=stdin, capture_output=True, timeout=timeout, check=False
                )
        except subprocess.TimeoutExpired:
            raise SshError(f"ssh to {self.target}: no answer within {timeout:g}s") from None
        if done.returncode == UNREACHABLE:
            raise SshError(f"ssh to {self.target} failed: {_last_line(done.stderr)}")
        if check and done.returncode != 0:
            raise SshError(
                f"command on {self.target} exited {done.returncode}: {_last_line(done.stderr)}"
            )
        return done

    def wait_ready(self, timeout: float, interval: float = 2.0) -> None:
        """Until the SSH server answers (a new instance starts it last); pins its key."""
        deadline = time.monotonic() + timeout
        while True:
            try:
                self.run("true", timeout=max(5.0, min(60.0, timeout)))
            except SshError as exc:
                if time.monotonic() + interval > deadline:
                    raise SshError(f"{exc.message} (for {timeout:g}s)") from None
                time.sleep(interval)
                continue
            break
        if not self.pinned and self.host_key():
            self.pinned = True

    def send_tar(self, archive: IO[bytes], remote_dir: str, *, timeout: float) -> None:
        """Unpack a tar stream into ``remote_dir`` (created) on the instance."""
        q = shell_quote(remote_dir)
        self.run(f"mkdir -p {q} && tar xf - -C {q}", stdin=archive, timeout=timeout)

    def fetch_tar(self, remote_dir: str, local: Path, *, timeout: float) -> Path:
        """``remote_dir`` as a tar file at ``local`` (unpacked by the caller, safely)."""
        q = shell_quote(remote_dir)
        argv = self._argv(f"tar cf - -C {q} .")
        try:
            with local.open("wb") as out:
                done = subprocess.run(argv, stdout=out, stderr=subprocess.PIPE, timeout=timeout)
        except subprocess.TimeoutExpired:
            raise SshError(
                f"copying {remote_dir} from {self.target} took over {timeout:g}s"
            ) from None
        if done.returncode != 0:
            raise SshError(f"copying {remote_dir} from {self.target}: {_last_line(done.stderr)}")
        return local

    def close(self) -> None:
        """End the master connection and forget the control directory."""
        with contextlib.suppress(OSError, subprocess.TimeoutExpired):
            subprocess.run(
                [
                    self.binary,
                    *self.options(),
                    "-O",
                    "exit",
                    f"{self.target.user}@{self.target.host}",
                ],
                capture_output=True,
                timeout=10,
            )
        shutil.rmtree(self.dir, ignore_errors=True)

    def __enter__(self) -> Session:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


def shell_quote(text: str) -> str:
    """Quote for the remote POSIX shell, keeping a leading ``~/`` expandable."""
    import shlex

    if text.startswith("~/"):
        return "~/" + shlex.quote(text[2:])
    return shlex.quote(text)


def _last_line(raw: bytes) -> str:
    lines = [ln for ln in raw.decode("utf-8", "replace").splitlines() if ln.strip()]
    return lines[-1].strip()[:300] if lines else "no message"
