"""Ctrl-C that waits for a database write to finish.

A ``KeyboardInterrupt`` raised in the middle of a commit can leave the SQLite connection holding
the write lock while the session is told the transaction is gone; the command's own clean-up then
waits for its own lock until "store busy". Short writes inside a long loop (a training step, a
progress row) are therefore made whole: Ctrl-C during them is held and raised right after.
"""

from __future__ import annotations

import signal
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any


@contextmanager
def deferred() -> Iterator[None]:
    """Hold SIGINT while the block runs; raise ``KeyboardInterrupt`` after it if one came.
    Outside the main thread (where no handler can be set) the block runs as is."""
    if threading.current_thread() is not threading.main_thread():
        yield
        return
    caught: list[Any] = []
    previous = signal.signal(signal.SIGINT, lambda *args: caught.append(args))
    try:
        yield
    finally:
        signal.signal(signal.SIGINT, previous)
    if caught:
        raise KeyboardInterrupt
