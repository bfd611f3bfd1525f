"""Progress of long steps (erasure passes, sweeps), told to a person on stderr.

Services report to a :class:`Progress`; the base class ignores everything, so a service called
by another service, by a test or with output piped pays nothing. :class:`TerminalProgress` draws
one line on stderr, redrawn in place, whenever stderr is a terminal: stdout may be piped into
``jq`` while the person watching still sees how far an erasure is. The line always carries known
totals (an overwrite of N passes writes N times the file), the pass number, throughput and an
estimate of the time left; with several items (a sweep) it names the item and its rank.
"""

from __future__ import annotations

import os
import sys
import time
from collections.abc import Callable
from typing import TextIO

REDRAW_S = 0.1  # at most ten redraws a second for byte counts; steps always redraw


def human_bytes(n: float) -> str:
    """``1.0 GiB``, ``469.8 MiB``, ``512 B`` (binary units, one decimal)."""
    if n < 1024:
        return f"{int(n)} B"
    for unit in ("KiB", "MiB", "GiB", "TiB"):
        n /= 1024
        if n < 1024 or unit == "TiB":
            return f"{n:.1f} {unit}"
    raise AssertionError("unreachable")


def _clock(seconds: float) -> str:
    seconds = max(0, int(seconds + 0.5))
    hours, rest = divmod(seconds, 3600)
    return f"{hours}:{rest // 60:02d}:{rest % 60:02d}"


class Progress:
    """What a long step reports. This base ignores it (no terminal, ``--quiet``, other callers)."""

    def item(self, label: str, index: int, count: int) -> None:
        """Work on the ``index``-th (1-based) of ``count`` items named ``label`` starts."""

    def plan(self, label: str, *, size: int, passes: int) -> None:
        """``size`` bytes will be written ``passes`` times (total ``size * passes``)."""

    def begin_pass(self, number: int) -> None:
        """Pass ``number`` (1-based) of the planned passes starts."""

    def advance(self, nbytes: int) -> None:
        """``nbytes`` more bytes were written."""

    def close(self) -> None:
        """The step is over: leave the terminal line clean."""


class TerminalProgress(Progress):
    """One self-redrawing line on a terminal (stderr by default)."""

    def __init__(
        self,
        verb: str,
        *,
        stream: TextIO | None = None,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.verb = verb
        self.stream = stream or sys.stderr
        self._now = clock
        self._item = ""
        self._label = ""
        self._size = 0
        self._passes = 0
        self._pass = 0
        self._done = 0
        self._started = 0.0
        self._drawn = 0.0
        self._width = 0

    def item(self, label: str, index: int, count: int) -> None:
        self._item = f"[{index}/{count}] {label}"
        self._size = self._passes = self._pass = self._done = 0
        self._label = ""
        self._draw(force=True)

    def plan(self, label: str, *, size: int, passes: int) -> None:
        self._label, self._size, self._passes = label, size, passes
        self._pass, self._done, self._started = 0, 0, self._now()
        self._draw(force=True)

    def begin_pass(self, number: int) -> None:
        self._pass = number
        self._draw(force=True)

    def advance(self, nbytes: int) -> None:
        self._done += nbytes
        self._draw(force=False)

    def close(self) -> None:
        if self._width:
            self.stream.write("\r" + " " * self._width + "\r")
            self.stream.flush()
            self._width = 0

    def line(self) -> str:
        """The text shown now (also what tests read)."""
        parts = [self.verb]
        if self._item:
            parts.append(self._item)
        elif self._label:
            parts.append(self._label)
        if self._passes:
            total = self._size * self._passes
            if self._passes > 1 or self._pass:
                parts.append(f"pass {max(self._pass, 1)}/{self._passes}")
            pct = 100.0 * self._done / total if total else 100.0
            parts.append(f"{human_bytes(self._done)}/{human_bytes(total)} ({pct:.0f}%)")
            elapsed = self._now() - self._started
            if self._done and elapsed > 0:
                rate = self._done / elapsed
                parts.append(f"{human_bytes(rate)}/s")
                parts.append(f"ETA {_clock(max(0, total - self._done) / rate)}")
            else:
                parts.append("ETA --:--:--")
        return "  ".join(parts)

    def _columns(self) -> int:
        try:
            columns = os.get_terminal_size(self.stream.fileno()).columns
        except (OSError, ValueError, AttributeError):
            columns = 0
        return columns or 200  # a terminal that reports no width

    def _draw(self, *, force: bool) -> None:
        now = self._now()
        if not force and now - self._drawn < REDRAW_S:
            return
        self._drawn = now
        # one row only: a line wider than the terminal would wrap, and "\r" redraws the last row
        text = self.line()[: max(20, self._columns() - 1)]
        pad = max(0, self._width - len(text))
        self.stream.write("\r" + text + " " * pad)
        self.stream.flush()
        self._width = len(text)


def for_terminal(verb: str, *, quiet: bool) -> Progress:
    """A terminal line when stderr is a terminal and not ``--quiet``; otherwise the silent base."""
    if quiet or not sys.stderr.isatty():
        return Progress()
    return TerminalProgress(verb)
