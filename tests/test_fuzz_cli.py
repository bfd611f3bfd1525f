"""Hostile values for a representative set of commands: every answer is a documented exit code,
an error is exactly one line on stderr, and an error changes nothing (row counts, audit heads).

Bounded: a few dozen examples per command group, on each backend (SQLite always, PostgreSQL when
``SHIFTY_TEST_POSTGRES_URL`` is set), about 15 s per backend.

Reproduction on main (issue 17): ``arcade mission create --payload @/dev/zero`` (one of the
sampled values) read until memory ran out instead of answering.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import func, select, text
from sqlmodel import SQLModel

from shifty_ent.core import store

EXIT_CODES = {0, 2, 3, 4, 5, 6}
HOSTILE = [
    "", " ", "\t", "\x00", "\x1b[31m", "\r\n", "\udcff", "\ud800x", "é", "Ⅻ", "９", "٣",
    "a" * 5000, "../../etc/passwd", "/dev/zero", "@/dev/zero", "@/nonexistent", "-", "--",
    "-1", "0", "1_000", " 5 ", "1e999", "1e-400", "NaN", "inf", "-0", "0x10", "9" * 40,
    "'; DROP TABLE tenants; --", "%s%s%n", "{}", "[]", "null", '{"a":', "file:///etc",
    "s3://", "vault://x/y", "00000000-0000-0000-0000-000000000000", "\u202e", "\ufeff",
]  # fmt: skip
hostile_text = st.one_of(
    st.sampled_from(HOSTILE),
    st.text(st.characters(codec="utf-8", exclude_categories=()), max_size=40),
    st.text(max_size=300),
)
hostile_number = st.one_of(
    st.sampled_from(HOSTILE),
    st.integers().map(str),
    st.floats(allow_nan=True, allow_infinity=True).map(repr),
    st.text("0123456789.-+eE_ ", max_size=30),
)
FUZZ = settings(
    max_examples=25,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
    database=None,
)


def _snapshot(db_url: str) -> tuple[Any, ...]:
    """Every table's row count and every audit chain's head, in two round trips."""
    engine = store.get_engine(db_url)
    counts = select(
        *(
            select(func.count()).select_from(table).scalar_subquery()
            for table in SQLModel.metadata.sorted_tables
        )
    )
    with engine.connect() as conn:
        row = tuple(conn.execute(counts).one())
        heads = tuple(conn.execute(text("SELECT chain, seq, hash FROM audit_heads ORDER BY chain")))
        conn.rollback()
    return row, heads


@pytest.fixture
def check(cli: Any, db_url: str, tenant: Any) -> Callable[..., None]:
    def _check(*argv: str, user: str = "olga") -> None:
        before = _snapshot(db_url)
        res = cli(*argv, user=user, tenant="acme")
        assert res.exit_code in EXIT_CODES, (argv, res.exit_code, res.stderr)
        if res.exit_code != 0:
            lines = res.stderr.strip().splitlines()
            assert len(lines) == 1, (argv, res.stderr)
            assert _snapshot(db_url) == before, argv

    return _check


@FUZZ
@given(name=hostile_text, role=hostile_text)
def test_fuzz_tenancy(check: Callable[..., None], name: str, role: str) -> None:
    check("tenant", "create", name, user="alice")
    check("user", "add", name, "--role", role, user="alice")
    check("tenant", "show", name, user="alice")


@FUZZ
@given(
    name=hostile_text,
    classification=hostile_text,
    location=hostile_text,
    size=hostile_number,
    days=hostile_number,
)
def test_fuzz_data(
    check: Callable[..., None], name: str, classification: str, location: str, size: str, days: str
) -> None:
    check("data", "policy", "create", name, "-c", classification, "--retention-days", days)
    check(
        "data", "asset", "register", name, "--type", "dataset", "--classification",
        classification, "--location", location, "--size", size, "--no-hash",
    )  # fmt: skip
    check("data", "asset", "list", "--classification", classification, "--status", name)
    check("data", "asset", "show", name)
    check("data", "workspace", "create", "--type", name, "--size", size, "--ttl", days)


@FUZZ
@given(kind=hostile_text, payload=hostile_text, reward=hostile_number, overlap=hostile_number)
def test_fuzz_arcade(
    check: Callable[..., None], kind: str, payload: str, reward: str, overlap: str
) -> None:
    check(
        "arcade", "mission", "create", "--type", "label_test_output", "--payload", payload,
        "--reward", reward, "--overlap", overlap,
    )  # fmt: skip
    check("arcade", "mission", "create", "--type", kind, "--payload", "{}")
    check("arcade", "grant", "lars", "--xp", reward, "--reason", payload, user="alice")
    check("arcade", "mission", "show", kind)


@FUZZ
@given(hourly=hostile_number, monthly=hostile_number, ref=hostile_text)
def test_fuzz_gpu_model(check: Callable[..., None], hourly: str, monthly: str, ref: str) -> None:
    check("gpu", "budget", "set", "--hourly", hourly, "--monthly", monthly, user="alice")
    check("model", "show", ref)
    check("report", "list", "--start", ref, user="audrey")
