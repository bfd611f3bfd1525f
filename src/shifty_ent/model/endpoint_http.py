"""One POST to a model's HTTP endpoint (vLLM, Ollama, any OpenAI-compatible server).

``model generate`` and ``model eval run --endpoint`` both ask a served model over HTTP; a server
that cannot be reached or answers an error status is an external failure, reported the same way
by both.
"""

from __future__ import annotations

from typing import Any

import httpx

from shifty_ent.core.errors import ExternalServiceError


def post_json(client: httpx.Client, url: str, body: dict[str, Any]) -> httpx.Response:
    """``body`` posted as JSON to ``url``; an unreachable server or an HTTP error status raises
    :class:`ExternalServiceError` with the URL and the first 200 characters of the answer."""
    try:
        resp = client.post(url, json=body)
    except httpx.HTTPError as exc:
        raise ExternalServiceError(f"cannot reach {url}: {exc}") from None
    if resp.status_code >= 400:
        raise ExternalServiceError(f"{url} answered HTTP {resp.status_code}: {resp.text[:200]}")
    return resp
