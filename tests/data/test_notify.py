"""The sweep's webhook delivery under the one retry policy, against a loopback receiver."""

from __future__ import annotations

import time
from email.utils import formatdate

from shifty_ent.data import notify
from tests.fakes.server import LoopbackServer, Request, Response


def _answers(*responses: Response) -> LoopbackServer:
    queue = list(responses)

    def handle(_req: Request) -> Response:
        return queue.pop(0) if queue else Response(204)

    return LoopbackServer(handle, max_requests=10, max_seconds=60)


def test_webhook_honours_retry_after_as_http_date(retry_waits: list[float]) -> None:
    """On main the webhook understood only numeric ``Retry-After``: a 503 with
    ``Retry-After: <HTTP-date 20 s ahead>`` was sent again after 0.25 s (its plain backoff), long
    before the receiver asked for it:

        main$ hook answers 503 + "Retry-After: <now + 20 s as an HTTP-date>", then 204
        post_json(url, {...}) -> Delivery(ok=True, attempts=2), second POST 0.25 s after the first

    Now the date is waited out (measured against the answer's own ``Date``)."""
    later = formatdate(time.time() + 20, usegmt=True)
    with _answers(Response(503, headers={"Retry-After": later})) as hook:
        result = notify.post_json(hook.url, {"event": "asset.expiring"})
        assert result.ok and result.attempts == 2 and len(hook.requests) == 2
    assert len(retry_waits) == 1 and 19 <= retry_waits[0] <= 20


def test_webhook_retry_after_seconds_and_permanent_failures(retry_waits: list[float]) -> None:
    with _answers(Response(429, headers={"Retry-After": "3"}), Response(500)) as hook:
        assert notify.post_json(hook.url, {"event": "x"}).attempts == 3
    assert retry_waits[0] == 3 and 0 <= retry_waits[1] <= notify.BACKOFF * 2
    with _answers(Response(404)) as hook:
        result = notify.post_json(hook.url, {"event": "x"})
        assert not result.ok and result.attempts == 1 and result.error == "HTTP 404"


def test_webhook_gives_up_on_a_wait_beyond_the_cap(retry_waits: list[float]) -> None:
    long_wait = str(int(notify.MAX_RETRY_AFTER) + 1)
    with _answers(Response(503, headers={"Retry-After": long_wait})) as hook:
        result = notify.post_json(hook.url, {"event": "x"})
        assert not result.ok and result.attempts == 1 and len(hook.requests) == 1


def test_webhook_unreachable_is_retried_then_failed(retry_waits: list[float]) -> None:
    result = notify.post_json("http://127.0.0.1:9/hook", {"event": "x"})
    assert not result.ok and result.attempts == notify.ATTEMPTS and "ConnectError" in result.error
    assert len(retry_waits) == notify.ATTEMPTS - 1
