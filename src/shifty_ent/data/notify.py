"""Webhook delivery of sweep notifications: JSON POST with bounded retries.

Retried under the one policy of :mod:`shifty_ent.core.retry`: connection errors, timeouts, 408,
429 and 5xx, with exponential backoff and jitter, never sooner than ``Retry-After`` (seconds or an
HTTP-date). A ``Retry-After`` beyond ``MAX_RETRY_AFTER`` or any other status is a permanent
failure. A notice is idempotent for the receiver (it carries the notice's id), so a lost answer
may be sent again. The caller records the outcome.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from typing import Any

from shifty_ent.core import retry
from shifty_ent.core.canonical import to_jsonable

ATTEMPTS = 4
BACKOFF = 0.25
MAX_WAIT = 5.0
MAX_RETRY_AFTER = 60.0
TIMEOUT = 10.0
POLICY = retry.Policy(
    attempts=ATTEMPTS, base=BACKOFF, max_wait=MAX_WAIT, max_retry_after=MAX_RETRY_AFTER
)


@dataclass
class Delivery:
    ok: bool
    attempts: int
    error: str | None = None


class _Failed(Exception):
    pass


def post_json(url: str, payload: dict[str, Any], *, attempts: int = ATTEMPTS) -> Delivery:
    import httpx

    tries = 0
    policy = replace(POLICY, attempts=attempts)

    def attempt(n: int) -> None:
        nonlocal tries
        tries = n
        try:
            resp = client.post(
                url,
                json=to_jsonable(payload),
                headers={
                    "User-Agent": "shifty-ent-sweep",
                    "X-Shifty-Event": payload.get("event", ""),
                },
            )
        except httpx.HTTPError as exc:
            failed = _Failed(f"{type(exc).__name__}: {exc}")
            if retry.may_resend(True, error=exc):
                raise retry.TryAgain(failed) from None
            raise failed from None
        if 200 <= resp.status_code < 300:
            return
        failed = _Failed(f"HTTP {resp.status_code}")
        if not retry.may_resend(True, status=resp.status_code):
            raise failed
        raise retry.TryAgain(failed, retry_after=retry.retry_after(resp.headers))

    with httpx.Client(timeout=TIMEOUT, follow_redirects=False) as client:
        try:
            retry.call(attempt, policy)
        except _Failed as exc:
            return Delivery(False, tries, str(exc))
    return Delivery(True, tries)
