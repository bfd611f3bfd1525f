"""Typed input is strict: one line and exit 2 (or 6 for a full disk), never a traceback.

Reproduction on main: ``data workspace create --size 99999999999999999999999999`` ended in
``OverflowError`` (exit 1) inside the SQLite driver; ``data asset list --status $'\\udcff'`` ended
in ``UnicodeEncodeError``; ``arcade grant --xp 1_000``, ``data workspace create --ttl " 5 "`` and
``gpu budget set --hourly 1e-400`` (stored as zero) were accepted; ``model eval record --metric
acc=-1`` was stored; an ``ENOSPC`` from a write was "unexpected OSError" (exit 1).
"""

from __future__ import annotations

import errno
from typing import Any

import pytest

from shifty_ent.core.errors import InvalidInput
from shifty_ent.core.inputs import size, strict_float, strict_int
from shifty_ent.model.evaluation import parse_metrics


@pytest.mark.parametrize("text", ["1_000", " 5", "5 ", "0x10", "1e3", "", "9" * 20, "١٢"])
def test_strict_int_refuses(text: str) -> None:
    with pytest.raises(ValueError):
        strict_int(text)


@pytest.mark.parametrize(
    ("text", "expected"), [("2G", 2 << 30), ("512MiB", 512 << 20), ("1000000", 1_000_000)]
)
def test_size_reads_binary_units(text: str, expected: int) -> None:
    assert size(text) == expected


@pytest.mark.parametrize("text", ["0", " 5", "5\n", "2X", "1_000", "2" + "0" * 20, "2000P"])
def test_size_refuses_nonsense_and_out_of_range(text: str) -> None:
    with pytest.raises(InvalidInput):
        size(text)


def test_size_zero_only_where_allowed() -> None:
    """An asset may be empty (``--size 0``); a workspace allocation may not."""
    assert size("0", minimum=0) == 0


@pytest.mark.parametrize("text", ["1e-400", "1e400", "nan", "inf", "1_0.5", " 1.5", "0x1p3"])
def test_strict_float_refuses(text: str) -> None:
    with pytest.raises(ValueError):
        strict_float(text)


def test_strict_numbers_accept_plain_forms() -> None:
    assert strict_int("-42") == -42 and strict_int(7) == 7
    assert strict_float("0.25") == 0.25 and strict_float("1e-3") == 0.001 and strict_float("0") == 0


@pytest.mark.parametrize("metric", ["acc=-1", "accuracy=1.5", "f1=1e-400", "loss=1_0", "acc= 1"])
def test_metrics_range_and_form(metric: str) -> None:
    with pytest.raises(InvalidInput):
        parse_metrics([metric])
    assert parse_metrics(["acc=0.9", "loss=3.5"]) == {"acc": 0.9, "loss": 3.5}


def one_line(res: Any) -> str:
    lines = res.stderr.strip().splitlines()
    assert len(lines) == 1, res.stderr
    return lines[0]


def test_cli_refuses_hostile_numbers_and_text(cli: Any, tenant: Any) -> None:
    cases = [
        ("data", "workspace", "create", "--type", "scratch", "--size", "9" * 26, "--ttl", "1h"),
        ("data", "workspace", "create", "--type", "scratch", "--size", "1G", "--ttl", " 5 "),
        ("data", "workspace", "create", "--type", "scratch", "--size", " 1G", "--ttl", "1h"),
        ("data", "asset", "list", "--status", "\udcff"),
        ("tenant", "create", "bad\udcffname"),
        ("arcade", "grant", "lars", "--xp", "1_000", "--reason", "seed"),
        ("arcade", "grant", "lars", "--xp", "9" * 30, "--reason", "seed"),
        ("gpu", "budget", "set", "--hourly", "1e-400"),
        ("gpu", "budget", "set", "--hourly", "0.0000001"),
        ("gpu", "budget", "set", "--monthly", "1_000"),
        ("gpu", "budget", "set", "--monthly", " 5"),
    ]
    for args in cases:
        res = cli(*args, tenant="acme", fmt=None)
        assert res.exit_code == 2, (args, res.stderr)
        assert one_line(res).startswith("error: "), res.stderr
    budgets = cli.ok("gpu", "budget", "set", "--hourly", "1.25", tenant="acme")
    assert budgets


def test_full_disk_is_exit_6(capsys: pytest.CaptureFixture[str]) -> None:
    from shifty_ent.cli import run_with_boundary

    def full() -> None:
        raise OSError(errno.ENOSPC, "No space left on device", "/var/x")

    assert run_with_boundary(full, []) == 6
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "No space left on device" in err


def test_too_long_actor_refused_at_input(cli: Any, tenant: Any) -> None:
    """On PostgreSQL a 300-character actor used to reach the column (a database error)."""
    res = cli("user", "list", user="a" * 300, tenant="acme", fmt=None)
    assert res.exit_code == 2 and "1-128 characters" in one_line(res)
