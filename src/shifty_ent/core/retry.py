"""One retry policy for every outbound HTTP call (the vast.ai client, the sweep's webhook).

When a call may be sent again, and how long to wait first, is the same question everywhere and
easy to get subtly wrong, so it is answered once here:

- **What is transient**: a connection that never opened, a timeout or a dropped connection, and
  HTTP 408, 429 and 5xx. Anything else is final.
- **What may be sent again**: an idempotent request after any transient failure; a request that
  is not idempotent (renting a machine) only when it provably was not processed: the connection
  was never opened, or the server answered 429. Any other failure of such a request is ambiguous
  and the caller must look before it tries again (see :func:`may_resend`).
- **How long to wait**: exponential backoff with full jitter, ``uniform(0, base * 2**(n-1))``
  capped at ``Policy.max_wait``, and never less than the server's ``Retry-After`` in either of
  its RFC 9110 forms (delta-seconds or an HTTP-date, :func:`retry_after`). A ``Retry-After``
  beyond ``Policy.max_retry_after`` fails at once rather than block a command.

The loop itself is tenacity's. Tests switch waiting off with :func:`testing` (no environment
knobs): nothing sleeps, and the waits that would have been slept are recorded for assertions.
"""

from __future__ import annotations

import random
import time
from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass
from email.utils import parsedate_to_datetime
from typing import TypeVar

T = TypeVar("T")

RETRY_STATUSES = frozenset({408, 429})  # and every 5xx


@dataclass(frozen=True)
class Policy:
    """How many tries in all (the first included) and the bounds on waiting between them."""

    attempts: int = 5
    base: float = 0.5
    max_wait: float = 30.0
    max_retry_after: float = 60.0


class TryAgain(Exception):
    """Raised by an attempt that may be repeated; ``error`` is raised when no try is left."""

    def __init__(self, error: Exception, *, retry_after: float | None = None) -> None:
        super().__init__(str(error))
        self.error = error
        self.retry_after = retry_after


# ---------------------------------------------------------------- test mode

_sleep: Callable[[float], None] = time.sleep
_attempts_cap: int | None = None


@contextmanager
def testing(*, attempts: int | None = None) -> Iterator[list[float]]:
    """Tests only: record every wait instead of sleeping it, and cap each policy at ``attempts``
    tries when given. Yields the list the waits are appended to. Process-wide, like
    ``stamina.set_testing``; a command run in a child process waits for real."""
    global _sleep, _attempts_cap
    saved = _sleep, _attempts_cap
    waits: list[float] = []
    _sleep, _attempts_cap = waits.append, attempts
    try:
        yield waits
    finally:
        _sleep, _attempts_cap = saved


# ---------------------------------------------------------------- the rules


def transient_status(status: int) -> bool:
    """408, 429 and 5xx: the server may answer differently later."""
    return status in RETRY_STATUSES or status >= 500


def may_resend(idempotent: bool, *, error: BaseException | None = None, status: int = 0) -> bool:
    """Whether a request that failed with transport ``error`` or HTTP ``status`` may be sent
    again. A non-idempotent one only when it was provably not processed (never connected, 429)."""
    import httpx

    if error is not None:
        if isinstance(error, httpx.ConnectError):
            return True
        transient = (httpx.TimeoutException, httpx.NetworkError, httpx.RemoteProtocolError)
        return idempotent and isinstance(error, transient)
    if not idempotent:
        return status == 429
    return transient_status(status)


def retry_after(headers: Mapping[str, str], *, now: float | None = None) -> float | None:
    """Seconds the server asked us to wait (RFC 9110 §10.2.3), or None when it did not say.

    ``Retry-After`` is delta-seconds (``120``) or an HTTP-date (``Wed, 21 Oct 2026 07:28:00
    GMT``). A date is measured against the response's own ``Date`` header when it has one, so a
    skewed local clock does not stretch or cut the wait; else against ``now`` (or the clock)."""
    value = (headers.get("Retry-After") or "").strip()
    if not value:
        return None
    try:
        return max(0.0, float(value))  # delta-seconds (a fraction tolerated)
    except ValueError:
        pass
    when = _http_date(value)
    if when is None:
        return None
    sent = _http_date(headers.get("Date") or "")
    ref = sent if sent is not None else (time.time() if now is None else now)
    return max(0.0, when - ref)


def _http_date(value: str) -> float | None:
    try:
        return parsedate_to_datetime(value).timestamp()
    except (TypeError, ValueError, IndexError):
        return None


def backoff(attempt: int, policy: Policy) -> float:
    """The jittered wait after failed try number ``attempt`` (1-based): full jitter, capped."""
    ceiling = min(policy.max_wait, policy.base * 2 ** (attempt - 1))
    return random.uniform(0, ceiling)


# ---------------------------------------------------------------- the loop


def call(attempt: Callable[[int], T], policy: Policy) -> T:
    """``attempt(n)`` for n = 1, 2, ... until it returns or raises anything but :class:`TryAgain`;
    when tries run out, or the server asks for a wait beyond the cap, the last ``TryAgain``'s
    ``error`` is raised."""
    import tenacity

    def wait(state: tenacity.RetryCallState) -> float:
        hint = _hint(state)
        return max(backoff(state.attempt_number, policy), hint or 0.0)

    def should_retry(state: tenacity.RetryCallState) -> bool:
        exc = state.outcome.exception() if state.outcome else None
        if not isinstance(exc, TryAgain):
            return False
        return exc.retry_after is None or exc.retry_after <= policy.max_retry_after

    tries = policy.attempts if _attempts_cap is None else min(policy.attempts, _attempts_cap)
    retrying = tenacity.Retrying(
        stop=tenacity.stop_after_attempt(max(1, tries)),
        wait=wait,
        retry=should_retry,
        sleep=lambda seconds: _sleep(seconds),
        reraise=True,
    )
    try:
        for trial in retrying:
            with trial:
                return attempt(trial.retry_state.attempt_number)
    except TryAgain as exc:
        raise exc.error from None
    raise AssertionError("unreachable: tenacity either returns or raises")  # pragma: no cover


def _hint(state: object) -> float | None:
    outcome = getattr(state, "outcome", None)
    exc = outcome.exception() if outcome is not None else None
    return exc.retry_after if isinstance(exc, TryAgain) else None
