"""gpu test fixtures: a vast.ai fake on 127.0.0.1, wired in by VASTAI_URL and VASTAI_API_KEY."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest

from tests.fakes.vastai import FakeVast, cli_clock, serving


@pytest.fixture
def vast(monkeypatch: pytest.MonkeyPatch) -> Iterator[FakeVast]:
    with serving(FakeVast(clock=cli_clock), monkeypatch) as fake:
        yield fake


@pytest.fixture
def gpu(cli: Any, tenant: Any, vast: FakeVast) -> Any:
    """``gpu("provision", ...)`` runs ``shifty-ent gpu ...`` as alice in tenant acme."""

    def run(*args: str, user: str = "alice", tenant: str = "acme", **kw: Any) -> Any:
        return cli("gpu", *args, user=user, tenant=tenant, **kw)

    return run


@pytest.fixture
def at(monkeypatch: pytest.MonkeyPatch) -> Any:
    """Move the one clock (the CLI's and the fake's) to ``ts``."""

    def move(ts: str) -> None:
        monkeypatch.setenv("SHIFTY_NOW", ts)

    return move


@pytest.fixture
def rented(gpu: Any, vast: FakeVast, at: Any) -> Any:
    """dph_base 0.4333, storage 0.20 $/GB/month x 20 GB / 720 = 0.005556 $/h (micro-rounded)."""
    vast.boot_polls = 10**6
    vast.add_offer(1, dph_base=0.4333, storage_cost=0.20)
    at("2026-03-10T10:00:00Z")
    res = gpu("provision", "--type", "RTX_4090", "--max-price", "1", "--disk", "20")
    assert res.exit_code == 0, res.stderr
    return res.json
