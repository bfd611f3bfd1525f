"""Arcade fixtures: tenant ``acme`` with extra labellers, a clock, and answer helpers."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

T0 = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)  # a Monday
LABELLERS = ("lars", "lena", "lukas", "lea", "leo")


def at(t: datetime) -> dict[str, str]:
    return {"SHIFTY_NOW": t.isoformat()}


class Arcade:
    def __init__(self, cli: Any) -> None:
        self.cli = cli

    def run(self, *args: str, user: str = "alice", t: datetime = T0, **kw: Any) -> Any:
        return self.cli(
            "arcade", *args, user=user, tenant=kw.pop("tenant", "acme"), env=at(t), **kw
        )

    def ok(self, *args: str, user: str = "alice", t: datetime = T0, **kw: Any) -> Any:
        res = self.run(*args, user=user, t=t, **kw)
        assert res.exit_code == 0, f"exit {res.exit_code}\n{res.stdout}\n{res.stderr}"
        return res.json

    def create(
        self,
        type: str = "label_test_output",
        payload: dict | None = None,
        t: datetime = T0,
        **opts: Any,
    ) -> dict:
        args = [
            "mission",
            "create",
            "--type",
            type,
            "--payload",
            json.dumps(payload or _payload(type)),
        ]
        for key, value in opts.items():
            args += [f"--{key.replace('_', '-')}", str(value)]
        return self.ok(*args, user="olga", t=t)

    def answer(
        self, mission_id: str, user: str, option: str, t: datetime = T0, dwell: float = 30
    ) -> dict:
        self.ok("assign", mission_id, user=user, t=t)
        return self.ok(
            "complete", mission_id, "--option", option, user=user, t=t + timedelta(seconds=dwell)
        )

    def profile(self, user: str, t: datetime = T0) -> dict:
        return self.ok("profile", user, t=t)


def _payload(type: str) -> dict[str, Any]:
    return {
        "label_test_output": {"output": "PASS: login works", "test_name": "test_login"},
        "validate_selector": {"selector": "#submit"},
        "rate_test_quality": {"test_code": "def test_x(): assert 1"},
        "verify_fix": {"error": "KeyError: 'a'", "fix": "use .get('a')"},
        "classify_error": {"error": "TimeoutError after 30s"},
        "annotate_ui_element": {"element": "<button>OK</button>"},
        "review_model_output": {"input": "2+2?", "output": "4"},
        "approve_deployment": {"model": "summarizer", "version": 3},
    }[type]


@pytest.fixture
def arcade(cli: Any, tenant: Any) -> Arcade:
    for user in LABELLERS[1:]:
        cli.ok("user", "add", user, "--role", "labeler", tenant="acme")
    return Arcade(cli)
