"""Text vast.ai sends that no store can keep (a NUL in a status message) is kept escaped."""

from __future__ import annotations

from typing import Any

from tests.fakes.vastai import FakeVast
from tests.model.helpers import query


def test_status_message_with_nul_is_stored_escaped(
    gpu: Any, vast: FakeVast, rented: dict[str, Any], db_url: str
) -> None:
    """Reproduction: vast.ai reported ``status_msg`` "pull\\u0000failed"; ``gpu reconcile``
    ended with exit 1 on PostgreSQL (the driver refuses NUL). It now records the message with
    the NUL written as ``\\u0000`` and exits 0, on both backends alike."""
    pid = int(rented["provider_instance_id"])
    vast.set_status(pid, "running")
    vast.instances[pid].status_msg = "pull\x00failed \ud800"
    res = gpu("reconcile", tenant=None)
    assert res.exit_code == 0, res.stderr
    [(msg,)] = query(db_url, "SELECT status_msg FROM gpu_instances")
    assert msg == "pull\\u0000failed \\ud800"
