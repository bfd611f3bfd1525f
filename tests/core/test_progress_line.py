"""The progress line an erasure draws: known total, pass n/N, throughput, ETA."""

from __future__ import annotations

import io

from shifty_ent.core.progress import Progress, TerminalProgress, for_terminal

GiB = 1024**3


def test_a_one_gib_dod_erase_shows_its_total_pass_rate_and_eta() -> None:
    """On main a 1 GiB ``dod_5220`` erase drew ``469.8/? MB`` and went on to ``7.3/? GB``: no
    total, no pass number, no ETA."""
    clock = [0.0]
    out = io.StringIO()
    shown = TerminalProgress("erasing", stream=out, clock=lambda: clock[0])
    shown.plan("big.bin", size=GiB, passes=7)
    for number in range(1, 8):
        shown.begin_pass(number)
        for _ in range(4):
            clock[0] += 0.5
            shown.advance(GiB // 4)
        if number == 3:
            line = shown.line()
            assert "pass 3/7" in line and "3.0 GiB/7.0 GiB (43%)" in line
            assert "512.0 MiB/s" in line and "ETA 0:00:08" in line
    assert "7.0 GiB/7.0 GiB (100%)" in shown.line() and "ETA 0:00:00" in shown.line()
    assert "/?" not in out.getvalue()
    shown.close()
    assert out.getvalue().endswith("\r")


def test_items_are_numbered() -> None:
    shown = TerminalProgress("sweep", stream=io.StringIO(), clock=lambda: 1.0)
    shown.item("asset customers", 2, 5)
    shown.plan("customers.csv", size=4096, passes=3)
    shown.begin_pass(1)
    assert shown.line().startswith("sweep  [2/5] asset customers  pass 1/3  0 B/12.0 KiB (0%)")


def test_no_terminal_means_no_progress(monkeypatch) -> None:
    """Piped stderr or --quiet: the silent base class, which writes nothing."""
    monkeypatch.setattr("sys.stderr", io.StringIO())
    assert type(for_terminal("erasing", quiet=False)) is Progress
    assert type(for_terminal("erasing", quiet=True)) is Progress
