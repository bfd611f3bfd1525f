"""Webhook delivery of sweep notifications: JSON POST with bounded retries.

Retries on connection errors, 408, 429 (honouring ``Retry-After`` up to a cap) and 5xx, with
exponential backoff; any other status is a permanent failure. The caller records the outcome.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from typing import Any

from shifty_ent.core.canonical import to_jsonable

ATTEMPTS = 4
BACKOFF = 0.25
MAX_WAIT = 5.0
TIMEOUT = 10.0


@dataclass
class Delivery:
    ok: bool
    attempts: int
    error: str | None = None


def post_json(url: str, payload: dict[str, Any], *, attempts: int = ATTEMPTS) -> Delivery:
    import httpx

    error = None
    with httpx.Client(timeout=TIMEOUT, follow_redirects=False) as client:
        for attempt in range(1, attempts + 1):
            wait = BACKOFF * 2 ** (attempt - 1)
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
                error = f"{type(exc).__name__}: {exc}"
            else:
                if 200 <= resp.status_code < 300:
                    return Delivery(True, attempt)
                error = f"HTTP {resp.status_code}"
                if resp.status_code not in (408, 429) and resp.status_code < 500:
                    return Delivery(False, attempt, error)
                retry_after = resp.headers.get("Retry-After", "")
                if retry_after.isdigit():
                    wait = float(retry_after)
            if attempt < attempts:
                time.sleep(min(wait, MAX_WAIT))
    return Delivery(False, attempts, error)
