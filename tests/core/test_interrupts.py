"""Ctrl-C during a short database write is held until the write is whole.

Found in a CI run: ``model train run`` interrupted with SIGINT ended as exit 5 ("store busy")
instead of 130 once in three runs: the interrupt landed inside a step's commit, left the SQLite
write lock with a connection the session had let go, and the clean-up then waited for it.
"""

from __future__ import annotations

import os
import signal

import pytest

from shifty_ent.core import interrupts


def test_sigint_in_the_block_is_raised_after_it() -> None:
    done = []
    with pytest.raises(KeyboardInterrupt), interrupts.deferred():
        os.kill(os.getpid(), signal.SIGINT)
        done.append("the write finished")
    assert done == ["the write finished"]
    assert signal.getsignal(signal.SIGINT) is signal.default_int_handler


def test_no_sigint_no_interrupt() -> None:
    with interrupts.deferred():
        pass
    assert signal.getsignal(signal.SIGINT) is signal.default_int_handler
