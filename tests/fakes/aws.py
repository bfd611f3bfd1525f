"""AWS on loopback: moto's real HTTP server (S3, KMS, ...) and the settings a client needs.

The product talks to it exactly as to AWS (boto3 over HTTP, endpoint from
``AWS_ENDPOINT_URL_<SERVICE>``); nothing is patched in process.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

import pytest

CREDENTIALS = {
    "AWS_ACCESS_KEY_ID": "testing",
    "AWS_SECRET_ACCESS_KEY": "testing",
    "AWS_DEFAULT_REGION": "us-east-1",
}


@contextmanager
def moto_server() -> Iterator[str]:
    """moto in server mode on 127.0.0.1 (a free port); yields its URL and stops it after."""
    from moto.server import ThreadedMotoServer

    server = ThreadedMotoServer(ip_address="127.0.0.1", port=0, verbose=False)
    server.start()
    host, port = server.get_host_and_port()
    try:
        yield f"http://{host}:{port}"
    finally:
        server.stop()


def use_aws(monkeypatch: pytest.MonkeyPatch, url: str, *services: str) -> None:
    """Point the process's AWS clients for ``services`` (``S3``, ``KMS``) at ``url``, with
    test credentials."""
    for key, value in CREDENTIALS.items():
        monkeypatch.setenv(key, value)
    for service in services:
        monkeypatch.setenv(f"AWS_ENDPOINT_URL_{service}", url)
