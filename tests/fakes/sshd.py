"""A real OpenSSH server on 127.0.0.1 standing in for a GPU instance's SSH endpoint.

Debian's ``openssh-server`` runs with a config of its own in a temporary directory: a fresh host
key, key authentication only (the test's client key in its own ``AuthorizedKeysFile``), a free
loopback port, in the foreground (``-D -e``) so stopping the process stops the server. It logs in
as whoever runs the tests (root in CI). Commands then run on this machine: the "instance" trains
with the same Python as the tests.
"""

from __future__ import annotations

import getpass
import os
import shutil
import socket
import subprocess
import sys
import time
from pathlib import Path

import pytest

from tests.fakes.server import StartsAndStops

SSHD = "/usr/sbin/sshd"


def missing_reason() -> str | None:
    """Why these tests cannot run here, or None."""
    if not Path(SSHD).exists():
        return f"{SSHD} is missing (Debian package openssh-server; .ci/run installs it)"
    for tool in ("ssh", "ssh-keygen"):
        if shutil.which(tool) is None:
            return f"the OpenSSH client tool {tool!r} is missing"
    return None


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _keygen(path: Path) -> None:
    subprocess.run(
        ["ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-f", str(path)],
        check=True,
        capture_output=True,
    )


class Sshd(StartsAndStops):
    """``with Sshd(tmp) as server:`` serves on ``server.port``; ``server.client_key`` logs in."""

    def __init__(self, root: Path) -> None:
        self.root = root
        self.root.mkdir(parents=True, exist_ok=True)
        self.port = _free_port()
        self.user = getpass.getuser()
        self.host_key = root / "host_key"
        self.client_key = root / "client_key"
        self.log = root / "sshd.log"
        self.proc: subprocess.Popen[bytes] | None = None

    def start(self) -> Sshd:
        _keygen(self.host_key)
        _keygen(self.client_key)
        authorized = self.root / "authorized_keys"
        authorized.write_text(Path(f"{self.client_key}.pub").read_text())
        authorized.chmod(0o600)
        config = self.root / "sshd_config"
        config.write_text(
            "\n".join(
                [
                    f"HostKey {self.host_key}",
                    f"PidFile {self.root / 'sshd.pid'}",
                    f"AuthorizedKeysFile {authorized}",
                    "PubkeyAuthentication yes",
                    "PasswordAuthentication no",
                    "KbdInteractiveAuthentication no",
                    "UsePAM no",
                    "StrictModes no",
                    "PermitRootLogin prohibit-password",
                    f"AllowUsers {self.user}",
                    "MaxStartups 50:30:100",
                    "MaxSessions 50",
                    "",
                ]
            )
        )
        if os.geteuid() == 0:
            Path("/run/sshd").mkdir(mode=0o755, exist_ok=True)  # its privilege-separation dir
        self.proc = subprocess.Popen(
            [
                SSHD,
                "-f",
                str(config),
                "-D",
                "-e",
                "-p",
                str(self.port),
                "-o",
                "ListenAddress=127.0.0.1",
            ],
            stdout=self.log.open("wb"),
            stderr=subprocess.STDOUT,
        )
        deadline = time.monotonic() + 15
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError(f"sshd exited: {self.log.read_text()}")
            try:
                with socket.create_connection(("127.0.0.1", self.port), timeout=1):
                    return self
            except OSError:
                time.sleep(0.1)
        self.stop()
        raise RuntimeError(f"sshd did not listen: {self.log.read_text()}")

    def stop(self) -> None:
        if self.proc is not None and self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()


def use_as_instance(monkeypatch: pytest.MonkeyPatch, sshd: Sshd, root: Path, scratch: str) -> None:
    """Point the CLI at ``sshd`` as a rented instance: its client key and user, the tests' Python
    as the instance's, ``root`` as the instance's job directory, and ``scratch`` as TMPDIR (SSH
    control sockets live there, and their path must stay short)."""
    monkeypatch.setenv("TMPDIR", scratch)
    monkeypatch.setenv("SHIFTY_SSH_KEY", str(sshd.client_key))
    monkeypatch.setenv("SHIFTY_SSH_USER", sshd.user)
    monkeypatch.setenv("SHIFTY_REMOTE_PYTHON", sys.executable)
    monkeypatch.setenv("SHIFTY_REMOTE_DIR", str(root))
