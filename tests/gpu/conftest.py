"""gpu test fixtures: a vast.ai fake on 127.0.0.1, wired in by VASTAI_URL and VASTAI_API_KEY."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest

from tests.fakes.vastai import API_KEY, FakeVast


def _clock() -> float:
    from shifty_ent.core.clock import now

    return now().timestamp()  # follows SHIFTY_NOW, like the CLI


@pytest.fixture
def vast(monkeypatch: pytest.MonkeyPatch) -> Iterator[FakeVast]:
    fake = FakeVast(clock=_clock)
    with fake:
        monkeypatch.setenv("VASTAI_URL", fake.url)
        monkeypatch.setenv("VASTAI_API_KEY", API_KEY)
        monkeypatch.setenv("VASTAI_BACKOFF", "0.01")
        monkeypatch.setenv("VASTAI_TIMEOUT", "5")
        yield fake


@pytest.fixture
def gpu(cli: Any, tenant: Any, vast: FakeVast) -> Any:
    """``gpu("provision", ...)`` runs ``shifty-ent gpu ...`` as alice in tenant acme."""

    def run(*args: str, user: str = "alice", tenant: str = "acme", **kw: Any) -> Any:
        return cli("gpu", *args, user=user, tenant=tenant, **kw)

    return run
