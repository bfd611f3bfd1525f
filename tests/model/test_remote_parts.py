"""Parts of remote training that need neither SSH nor torch: the adapter's sha256 check, the
poll answer's parsing, and where vast.ai says an instance's SSH server listens."""

from __future__ import annotations

from pathlib import Path

import pytest


def test_a_tampered_adapter_is_refused(tmp_path: Path) -> None:
    """The sums the instance reported must match what arrived, file for file."""
    import tarfile

    from shifty_ent.core.errors import ExternalServiceError
    from shifty_ent.model.remote.ship import unpack_adapter
    from shifty_ent.model.remote.worker import digests

    src = tmp_path / "adapter"
    src.mkdir()
    (src / "adapter_model.safetensors").write_bytes(b"weights")
    sums = digests(src)
    archive = tmp_path / "a.tar"
    with tarfile.open(archive, "w") as tar:
        tar.add(src, arcname=".")
    out = tmp_path / "out"
    assert unpack_adapter(archive, out, sums) == sums
    (src / "adapter_model.safetensors").write_bytes(b"weightz")
    with tarfile.open(archive, "w") as tar:
        tar.add(src, arcname=".")
    with pytest.raises(ExternalServiceError, match="does not match"):
        unpack_adapter(archive, out, sums)
    assert not out.exists()


def test_a_poll_answer_is_read_past_a_login_banner() -> None:
    from shifty_ent.model.remote.runner import _parse_poll

    out = b'Welcome!\nalive=no\nresult={"status": "succeeded"}\n{"step": 1}\n{"step": 2'
    alive, result, chunk = _parse_poll(out)
    assert (alive, result) == (False, {"status": "succeeded"})
    assert chunk == b'{"step": 1}\n{"step": 2'
    alive, result, chunk = _parse_poll(b"alive=yes\n\n")
    assert (alive, result, chunk) == (True, None, b"")


def test_ssh_address_prefers_the_proxy_then_the_direct_port() -> None:
    from shifty_ent.gpu.ssh_access import SshEndpoint, endpoint_of
    from shifty_ent.gpu.vastai import ProviderInstance

    base = {"id": 1, "public_ipaddr": "203.0.113.7\n"}
    proxy = ProviderInstance.from_api({**base, "ssh_host": "ssh4.vast.ai", "ssh_port": 11610})
    assert endpoint_of(proxy) == SshEndpoint("ssh4.vast.ai", 11610)
    direct = ProviderInstance.from_api(
        {**base, "ssh_port": "x", "ports": {"22/tcp": [{"HostPort": "40022"}]}}
    )
    assert endpoint_of(direct) == SshEndpoint("203.0.113.7", 40022)
    assert endpoint_of(ProviderInstance.from_api(base)) is None
