"""Pausing the cyclic garbage collector around hot loops over many rows.

Walking a million-event audit chain or listing ten thousand model versions allocates millions of
short-lived tuples, strings and dicts that reference counting frees at once. The collector's
generation passes over them find nothing and cost a few percent of the loop (measured by
``bench/report.py`` and ``bench/register.py``), so those loops pause it. Nothing in them makes
reference cycles; the state found is always restored, also on error.
"""

from __future__ import annotations

import gc
from collections.abc import Iterator
from contextlib import contextmanager


@contextmanager
def paused() -> Iterator[None]:
    """Pause the cyclic collector for the ``with`` block; restore the state it found."""
    was_enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if was_enabled:
            gc.enable()
