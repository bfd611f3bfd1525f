"""The one retry policy (``shifty_ent.core.retry``): Retry-After in both RFC 9110 forms, bounded
jitter, what may be sent again, and the loop's give-up rules. Waits are recorded by the autouse
``retry_waits`` fixture, never slept."""

from __future__ import annotations

from email.utils import formatdate

import httpx
import pytest

from shifty_ent.core import retry

NOW = 1_800_000_000.0


def test_retry_after_delta_seconds() -> None:
    assert retry.retry_after({"Retry-After": "120"}) == 120
    assert retry.retry_after({"Retry-After": " 0 "}) == 0
    assert retry.retry_after({}) is None
    assert retry.retry_after({"Retry-After": "soon"}) is None


def test_retry_after_http_date_against_the_clock_or_the_answers_date() -> None:
    ahead = formatdate(NOW + 30, usegmt=True)
    assert retry.retry_after({"Retry-After": ahead}, now=NOW) == 30
    # the server's own Date wins over a skewed local clock
    sent = formatdate(NOW + 25, usegmt=True)
    assert retry.retry_after({"Retry-After": ahead, "Date": sent}, now=NOW) == 5
    # a date in the past means now; the obsolete RFC 850 form parses too
    assert retry.retry_after({"Retry-After": formatdate(NOW - 60, usegmt=True)}, now=NOW) == 0
    assert retry.retry_after({"Retry-After": "Sunday, 06-Nov-94 08:49:37 GMT"}, now=NOW) == 0


def test_jitter_is_bounded_and_capped() -> None:
    policy = retry.Policy(base=0.5, max_wait=3.0)
    for attempt, ceiling in [(1, 0.5), (2, 1.0), (3, 2.0), (4, 3.0), (30, 3.0)]:
        waits = [retry.backoff(attempt, policy) for _ in range(500)]
        assert all(0 <= w <= ceiling for w in waits)
        assert max(waits) > ceiling / 2  # actually jittered over the range, not a constant


def test_what_may_be_sent_again() -> None:
    req = httpx.Request("PUT", "http://x/")
    refused = httpx.ConnectError("refused", request=req)
    timed_out = httpx.ReadTimeout("slow", request=req)
    for status in (408, 429, 500, 502, 503):
        assert retry.may_resend(True, status=status)
    for status in (400, 401, 403, 404, 409):
        assert not retry.may_resend(True, status=status)
    assert retry.may_resend(True, error=refused) and retry.may_resend(True, error=timed_out)
    # not idempotent: only when provably not processed
    assert retry.may_resend(False, error=refused) and retry.may_resend(False, status=429)
    assert not retry.may_resend(False, error=timed_out)
    assert not any(retry.may_resend(False, status=s) for s in (408, 500, 502, 503))


class Boom(Exception):
    pass


def test_call_retries_then_raises_the_last_error(retry_waits: list[float]) -> None:
    seen: list[int] = []

    def attempt(n: int) -> None:
        seen.append(n)
        raise retry.TryAgain(Boom(f"try {n}"), retry_after=2.0 if n == 1 else None)

    with pytest.raises(Boom, match="try 3"):
        retry.call(attempt, retry.Policy(attempts=3, base=0.1))
    assert seen == [1, 2, 3]
    assert retry_waits[0] >= 2.0 and 0 <= retry_waits[1] <= 0.2 and len(retry_waits) == 2


def test_call_does_not_wait_past_the_cap_or_retry_other_errors(retry_waits: list[float]) -> None:
    def too_long(n: int) -> None:
        raise retry.TryAgain(Boom("later"), retry_after=61)

    with pytest.raises(Boom, match="later"):
        retry.call(too_long, retry.Policy(max_retry_after=60))

    def final(n: int) -> None:
        raise ValueError("no")

    with pytest.raises(ValueError):
        retry.call(final, retry.Policy())
    assert retry_waits == []


def test_call_returns_and_testing_caps_attempts() -> None:
    assert retry.call(lambda n: n, retry.Policy()) == 1
    tries: list[int] = []

    def flaky(n: int) -> int:
        tries.append(n)
        raise retry.TryAgain(Boom())

    with retry.testing(attempts=2) as waits, pytest.raises(Boom):
        retry.call(flaky, retry.Policy(attempts=5))
    assert tries == [1, 2] and len(waits) == 1
